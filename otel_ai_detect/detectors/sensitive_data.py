"""AI.DataLeakInModelResponse.Sensitive: personal or financial data in a model response.

Presidio decides what is personal data (its recognizers: Luhn for cards, mod-97
for IBANs, SSN range rules, python-phonenumbers, base58/bech32 for wallets,
mod-11 for NHS numbers, ...), on the output texts of a call. It runs only on a
text the prefilter (pii_prefilter.py) says may hold an entity, and only for
those entities: the prefilter is proven never to drop a Presidio result.

A value the user supplied in the same call (in a user-role input text) is not a
leak: no alert (ALERTS.md); it is still masked when redaction is
``secrets_and_pii`` (see `redactions`). Values are compared normalized: digits
only for numbers, lowercase for e-mail addresses, letters and digits
(casefolded) for everything else.

One finding per distinct value per call. Evidence is masked (a card shows its
last 4 digits, an e-mail its first letters and top-level domain); the
fingerprint is a short hash of the normalized value.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass, field
from typing import ClassVar

import re2
from presidio_analyzer import RecognizerResult

from otel_ai_detect.config_types import SensitiveDataConfig
from otel_ai_detect.detectors.base import texts
from otel_ai_detect.detectors.masking import evidence_text, short_hash
from otel_ai_detect.detectors.pii_prefilter import Prefilter, plan
from otel_ai_detect.detectors.presidio_engine import (PresidioEngine, SensitiveDataSetupError,
                                                      prepare)
from otel_ai_detect.model import SOURCE_INPUT, SOURCE_OUTPUT, USER, Conversation, Finding, Redaction

__all__ = ["RULE", "SensitiveDataDetector", "SensitiveDataSetupError", "mask"]

RULE = "AI.DataLeakInModelResponse.Sensitive"
NUMERIC = frozenset({"CREDIT_CARD", "US_SSN", "US_ITIN", "US_BANK_NUMBER", "PHONE_NUMBER",
                     "UK_NHS"})
EMAIL = "EMAIL_ADDRESS"
# Digits with the separators people write in numbers; RE2: input is attacker text.
_NUMBER_RUN = re2.compile(r"[0-9](?:[ ().+/\-]*[0-9])*")
# Characters given to Presidio per call, over all output texts (each text is also cut to
# presidio_engine.MAX_TEXT_CHARS). Without it a 4 MiB request of 40 e-mail-dense outputs
# cost 32 s of CPU in one call; the outputs past the budget are not analysed.
MAX_CHARS_PER_CALL = 100_000


def _ascii_digits(text: str) -> str:
    """Every decimal digit (any script) as its ASCII digit; other characters unchanged."""
    if text.isascii():
        return text
    return "".join(str(d) if (d := unicodedata.decimal(c, None)) is not None else c
                   for c in text)


def _alnum(text: str) -> str:
    return "".join(c for c in text if c.isalnum()).casefold()


def normalize(entity: str, value: str) -> str:
    """The form two spellings of one value share."""
    if entity in NUMERIC:
        return "".join(c for c in _ascii_digits(value) if c.isdigit() and c.isascii())
    if entity == EMAIL:
        return value.strip().lower()
    return _alnum(value)


def mask(entity: str, value: str) -> str:
    """What the evidence shows of a value: never all of it."""
    digits = normalize(entity, value) if entity in NUMERIC else ""
    if entity == "CREDIT_CARD":
        return f"****-****-****-{digits[-4:]} ({len(digits)} digits)"
    if entity in ("US_SSN", "US_ITIN"):
        return f"***-**-{digits[-4:]}"
    if entity == "UK_NHS":
        return f"***-***-**{digits[-2:]}"
    if entity in NUMERIC:  # phone, bank account
        shown = 4 if entity == "US_BANK_NUMBER" and len(digits) >= 10 else 2
        return "*" * (len(digits) - shown) + digits[-shown:]
    if entity == EMAIL and "@" in value:
        local, _, domain = value.partition("@")
        top = domain.rsplit(".", 1)[-1] if "." in domain else ""
        return f"{local[:1]}***@{domain[:1]}***.{top}"
    if entity == "IBAN_CODE":
        code = _alnum(value).upper()
        return f"{code[:2]}{'*' * max(len(code) - 6, 2)}{code[-4:]}"
    if entity == "CRYPTO":
        return f"{value[:4]}\u2026{value[-4:]} ({len(value)} chars)"
    if entity == "US_PASSPORT":
        return "*" * (len(value) - 2) + value[-2:]
    return f"{value[:1]}*** ({len(value)} chars)"  # names, places, anything else


def _kind(entity: str) -> str:
    return entity.lower().replace("_", "-")  # EMAIL_ADDRESS -> email-address


@dataclass(slots=True)
class _Value:
    """One distinct value (entity + normalized form) in the outputs of a call."""

    entity: str
    normalized: str
    score: float
    path: str
    spellings: set[str] = field(default_factory=set)
    supplied: bool = False


class _UserText:
    """A call's user-role input, in the normalized forms values are compared with."""

    def __init__(self, conv: Conversation) -> None:
        parts = [prepare(part.text) for source, role, part in texts(conv)
                 if source == SOURCE_INPUT and role == USER]
        joined = "\n".join(parts)
        self._lower = joined.lower()
        self._alnum = "\n".join(_alnum(p) for p in parts)
        self._numbers = ["".join(c for c in m.group() if c.isdigit())
                         for m in _NUMBER_RUN.finditer(_ascii_digits(joined))]

    def supplied(self, value: _Value) -> bool:
        norm = value.normalized
        if value.entity in NUMERIC:
            if any(norm in run for run in self._numbers):
                return True
            # a phone written without (user) or with (model) its country code
            return value.entity == "PHONE_NUMBER" and any(
                len(run) >= 7 and run in norm for run in self._numbers)
        if value.entity == EMAIL:
            return norm in self._lower
        return norm in self._alnum


class SensitiveDataDetector:
    """Presidio on model outputs, behind a proven prefilter; the user's own data is no leak."""

    name: ClassVar[str] = "sensitive_data"

    def __init__(self, config: SensitiveDataConfig) -> None:
        self.config = config
        self.engine = PresidioEngine(config)  # raises SensitiveDataSetupError, with the key
        self.prefilter = Prefilter(plan(self.engine), self.engine)
        # detect() then redactions() on the same call: analyse once.
        self._last = threading.local()

    @property
    def unreachable_entities(self) -> frozenset[str]:
        """Configured entities Presidio can never score at or above the threshold."""
        return self.prefilter.plan.unreachable

    def scan(self, text: str) -> list[RecognizerResult]:
        """Presidio's results on `text`, asked only for what the prefilter let through."""
        text = prepare(text)
        entities, artifacts = self.prefilter.select(text)
        return self.engine.analyze(text, entities, artifacts) if entities else []

    def detect(self, conv: Conversation) -> list[Finding]:
        if not self.config.enabled:
            return []
        findings = []
        for value in self._values(conv):
            if value.supplied:
                continue
            findings.append(Finding(
                rule=RULE, detector=self.name, confidence=round(value.score, 4),
                source=SOURCE_OUTPUT, path=value.path,
                evidence=evidence_text(f"{value.entity} {mask(value.entity, min(value.spellings))}"
                                       f" (Presidio score {value.score:.2f})", 200),
                fingerprint=short_hash(f"{value.entity}:{value.normalized}"),
                redactions=tuple(Redaction(_kind(value.entity), s, personal=True)
                                 for s in sorted(value.spellings))))
        return findings

    def redactions(self, conv: Conversation) -> list[Redaction]:
        """Every value found in the outputs, user-supplied or not, to mask as personal data."""
        if not self.config.enabled:
            return []
        return [Redaction(_kind(v.entity), s, personal=True)
                for v in self._values(conv) for s in sorted(v.spellings)]

    def _values(self, conv: Conversation) -> list[_Value]:
        last = getattr(self._last, "entry", None)
        if last is not None and last[0] is conv:
            return last[1]
        values: dict[tuple[str, str], _Value] = {}
        budget = MAX_CHARS_PER_CALL
        for source, _role, part in texts(conv):
            if source != SOURCE_OUTPUT:
                continue
            if budget <= 0:
                break
            text = prepare(part.text)[:budget]
            budget -= len(text)
            for result in self.scan(text):
                spelling = text[result.start:result.end]
                norm = normalize(result.entity_type, spelling)
                if not norm:
                    continue
                value = values.get((result.entity_type, norm))
                if value is None:
                    value = values[(result.entity_type, norm)] = _Value(
                        result.entity_type, norm, result.score, part.path)
                value.score = max(value.score, result.score)
                value.spellings.add(spelling)
        found = list(values.values())
        if found:
            user = _UserText(conv)
            for value in found:
                value.supplied = user.supplied(value)
        self._last.entry = (conv, found)
        return found
