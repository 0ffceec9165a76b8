"""AI.CredentialTheftAttempt: a model response holds a credential.

Owns finding credentials in text and turning them into findings and
redactions. The rules (`credential_rules`) are data; their checks
(`credential_checks`, `credential_keys`) confirm candidates offline.

Cost, per text: one Hyperscan (or RE2-set) scan for all rules, which is the
whole cost when nothing fires (the common case). Only the rules that fired
run RE2 to get the values, and only those values reach Python checks
(checksums, structure, placeholders, context). Nothing backtracks, so
a hostile prompt costs what any other text of its size costs. At most
`MAX_TEXT` characters of a text are looked at.

Alerts come from model output only. The user's own input is read for one
thing: a credential the model repeats from the user's own prompt is "user
supplied" and raises no alert unless `user_supplied: alert`. Every credential
in any text (inputs too) is still returned by `redactions()`, so the
redactor masks it whatever the alert decision.
"""

from __future__ import annotations

import bisect
import threading
from typing import ClassVar, Iterator, NamedTuple

import re2

from otel_ai_detect.config_types import CredentialsConfig
from otel_ai_detect.detectors.base import Text, texts
from otel_ai_detect.detectors.credential_checks import (ACCEPT, DOC_EXAMPLES, Candidate,
                                                        is_placeholder, low_entropy)
from otel_ai_detect.detectors.credential_rules import RULES, CredentialRule
from otel_ai_detect.detectors.masking import ELLIPSIS, short_hash
from otel_ai_detect.model import SOURCE_INPUT, SOURCE_OUTPUT, USER, Conversation, Finding, Redaction
from otel_ai_detect.scanning import MultiPattern

RULE = "AI.CredentialTheftAttempt"
MAX_TEXT = 1_000_000        # characters scanned per text; the rest is not looked at
MAX_CANDIDATES = 200        # RE2 matches examined per rule per text: bounds Python work
MIN_ENTROPY = 3.0           # bits/char, shape-only values of 16+ characters
PREFIX_MAX = 6              # leading characters shown in evidence (fewer for short values)
IGNORE, ALERT = "ignore", "alert"


class Credential(NamedTuple):
    """One confirmed credential in one text. Its repr leaves the value out."""

    kind: str
    confidence: float
    note: str
    span: tuple[int, int]  # byte offsets in the text as UTF-8
    value: str             # as written in the text: what is masked
    key: str               # normalized: one finding per key per call
    probe: str             # what shows the value inside a user's prompt

    def __repr__(self) -> str:
        return f"Credential({self.kind!r}, {self.confidence}, {self.note!r}, {self.span})"


class _Compiled:
    __slots__ = ("rule", "regex", "group", "tail", "hint")

    def __init__(self, rule: CredentialRule) -> None:
        options = re2.Options()
        options.encoding = re2.Options.Encoding.LATIN1  # bytes, as the scan saw them
        self.rule = rule
        self.regex = re2.compile((("(?i)" if rule.caseless else "") + rule.pattern).encode(),
                                 options)
        self.group = 1 if self.regex.groups else 0
        self.tail = frozenset(rule.tail.encode()) if rule.tail else frozenset()
        self.hint = b"" if rule.caseless else _literal_head(rule.pattern)


def _literal_head(pattern: str) -> bytes:
    """The literal characters every value starts with (``gsk_`` in ``…(gsk_[A-Za-z0-9]{52})``),
    or b"" when the value starts with a class or an alternation."""
    if pattern.startswith("(?:^|"):  # skip the lead: the value is the next group
        pattern = pattern[pattern.find("(", pattern.find(")") + 1):]
    if pattern.startswith("("):
        depth, body = 0, ""
        for i, ch in enumerate(pattern):
            depth += (ch == "(") - (ch == ")")
            if ch == "|" and depth == 1:
                return b""  # alternatives: no common head
            if depth == 0:
                body = pattern[1:i]
                break
        pattern = body
    out = []
    for i, ch in enumerate(pattern):
        if ch.isalnum() or ch in "_-~:":
            out.append(ch)
        elif ch == "\\" and pattern[i + 1:i + 2] == ".":
            continue
        elif ch == "." and pattern[i - 1:i] == "\\":
            out.append(".")
        else:
            break
    return "".join(out).encode() if len(out) >= 2 else b""


class _Memo(threading.local):
    """The last conversation's per-text results, so `redactions` reuses `detect`'s scan."""

    def __init__(self) -> None:  # runs once per thread
        self.conv: Conversation | None = None
        self.found: dict[int, list[Credential]] = {}


class CredentialsDetector:
    """Finds credentials; alerts on those in model output, redacts them everywhere."""

    name: ClassVar[str] = "credentials"

    def __init__(self, config: CredentialsConfig, rules: tuple[CredentialRule, ...] = RULES,
                 *, engine: str | None = None) -> None:
        self.config = config
        self.rules = rules
        self._compiled = [_Compiled(rule) for rule in rules]
        self._scanner = MultiPattern([r.pattern for r in rules],
                                     caseless=[r.caseless for r in rules], engine=engine)
        self._memo = _Memo()

    # -- the hot path ----------------------------------------------------------
    def scan(self, text: str) -> list[Credential]:
        """Every credential in `text`, in rule order, overlapping readings removed."""
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT]
        fired = self._scanner.matches(text)
        if not fired:
            return []
        data = text.encode("utf-8", "surrogatepass")
        found: list[Credential] = []
        starts: list[int] = []  # kept spans, sorted and disjoint: overlap is a bisect away
        ends: list[int] = []
        for index in sorted(fired):  # rule order: the more specific reading wins
            for cred in self._confirm(self._compiled[index], data):
                start, end = cred.span
                at = bisect.bisect_left(starts, start)
                if (at and ends[at - 1] > start) or (at < len(starts) and starts[at] < end):
                    continue  # another rule already read this text
                starts.insert(at, start)
                ends.insert(at, end)
                found.append(cred)
        return found

    def _confirm(self, compiled: _Compiled, data: bytes) -> Iterator[Credential]:
        rule, tail, group, hint = compiled.rule, compiled.tail, compiled.group, compiled.hint
        regex, pos = compiled.regex, 0
        for _ in range(MAX_CANDIDATES):
            # A manual finditer. When the value starts with a literal, `find` (memchr
            # speed) says where to start RE2 (the lead is at most 2 bytes before it) and
            # when to stop: each RE2 call costs 2-5 us, the lead defeats its own prefix
            # acceleration, and `^` never matches at a start offset > 0.
            if hint:
                at = data.find(hint, pos)
                if at < 0:
                    return
                match = regex.search(data, max(pos, at - 2))
            else:
                match = regex.search(data, pos)
            if match is None:
                return
            start, end = match.span(group)
            pos = end if end > start else start + 1
            if tail and end < len(data) and data[end] in tail:
                continue  # part of a longer string: not this token
            value = data[start:end].decode("utf-8", "replace")
            if value in DOC_EXAMPLES:
                continue
            if rule.shape_only and (is_placeholder(value)
                                    or (len(value) >= 16 and low_entropy(value, MIN_ENTROPY))):
                continue
            if rule.context:
                window = data[max(0, start - rule.window):end + rule.window].lower()
                if not any(word in window for word in rule.context):
                    continue
            verdict = rule.check(Candidate(data, start, end, value)) if rule.check else ACCEPT
            if verdict is None:
                continue
            if verdict.span:
                start, end = verdict.span
                try:
                    value = data[start:end].decode("utf-8", "surrogatepass")
                except UnicodeDecodeError:
                    continue
            confidence = rule.confidence if verdict.confidence is None else verdict.confidence
            yield Credential(verdict.kind or rule.kind, confidence, verdict.note, (start, end),
                             value, verdict.key or value, verdict.probe or value)

    # -- the detector protocol -------------------------------------------------
    def detect(self, conv: Conversation) -> list[Finding]:
        if not self.config.enabled:
            return []
        first: dict[str, tuple[Text, Credential]] = {}
        for text, found in self._results(conv, outputs_only=True):
            for cred in found:
                first.setdefault(cred.key, (text, cred))
        if not first:
            return []
        prompts = [t.part.text for t in texts(conv) if t.source == SOURCE_INPUT and t.role == USER]
        findings = []
        for text, cred in first.values():
            supplied = any(cred.probe in prompt for prompt in prompts)
            if supplied and self.config.user_supplied != ALERT:
                continue
            findings.append(Finding(
                rule=RULE, detector=self.name, confidence=cred.confidence, source=SOURCE_OUTPUT,
                path=text.part.path, evidence=describe(cred, supplied),
                fingerprint=short_hash(cred.key, 16),
                redactions=(Redaction(cred.kind, cred.value),)))
        return findings

    def redactions(self, conv: Conversation) -> list[Redaction]:
        """Every credential in every text of the call, user supplied or not, to be masked."""
        if not self.config.enabled:
            return []
        out: dict[tuple[str, str], Redaction] = {}
        for _text, found in self._results(conv, outputs_only=False):
            for cred in found:
                out.setdefault((cred.kind, cred.value), Redaction(cred.kind, cred.value))
        self._memo.conv, self._memo.found = None, {}  # asked last: let the conversation go
        return list(out.values())

    def _results(self, conv: Conversation, *, outputs_only: bool
                 ) -> Iterator[tuple[Text, list[Credential]]]:
        memo = self._memo
        every = texts(conv)
        if memo.conv is not conv:
            memo.conv, memo.found = conv, {}
            if len(every) > 1 and not self._any_fires(every):
                memo.found = dict.fromkeys(range(len(every)), [])  # the common case
        for index, text in enumerate(every):
            if outputs_only and text.source != SOURCE_OUTPUT:
                continue
            found = memo.found.get(index)
            if found is None:
                found = memo.found[index] = self.scan(text.part.text)
            if found:
                yield text, found

    def _any_fires(self, every: tuple[Text, ...]) -> bool:
        """One scan over all texts of the call, joined by newlines: False proves that no
        text holds a credential. Every rule's lead accepts a newline where it accepts the
        start of the text, and no rule anchors at the end, so joining hides no match."""
        return bool(self._scanner.matches(_JOIN.join(t.part.text[:MAX_TEXT] for t in every)))


_JOIN = "\n"


def describe(cred: Credential, supplied: bool = False) -> str:
    """``kind, N chars, "AKIA2E…", sha256:3f9a1c[, note]``: never more of the value.

    At most PREFIX_MAX leading characters and never more than a third of the
    value; the hash is the one the redaction mask carries, so an alert and the
    masked content can be matched up.
    """
    value = cred.value
    shown = value[:min(PREFIX_MAX, len(value) // 3)]
    parts = [cred.kind, f"{len(value)} chars"]
    if shown.isprintable() and shown:
        parts.append(f'"{shown}{ELLIPSIS}"')
    parts.append(f"sha256:{short_hash(value, 6)}")
    if cred.note:
        parts.append(cred.note)
    if supplied:
        parts.append("also in the user's prompt")
    return ", ".join(parts)
