"""The cheap scan that decides which entities Presidio must look for in a text.

Presidio costs ~2-5 ms per 1.3 KB text; one Hyperscan scan costs a few us. The
prefilter must never drop what Presidio alone would report, so it is built from
Presidio's own recognizers, and only from ones reviewed here:

- for each pattern of a reviewed recognizer, `REVIEWED` holds a byte pattern
  that matches wherever Presidio's pattern can (a superset: word boundaries and
  value-specific digits dropped, bounded repeats cut to their minimum);
- a pattern whose best possible score (1.0 when a checksum validates, else its
  score plus the context boost) is below the threshold is left out: Presidio
  could never report it;
- a pattern that reaches the threshold only with the context boost must also
  have a context word where Presidio looks: first anywhere in the text (with
  our lemmas, lowercase token text, a context word Presidio counts is a
  substring of the lowercased text), then, on the tokens, among the keywords
  Presidio's own enhancer code collects around every position where such a
  match may start;
- phone numbers (python-phonenumbers, no regex to copy): a run of at least N
  digits, each gap at most phonenumbers' punctuation limit, N the shortest
  valid number in its metadata for the configured regions.

A recognizer not reviewed (another Presidio version changed a regex, a custom
or NER recognizer) makes its entity run on every text: slower, never unsound.
Presidio's patterns are Unicode-aware (``\\d`` is any decimal digit; with
IGNORECASE ``[a-z]`` also matches U+0130, U+017F, U+212A); the scan works on
bytes, so non-ASCII texts are first mapped: every non-ASCII decimal digit to
"0", those three letters to their ASCII fold. docs/detector-sensitive-data.md
gives the argument entity by entity; tests/test_pii_prefilter_corpus.py checks
it on a corpus.
"""

from __future__ import annotations

import bisect
import re as stdlib_re
from dataclasses import dataclass
from typing import NamedTuple

import re2

import phonenumbers
import phonenumbers.phonenumbermatcher as phone_matcher
import regex
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
from presidio_analyzer import EntityRecognizer, PatternRecognizer
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.predefined_recognizers import IbanRecognizer, PhoneRecognizer
from presidio_analyzer.predefined_recognizers.generic.iban_patterns import (
    regex_per_country as IBAN_FORMATS)

from otel_ai_detect.scanning import MultiPattern

_DIGITS = "[0-9]"
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
_CRYPTO = "|".join(f"{head}[{chars}]{{25,59}}(?:[^0-9A-Za-z]|$)|{head}[{chars}]{{59}}"
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
_MERGE_GAP = 8  # tokens between two matches read whole rather than walked back over
_NOT_SPACE = r"[^\t\n\x0b\x0c\r ]"  # \s differs between Hyperscan and RE2


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


def plan(engine) -> Plan:
    """Shapes for every configured entity of a `PresidioEngine`, at its threshold."""
    enhancer = engine.analyzer.context_aware_enhancer
    known_boost = _known_enhancer(enhancer)
    threshold = engine.threshold - 1e-9  # float noise must not drop a pattern
    shapes: list[Shape] = []
    always: set[str] = set()
    reachable: set[str] = set()
    notes: list[str] = []
    for entity in engine.entities:
        for recognizer in engine.recognizers(entity):
            if not _reviewed(recognizer):
                always.add(entity)
                notes.append(f"{entity}: {recognizer.name} is not reviewed, runs on every text")
                continue
            words = tuple(recognizer.context or ())
            lowered = tuple(w.lower() for w in words)
            text_gate = engine.lemmas_are_lowercase_text and all(w.isascii() for w in words)
            validated = (isinstance(recognizer, PatternRecognizer) and type(recognizer)
                         .validate_result is not PatternRecognizer.validate_result)
            if isinstance(recognizer, PhoneRecognizer):
                data, text, slack = phone_shape(recognizer.supported_regions,
                                                recognizer.leniency)
                items = [(data, recognizer.SCORE, False, "phonenumbers", slack, text)]
            else:
                ignorecase = bool(recognizer.global_regex_flags & regex.IGNORECASE)
                if any(p.regex not in REVIEWED for p in recognizer.patterns):
                    always.add(entity)
                    notes.append(f"{entity}: a pattern of {recognizer.name} is not reviewed, "
                                 f"runs on every text")
                    continue
                items = []
                for p in recognizer.patterns:
                    superset = _superset(p.regex)
                    items.append((superset, p.score,
                                  ignorecase and REVIEWED[p.regex] not in _CASE_EXACT, p.name,
                                  SLACK.get(p.regex, 0), None if "\\x80" in superset else superset))
            for pattern, score, caseless, name, slack, char_pattern in items:
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
                    entity, pattern, caseless,
                    (lowered if text_gate else ()) if gated else None,
                    f"{recognizer.name}: {name}", words, slack, char_pattern))
    unreachable = frozenset(engine.entities) - reachable - always
    return Plan(tuple(shapes), frozenset(always), unreachable, tuple(notes))


def _find_all(text: str, word: str):
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + 1)


class _Chunks:
    """The whitespace-delimited chunks of a text (spaCy splits on `str.isspace`)."""

    _RUN = stdlib_re.compile(r"\S+")  # one character class: linear, cannot backtrack

    def __init__(self, text: str, engine) -> None:
        self._text, self._engine = text, engine
        spans = [m.span() for m in self._RUN.finditer(text)]
        self.ends = [end for _, end in spans]
        self._spans = spans
        self._sure: dict[int, bool] = {}

    def index(self, at: int) -> int:
        """The chunk holding `at`, or the next one if `at` is whitespace."""
        return bisect.bisect_right(self.ends, at)

    def _is_sure(self, k: int) -> bool:
        known = self._sure.get(k)
        if known is None:
            start, end = self._spans[k]
            chunk = self._text[start:end]
            nlp = self._engine.nlp_engine
            known = self._sure[k] = (
                chunk.isascii() and (chunk.isalpha() or chunk.isdigit())
                and chunk not in nlp.special_cases(self._engine.language)
                and not nlp.is_stopword(chunk.lower(), self._engine.language))
        return known

    def sure_between(self, low: int, high: int, enough: int) -> int:
        """Sure-keyword chunks strictly between chunks low and high (counting stops at enough)."""
        count = 0
        for k in range(low + 1, min(high, len(self._spans))):
            count += self._is_sure(k)
            if count >= enough:
                break
        return count


class Selection(NamedTuple):
    entities: set[str]     # what Presidio must look for; empty: skip Presidio
    artifacts: object      # the NLP artifacts already computed for the text, or None


class Prefilter:
    """Compiled once from a `Plan`; `select(text)` is the hot path."""

    def __init__(self, plan_: Plan, engine) -> None:
        self.plan = plan_
        self.shapes = plan_.shapes
        self._engine = engine
        self._enhancer = engine.analyzer.context_aware_enhancer
        words = sorted({w for s in self.shapes if s.context for w in s.context})
        self._word_id = {w: len(self.shapes) + i for i, w in enumerate(words)}
        patterns = [s.pattern for s in self.shapes] + [
            self._word_pattern(w, engine) for w in words]
        caseless = [s.caseless for s in self.shapes] + [True] * len(words)
        self._scan = MultiPattern(patterns, caseless=caseless)
        # the cheap chunk test knows our tokenizer and lemmas only
        self._chunk_gate = engine.lemmas_are_lowercase_text
        gated = [s if s.context is not None and s.char_pattern else None for s in self.shapes]
        latin1 = re2.Options()
        latin1.encoding = re2.Options.Encoding.LATIN1
        self._finders = [s and re2.compile(("(?i)" if s.caseless else "") + s.char_pattern)
                         for s in gated]
        self._byte_finders = [s and re2.compile(
            (("(?i)" if s.caseless else "") + s.char_pattern.replace(
                r"\x{80}-\x{10ffff}", r"\x80-\xff")).encode(), latin1) for s in gated]

    @staticmethod
    def _word_pattern(word: str, engine) -> str:
        """Where a context word may count. Words are ASCII here (else not gated):
        non-alphanumerics as \\xNN escapes. A stop word ("call", "us") is never a
        keyword on its own: it counts only inside a longer token ("recall", "us-east")
        or when such a token makes it a keyword piece ("call:"), so next to a
        character that is not whitespace (spaCy never puts whitespace in a word)."""
        escaped = "".join(c if c.isalnum() else "\\x%02x" % ord(c) for c in word)
        if not engine.nlp_engine.is_stopword(word, engine.language):
            return escaped
        return f"(?:{_NOT_SPACE}{escaped}|{escaped}{_NOT_SPACE})"

    def entities(self, text: str) -> set[str]:
        return self.select(text).entities

    def select(self, text: str) -> Selection:
        found = set(self.plan.always)
        if not self.shapes:
            return Selection(found, None)
        form = scan_form(text)
        ids = self._scan.matches(form)
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
        view = artifacts = None
        for i in near:
            if self.shapes[i].entity in found:
                continue
            spans = self._spans(i, form)
            if spans == [] or (spans and self._far(self.shapes[i], spans, text)):
                continue  # no match, or every match too far from every context word
            if spans is not None and view is None:
                view, artifacts = self._engine.token_view(text)
            if spans is None or self._context_near(self.shapes[i], spans, view):
                found.add(self.shapes[i].entity)
        return Selection(found, artifacts)

    def _spans(self, i: int, form: str) -> list[tuple[int, int]] | None:
        """Character spans of shape i's matches; None if RE2 cannot read the text."""
        if form.isascii():  # bytes: offsets are the same and RE2 skips UTF-8 decoding
            return [m.span() for m in self._byte_finders[i].finditer(form.encode())]
        try:
            return [m.span() for m in self._finders[i].finditer(form)]
        except UnicodeEncodeError:  # lone surrogates
            return None

    def _far(self, shape: Shape, spans: list[tuple[int, int]], text: str) -> bool:
        """True if no context word can be in Presidio's window of any match: cheap, no tokens.

        With our tokenizer, a whitespace-delimited chunk of ASCII letters only or digits
        only, not a tokenizer special case and not a stop word, is one token and a
        keyword ("sure"). Presidio's window reaches back over at most prefix+1 keywords
        and forward to the first keyword, so a context word with that many sure chunks
        between it and every match, on both sides, is out of reach.
        """
        if not (self._chunk_gate and shape.context):
            return False
        lowered = text.lower()
        if len(lowered) != len(text):  # offsets would not line up
            return False
        places = sorted(at for w in shape.context for at in _find_all(lowered, w))
        chunks = _Chunks(text, self._engine)
        words = sorted({chunks.index(at) for at in places})
        back = self._enhancer.context_prefix_count + 1
        ahead = self._enhancer.context_suffix_count + 1
        for a, b in spans:
            first, last = chunks.index(max(0, a - shape.slack)), chunks.index(b - 1)
            k = bisect.bisect_left(words, first)
            if k < len(words) and words[k] <= last:
                return False  # a context word inside the match's chunks
            if k and chunks.sure_between(words[k - 1], first, back) < back:
                return False
            if k < len(words) and chunks.sure_between(last, words[k], ahead) < ahead:
                return False
        return True

    def _context_near(self, shape: Shape, spans: list[tuple[int, int]], view) -> bool:
        """Would Presidio find a context word for a match of this shape, wherever it starts?

        Presidio takes the token where a result starts, walks back (and forward) over
        keywords, and looks for the recognizer's context words among them. A result
        starts in [a - slack, b) of some match [a, b) of the superset pattern (leftmost
        matching covers the start of every Presidio match). Over the tokens `first`..
        `last` of that range, Presidio's windows together hold at most: the window back
        from `first`, the keywords up to `last`, the window forward from `last`. Those
        are gathered with Presidio's own functions and searched once, its way.
        """
        if not view.ends:
            return False
        ends, lemmas, keywords, enhancer = view.ends, view.lemmas, view.keywords, self._enhancer
        last_token = len(ends) - 1
        window: set[str] = set()
        ranges: list[list[int]] = []  # token ranges; close ones merged (more is sound)
        for a, b in spans:
            first = min(bisect.bisect_right(ends, max(0, a - shape.slack)), last_token)
            last = min(bisect.bisect_right(ends, b - 1), last_token)
            if ranges and first <= ranges[-1][1] + _MERGE_GAP:
                ranges[-1][1] = max(ranges[-1][1], last)
            else:
                ranges.append([first, last])
        for first, last in ranges:
            window.update(enhancer._add_n_words_backward(
                first, enhancer.context_prefix_count, lemmas, keywords))
            window.update(lemma for lemma in (lemmas[k].lower() for k in range(first, last + 1))
                          if lemma in keywords)
            window.update(enhancer._add_n_words_forward(
                last, enhancer.context_suffix_count, lemmas, keywords))
        return bool(enhancer._find_supportive_word_in_context(
            list(window), list(shape.recognizer_context), enhancer.context_matching_mode))
