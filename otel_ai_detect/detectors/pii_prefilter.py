"""The cheap scan that decides which entities Presidio must look for in a text.

Presidio costs 2-9 ms per 1.3 KB text, one Hyperscan scan ~10 us. The scan must
never drop what Presidio alone would report, so it is built from Presidio's own
recognizers, reviewed here one regex at a time: `REVIEWED` maps each regex to a
byte pattern matching wherever it can (a superset); phone numbers (no regex:
python-phonenumbers) become "N digits with short gaps", N read from its metadata.
A pattern whose best score (1.0 once a checksum passes, else its score plus the
context boost) stays under the threshold is left out; one that needs the boost
also needs a context word in Presidio's reach (pii_context.py). A recognizer not
reviewed (a changed regex, a custom or NER recognizer) makes its entity run on
every text: slower, never unsound. Patterns are Unicode-aware (``\\d`` is any
decimal digit; IGNORECASE ``[a-z]`` matches U+0130, U+017F, U+212A too), so
non-ASCII text is scanned in `scan_form`. The argument, entity by entity, is in
docs/detector-sensitive-data.md; tests/test_pii_prefilter_corpus.py checks it.
"""

from __future__ import annotations

import re as stdlib_re
from dataclasses import dataclass
from typing import NamedTuple

import phonenumbers
import phonenumbers.phonenumbermatcher as phone_matcher
import re2
import regex
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
from presidio_analyzer import EntityRecognizer, PatternRecognizer
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.predefined_recognizers import IbanRecognizer, PhoneRecognizer
from presidio_analyzer.predefined_recognizers.generic.iban_patterns import (
    regex_per_country as IBAN_FORMATS)

try:  # sre's parser, to see which literals a pattern needs
    from re import _parser as sre_parse  # Python 3.11+
    from re._constants import LITERAL
except ImportError:  # pragma: no cover - older Pythons
    import sre_parse  # type: ignore[no-redef]
    from sre_constants import LITERAL  # type: ignore[no-redef]

from otel_ai_detect.detectors.pii_context import ContextReach, word_pattern
from otel_ai_detect.scanning import MultiPattern

# Presidio regex (exact text) -> byte superset. Digit-only supersets are blind to
# case; IBAN's letters are compiled caseless exactly when Presidio's flags say so.
REVIEWED: dict[str, str] = {
    # CREDIT_CARD: 4+3+3+3 to 4+4+4+5 digits, optional single "-"/" " between
    # groups, first digit 1/3/4/5/6 (a literal, so ASCII). Luhn decides later.
    r"\b(?!1\d{12}(?!\d))((4\d{3})|(5[0-5]\d{2})|(6\d{3})|(1\d{3})|(3\d{3}))[- ]?(\d{3,4})"
    r"[- ]?(\d{3,4})[- ]?(\d{3,5})\b":
        r"[13456][0-9]{3}[- ]?[0-9]{3,4}[- ]?[0-9]{3,4}[- ]?[0-9]{3,5}",
    # US_SSN, five patterns (0.05 each, SSN5 0.5)
    r"\b([0-9]{5})-([0-9]{4})\b": r"[0-9]{5}-[0-9]{4}",
    r"\b([0-9]{3})-([0-9]{6})\b": r"[0-9]{3}-[0-9]{6}",
    r"\b(([0-9]{3})-([0-9]{2})-([0-9]{4}))\b": r"[0-9]{3}-[0-9]{2}-[0-9]{4}",
    r"\b[0-9]{9}\b": r"[0-9]{9}",
    r"\b([0-9]{3})[- .]([0-9]{2})[- .]([0-9]{4})\b": r"[0-9]{3}[- .][0-9]{2}[- .][0-9]{4}",
    # US_ITIN: "9" then 8 digits, the 2nd group's value ranges widened to [0-9]{2}
    r"\b9\d{2}[- ](5\d|6[0-5]|7\d|8[0-8]|9([0-2]|[4-9]))\d{4}\b|\b9\d{2}(5\d|6[0-5]|7\d|8[0-8]"
    r"|9([0-2]|[4-9]))[- ]\d{4}\b": r"9[0-9]{2}[- ][0-9]{6}|9[0-9]{4}[- ][0-9]{4}",
    r"\b9\d{2}(5\d|6[0-5]|7\d|8[0-8]|9([0-2]|[4-9]))\d{4}\b": r"9[0-9]{8}",
    r"\b9\d{2}[- ](5\d|6[0-5]|7\d|8[0-8]|9([0-2]|[4-9]))[- ]\d{4}\b":
        r"9[0-9]{2}[- ][0-9]{2}[- ][0-9]{4}",
    # UK_NHS: 3+3+4 digits, optional "-"/" " (mod-11 decides later)
    r"\b([0-9]{3})[- ]?([0-9]{3})[- ]?([0-9]{4})\b": r"[0-9]{3}[- ]?[0-9]{3}[- ]?[0-9]{4}",
    # CRYPTO: a reported match is the whole greedy match (up to 60 alphanumerics, no
    # \b) and passes base58check (starts 1/3, base58 letters only) or bech32
    # (starts with lowercase "bc1", then the bech32 alphabet): see _CRYPTO.
    r"(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,59}": "CRYPTO",
    # US_BANK_NUMBER, US_PASSPORT
    r"\b[0-9]{8,17}\b": r"[0-9]{8}",
    r"(\b[0-9]{9}\b)": r"[0-9]{9}",
    r"(\b[A-Z][0-9]{8}\b)": r"[0-9]{8}",
    # EMAIL_ADDRESS: a local-part character, "@", a domain label, ".", a word
    # character. \w is Unicode: any non-ASCII byte may be part of one.
    r"\b((([!#$%&'*+\-/=?^_`{|}~\w])|([!#$%&'*+\-/=?^_`{|}~\w][!#$%&'*+\-/=?^_`{|}~\.\w]{0,}"
    r"[!#$%&'*+\-/=?^_`{|}~\w]))[@]\w+(?:-+\w+)*(?:\.\w+(?:-+\w+)*)+)\b":
        r"[A-Za-z0-9_!#$%&'*+/=?^`{|}~\x80-\xff-]@[A-Za-z0-9_\x80-\xff-]+\.[A-Za-z0-9_\x80-\xff]",
    # IBAN_CODE: a reported match passes mod-97 and Presidio's per-country format,
    # matched from its start with separators removed: see _iban().
    r"(?<![A-Z0-9])([A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]{4}){2,6})((?:[ -]?[A-Z0-9]{4})?)"
    r"((?:[ -]?[A-Z0-9]{1,3})?)(?![A-Z0-9])": "IBAN",
}
_B58, _BECH32 = "1-9A-HJ-NP-Za-km-z", "02-9ac-hj-np-z"
# The greedy match ends before a character that is not an ASCII letter or digit; in
# the scan form a non-ASCII digit reads "0", so "0" may end it too.
_CRYPTO = "|".join(f"{head}[{chars}]{{25,59}}(?:[^1-9A-Za-z]|$)|{head}[{chars}]{{59}}"
                   for head, chars in (("[13]", _B58), ("bc1", _BECH32)))
# Supersets whose case the validator fixes, whatever Presidio's regex flags.
_CASE_EXACT = {"CRYPTO"}


def _iban() -> str:
    """Every country format of Presidio's IBAN validator, separators allowed anywhere;
    the generic shape if a format uses syntax not reviewed here."""
    formats = []
    for country_format in IBAN_FORMATS.values():
        if not stdlib_re.fullmatch(r"[()\[\]{}?,0-9A-Za-z \-]+", country_format):
            return r"[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]{4}){2}"
        formats.append(country_format.replace("[ ]?", "[ -]?"))
    return "|".join(formats)


def _superset(presidio_regex: str) -> str:
    value = REVIEWED[presidio_regex]
    return {"CRYPTO": _CRYPTO, "IBAN": _iban()}.get(value, value)


# Where a superset match may start after Presidio's (its leading letter is dropped).
SLACK = {r"(\b[A-Z][0-9]{8}\b)": 1}
# Recognizers whose analyze() is reviewed: Presidio's regex loop, and IBAN's loop
# that may shorten a match (its results still start where a regex match starts).
_PATTERN_ANALYZERS = (PatternRecognizer.analyze, IbanRecognizer.analyze)

# Non-ASCII characters that Presidio's IGNORECASE [a-z] matches (regex module,
# simple case folding): İ, ſ, K (Kelvin). tests check there are no others.
ASCII_FOLDS = {"\u0130": "i", "\u017f": "s", "\u212a": "k"}
_FOLD_TABLE = str.maketrans(ASCII_FOLDS)
# A character-class search cannot backtrack; the `regex` module because its \d
# is Presidio's \d (its Unicode tables are newer than Python's `re`).
_NON_ASCII_DIGIT = regex.compile(r"[^\D0-9]")


def scan_form(text: str) -> str:
    """`text` as the byte patterns see it: non-ASCII digits -> "0", İ/ſ/K -> i/s/k."""
    if text.isascii():
        return text
    return _NON_ASCII_DIGIT.sub("0", text).translate(_FOLD_TABLE)


class Shape(NamedTuple):
    entity: str
    pattern: str           # byte pattern (Hyperscan / RE2 common subset)
    caseless: bool
    context: tuple[str, ...] | None  # None: fires alone; else one of these words is needed
    covers: str            # the recognizer and pattern it stands for
    recognizer_context: tuple[str, ...] = ()  # the recognizer's words, as Presidio has them
    slack: int = 0         # how far before a superset match Presidio's match may start
    char_pattern: str | None = None  # the same on str (RE2, character offsets)


def _min_phone_digits(regions, leniency: int) -> int:
    """Fewest digits a number phonenumbers accepts (leniency >= VALID) can have."""
    types = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
             "personal_number", "voip", "pager", "uan", "voicemail")

    def shortest(md) -> int:
        general = md.general_desc
        if leniency < 1:  # POSSIBLE: any possible length, local-only ones too
            lengths = list(general.possible_length) + list(general.possible_length_local_only)
        else:
            lengths = [n for t in types if (d := getattr(md, t)) is not None
                       and d.national_number_pattern is not None
                       for n in (d.possible_length or general.possible_length)]
        return min((n for n in lengths if n > 0), default=99)

    national = [shortest(PhoneMetadata.metadata_for_region(r))
                for region in regions
                for r in COUNTRY_CODE_TO_REGION_CODE.get(
                    phonenumbers.country_code_for_region(region), ())]
    international = [len(str(cc)) + shortest(md)
                     for cc, regs in COUNTRY_CODE_TO_REGION_CODE.items() for r in regs
                     if (md := PhoneMetadata.metadata_for_region_or_calling_code(cc, r))]
    return max(1, min(national + international))


def _limit(quantifier: str) -> int:
    return int(stdlib_re.fullmatch(r"\{0,(\d+)\}", quantifier).group(1))


def phone_shape(regions, leniency: int) -> tuple[str, str, int]:
    """(byte pattern, str pattern, slack): N digits (x too: phonenumbers may read letters
    as digits), each gap at most phonenumbers' punctuation limit; the number may start
    up to `slack` characters earlier, with its leading "+" or brackets."""
    punctuation = stdlib_re.compile("[" + phone_matcher._VALID_PUNCTUATION + "]",
                                    stdlib_re.IGNORECASE | stdlib_re.UNICODE)
    ascii_punct = [chr(c) for c in range(128) if punctuation.fullmatch(chr(c))]
    limit = _limit(phone_matcher._PUNCTUATION_LIMIT)
    gap = "".join("\\" + c if c in "\\]^-[" else c for c in ascii_punct)
    digit = "[0-9" + "".join(c for c in ascii_punct if c.isalpha()) + "]"
    repeat = f"{{{_min_phone_digits(regions, leniency) - 1}}}"
    # A non-ASCII punctuation character is at most 4 bytes of UTF-8.
    data = f"{digit}(?:[{gap}\\x80-\\xff]{{0,{4 * limit}}}{digit}){repeat}"
    text = f"{digit}(?:[{gap}\\x{{80}}-\\x{{10ffff}}]{{0,{limit}}}{digit}){repeat}"
    return data, text, _limit(phone_matcher._LEAD_LIMIT) * (1 + limit)


@dataclass(frozen=True, slots=True)
class Plan:
    shapes: tuple[Shape, ...]
    always: frozenset[str]         # entities analysed on every text (not reviewed)
    unreachable: frozenset[str]    # entities Presidio can never report at this threshold
    notes: tuple[str, ...]         # why an entity is in `always`


def _reviewed(recognizer) -> bool:
    kind = type(recognizer)
    return kind.enhance_using_context is EntityRecognizer.enhance_using_context and (
        kind is PhoneRecognizer or (isinstance(recognizer, PatternRecognizer)
                                    and kind.analyze in _PATTERN_ANALYZERS
                                    and not recognizer.deny_list))


def _known_enhancer(enhancer) -> bool:
    """Presidio's enhancer, or a subclass that changes how tokens are found, not scores."""
    return (isinstance(enhancer, LemmaContextAwareEnhancer) and type(enhancer)
            .enhance_using_context is LemmaContextAwareEnhancer.enhance_using_context)


def _candidates(recognizer) -> list[tuple] | None:
    """(pattern, score, caseless, name, slack, str pattern) per pattern; None: unreviewed."""
    if isinstance(recognizer, PhoneRecognizer):
        data, text, slack = phone_shape(recognizer.supported_regions, recognizer.leniency)
        return [(data, recognizer.SCORE, False, "phonenumbers", slack, text)]
    if any(p.regex not in REVIEWED for p in recognizer.patterns):
        return None
    ignorecase = bool(recognizer.global_regex_flags & regex.IGNORECASE)
    return [(superset, p.score, ignorecase and REVIEWED[p.regex] not in _CASE_EXACT, p.name,
             SLACK.get(p.regex, 0), None if "\\x80" in superset else superset)
            for p in recognizer.patterns for superset in [_superset(p.regex)]]


def plan(engine) -> Plan:
    """Shapes for every configured entity of a `PresidioEngine`, at its threshold."""
    enhancer = engine.analyzer.context_aware_enhancer
    known_boost = _known_enhancer(enhancer)
    threshold = engine.threshold - 1e-9  # float noise must not drop a pattern
    shapes, always, reachable, notes = [], set(), set(), []
    for entity in engine.entities:
        for recognizer in engine.recognizers(entity):
            candidates = _candidates(recognizer) if _reviewed(recognizer) else None
            if candidates is None:
                always.add(entity)
                notes.append(f"{entity}: {recognizer.name} not reviewed, runs on every text")
                continue
            words = tuple(recognizer.context or ())
            lowered = tuple(w.lower() for w in words)
            text_gate = engine.lemmas_are_lowercase_text and all(w.isascii() for w in words)
            validated = (isinstance(recognizer, PatternRecognizer) and type(recognizer)
                         .validate_result is not PatternRecognizer.validate_result)
            for pattern, score, caseless, name, slack, char_pattern in candidates:
                base = EntityRecognizer.MAX_SCORE if validated else score
                if not known_boost:  # an enhancer we have not read may raise any score
                    boosted = EntityRecognizer.MAX_SCORE
                elif words:  # Presidio's formula, LemmaContextAwareEnhancer
                    boosted = min(EntityRecognizer.MAX_SCORE,
                                  max(base + enhancer.context_similarity_factor,
                                      enhancer.min_score_with_context_similarity))
                else:
                    boosted = base
                if boosted < threshold:
                    continue  # Presidio can never report this pattern
                reachable.add(entity)
                gated = base < threshold and known_boost
                shapes.append(Shape(
                    entity, pattern, caseless, (lowered if text_gate else ()) if gated else None,
                    f"{recognizer.name}: {name}", words, slack, char_pattern))
    unreachable = frozenset(engine.entities) - reachable - always
    return Plan(tuple(shapes), frozenset(always), unreachable, tuple(notes))


RARE_CHAR = "@"


def _needs_literal(pattern: str, char: str) -> bool:
    """True when every match of `pattern` contains `char` (a literal of its top level)."""
    try:
        parsed = sre_parse.parse(pattern)
    except stdlib_re.error:
        return False
    return any(op is LITERAL and value == ord(char) for op, value in parsed)


class Selection(NamedTuple):
    entities: set[str]     # what Presidio must look for; empty: skip Presidio
    artifacts: object      # the NLP artifacts already computed for the text, or None


class Prefilter:
    """Compiled once from a `Plan`; `select(text)` is the hot path."""

    def __init__(self, plan_: Plan, engine) -> None:
        self.plan = plan_
        self.shapes = plan_.shapes
        self._engine = engine
        words = sorted({w for s in self.shapes if s.context for w in s.context})
        self._word_id = {w: len(self.shapes) + i for i, w in enumerate(words)}
        patterns = [s.pattern for s in self.shapes] + [
            word_pattern(w, engine) for w in words]
        caseless = [s.caseless for s in self.shapes] + [True] * len(words)
        # A pattern that needs a rare character ("@" of an e-mail address) in its own
        # database, scanned only when that character is there: in one database with the
        # digit shapes it tripled the scan of ordinary prose (4.8 vs 2.1 us per 1 KB).
        gated_ids = [i for i, p in enumerate(patterns) if _needs_literal(p, RARE_CHAR)]
        main_ids = [i for i in range(len(patterns)) if i not in gated_ids]
        self._main_ids, self._gated_ids = tuple(main_ids), tuple(gated_ids)
        self._main = MultiPattern([patterns[i] for i in main_ids],
                                  caseless=[caseless[i] for i in main_ids])
        self._gated = MultiPattern([patterns[i] for i in gated_ids],
                                   caseless=[caseless[i] for i in gated_ids])
        self._reach = ContextReach(engine)
        gated = [s if s.context is not None and s.char_pattern else None for s in self.shapes]
        latin1 = re2.Options()
        latin1.encoding = re2.Options.Encoding.LATIN1
        self._finders = [s and re2.compile(("(?i)" if s.caseless else "") + s.char_pattern)
                         for s in gated]
        self._byte_finders = [s and re2.compile(
            (("(?i)" if s.caseless else "") + s.char_pattern.replace(
                r"\x{80}-\x{10ffff}", r"\x80-\xff")).encode(), latin1) for s in gated]

    def entities(self, text: str) -> set[str]:
        return self.select(text).entities

    def select(self, text: str) -> Selection:
        found = set(self.plan.always)
        if not self.shapes:
            return Selection(found, None)
        form = scan_form(text)
        ids = self._matches(form)
        near: list[int] = []  # shapes that also need a context word near a match
        lowered: str | None = None
        for i in sorted(i for i in ids if i < len(self.shapes)):
            shape = self.shapes[i]
            if shape.entity in found:
                continue
            if shape.context is None:
                found.add(shape.entity)
            elif shape.context and not any(self._word_id[w] in ids for w in shape.context):
                if text.isascii():
                    continue  # no context word anywhere: Presidio cannot boost it
                lowered = text.lower() if lowered is None else lowered  # İ, K fold in lower()
                if not any(w in lowered for w in shape.context):
                    continue
                near.append(i)
            else:
                near.append(i)
        artifacts = None
        for i in near:
            if self.shapes[i].entity in found:
                continue
            shape, spans = self.shapes[i], self._spans(i, form)
            if spans == [] or (spans and self._reach.far(shape.context, shape.slack, spans,
                                                         text)):
                continue  # no match, or every match too far from every context word
            if spans is not None and artifacts is None:
                artifacts = self._engine.artifacts_with_ends(text)
            if spans is None or self._reach.near(shape.recognizer_context, shape.slack, spans,
                                                 artifacts):
                found.add(shape.entity)
        return Selection(found, artifacts)

    def _matches(self, form: str) -> set[int]:
        """Ids of the patterns (shapes, then context words) that match `form`."""
        main = self._main_ids
        ids = {main[i] for i in self._main.matches(form)}
        if self._gated_ids and RARE_CHAR in form:
            gated = self._gated_ids
            ids.update(gated[i] for i in self._gated.matches(form))
        return ids

    def _spans(self, i: int, form: str) -> list[tuple[int, int]] | None:
        """Character spans of shape i's matches; None if they cannot be had."""
        if self._finders[i] is None:
            return None
        if form.isascii():  # bytes: offsets are the same and RE2 skips UTF-8 decoding
            return [m.span() for m in self._byte_finders[i].finditer(form.encode())]
        try:
            return [m.span() for m in self._finders[i].finditer(form)]
        except UnicodeEncodeError:  # lone surrogates: RE2 cannot read the text
            return None
