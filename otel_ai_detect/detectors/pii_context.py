"""Would Presidio's context boost reach a match? The prefilter asks before Presidio runs.

A phone number scores 0.4 and reaches the default threshold 0.5 only when
Presidio finds a context word ("phone", "number", ...) near it: among the
keywords (tokens that are not stop words or punctuation) in a window that runs
back `context_prefix_count`+1 keywords from the token where the result starts,
and forward to the next keyword (`LemmaContextAwareEnhancer`). Three tests,
cheapest first, each passing whatever Presidio could boost:

1. `word_pattern`: the word occurs in the text at all (stage one, in the
   Hyperscan scan). A stop word ("call") is never a keyword on its own, so it
   must touch a non-space character ("recall", "call:").
2. `ContextReach.far`: no tokens. With our tokenizer a whitespace-delimited
   chunk of ASCII letters only or digits only, not a special case, not a stop
   word, is one token and a keyword ("sure"); a context word with a window's
   worth of sure chunks between it and every match cannot be reached.
3. `ContextReach.near`: on the tokens, Presidio's own window functions over
   every token where a result may start.
"""

from __future__ import annotations

import bisect
import re

_MERGE_GAP = 8  # tokens between two matches read whole rather than walked back over
_NOT_SPACE = r"[^\t\n\x0b\x0c\r ]"  # \s differs between Hyperscan and RE2


def word_pattern(word: str, engine) -> str:
    """Where a context word may count, for the scan (ASCII; others escaped as \\xNN).

    A stop word counts only inside a longer token or as a piece of one holding ":",
    so next to a character that is not whitespace (spaCy never puts one in a token).
    """
    escaped = "".join(c if c.isalnum() else "\\x%02x" % ord(c) for c in word)
    if not engine.nlp_engine.is_stopword(word, engine.language):
        return escaped
    return f"(?:{_NOT_SPACE}{escaped}|{escaped}{_NOT_SPACE})"


def _find_all(text: str, word: str):
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + 1)


class _Chunks:
    """The whitespace-delimited chunks of a text (spaCy splits on `str.isspace`)."""

    _RUN = re.compile(r"\S+")  # one character class: linear, cannot backtrack

    def __init__(self, text: str, engine) -> None:
        self._text, self._engine = text, engine
        self._spans = [m.span() for m in self._RUN.finditer(text)]
        self.ends = [end for _, end in self._spans]
        self._sure: dict[int, bool] = {}

    def index(self, at: int) -> int:
        """The chunk holding `at`, or the next one if `at` is whitespace."""
        return bisect.bisect_right(self.ends, at)

    def _is_sure(self, k: int) -> bool:
        known = self._sure.get(k)
        if known is None:
            start, end = self._spans[k]
            chunk, nlp, language = self._text[start:end], self._engine.nlp_engine, \
                self._engine.language
            known = self._sure[k] = (
                chunk.isascii() and (chunk.isalpha() or chunk.isdigit())
                and chunk not in nlp.special_cases(language)
                and not nlp.is_stopword(chunk.lower(), language))
        return known

    def sure_between(self, low: int, high: int, enough: int) -> int:
        """Sure chunks strictly between chunks low and high (counting stops at enough)."""
        count = 0
        for k in range(low + 1, min(high, len(self._spans))):
            count += self._is_sure(k)
            if count >= enough:
                break
        return count


class ContextReach:
    """Tests 2 and 3 for one `PresidioEngine`."""

    def __init__(self, engine) -> None:
        self._engine = engine
        self._enhancer = engine.analyzer.context_aware_enhancer
        self._chunk_test = engine.lemmas_are_lowercase_text  # knows our tokenizer only

    def far(self, words: tuple[str, ...] | None, slack: int, spans, text: str) -> bool:
        """True if no context word can be in Presidio's window of any match."""
        if not (self._chunk_test and words):
            return False
        lowered = text.lower()
        if len(lowered) != len(text):  # offsets would not line up
            return False
        chunks = _Chunks(text, self._engine)
        places = sorted({chunks.index(at) for w in words for at in _find_all(lowered, w)})
        back = self._enhancer.context_prefix_count + 1
        ahead = self._enhancer.context_suffix_count + 1
        for a, b in spans:
            first, last = chunks.index(max(0, a - slack)), chunks.index(b - 1)
            k = bisect.bisect_left(places, first)
            if k < len(places) and places[k] <= last:
                return False  # a context word in the match's own chunks
            if k and chunks.sure_between(places[k - 1], first, back) < back:
                return False
            if k < len(places) and chunks.sure_between(last, places[k], ahead) < ahead:
                return False
        return True

    def near(self, context: tuple[str, ...], slack: int, spans, artifacts) -> bool:
        """Would Presidio find one of `context` for a match, wherever in it a result starts?

        A result starts in [a - slack, b) of some match [a, b) of the superset pattern
        (leftmost matching covers the start of every Presidio match). Over the tokens
        `first`..`last` of that range, Presidio's windows together hold at most: the
        window back from `first`, the keywords up to `last`, the window forward from
        `last`. Those are gathered with Presidio's own functions and searched its way.
        """
        if not artifacts.tokens:
            return False
        ends, lemmas, keywords = artifacts.ends, artifacts.lemmas, artifacts.keywords
        enhancer, last_token = self._enhancer, len(ends) - 1
        ranges: list[list[int]] = []  # token ranges; close ones merged (more is sound)
        for a, b in spans:
            first = min(bisect.bisect_right(ends, max(0, a - slack)), last_token)
            last = min(bisect.bisect_right(ends, b - 1), last_token)
            if ranges and first <= ranges[-1][1] + _MERGE_GAP:
                ranges[-1][1] = max(ranges[-1][1], last)
            else:
                ranges.append([first, last])
        window: set[str] = set()
        for first, last in ranges:
            window.update(enhancer._add_n_words_backward(
                first, enhancer.context_prefix_count, lemmas, keywords))
            window.update(lemma for lemma in (lemmas[k].lower() for k in range(first, last + 1))
                          if lemma in keywords)
            window.update(enhancer._add_n_words_forward(
                last, enhancer.context_suffix_count, lemmas, keywords))
        return bool(enhancer._find_supportive_word_in_context(
            list(window), list(context), enhancer.context_matching_mode))
