"""Builds the Presidio analyzer once, offline, and runs it on one text.

Presidio's pattern recognizers need no model, but an NLP engine: its tokens and
lemmas drive the context boost (a phone number next to "phone" scores 0.75, not
0.4). Measured on 1.3 KB texts: ``NoOpNlpEngine`` costs nothing but has no
tokens, so no boost: a phone number never reaches the default threshold 0.5.
``spacy.blank("en")`` saved and loaded as a model (40-200 us) tokenizes, but a
blank pipeline's lemmas are all "", so no boost either. We use spaCy's blank
tokenizer with each token's lowercase text as its lemma (`BlankSpacyNlpEngine`):
with Presidio's substring matching "Phone:", "cards", "SSN" find their context
word, nothing is downloaded, and `TextArtifacts` tokenizes only when a result
needs a boost. With `spacy_model` (an installed package or a saved pipeline),
Presidio's `SpacyNlpEngine` loads it and named entities (PERSON, ...) work; a
model that is not installed is an error, never a download.

Offline too: Presidio's e-mail check asks `tldextract`, which fetches the
public-suffix list from the internet on first use; ours reads the snapshot in
the package. Every regex is compiled by a warm-up call at construction.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import re
from pathlib import Path
from typing import Iterable, Iterator

import spacy
import tldextract
from spacy.attrs import IDX, LENGTH
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from otel_ai_detect.config_types import SensitiveDataConfig

# Characters of one text given to Presidio; the rest is not analysed. Presidio's
# cost grows with the text (~0.3 s for 100 KB of prose with numbers; ~3 s for 100 KB
# dense with phone-like numbers, python-phonenumbers' own cost). spaCy's max_length
# (1,000,000) is never reached.
MAX_TEXT_CHARS = 100_000
# spaCy's vocabulary keeps every new word it sees; a fresh tokenizer (~5 ms to build)
# after this many characters keeps a long-running process's memory flat.
_RELOAD_AFTER_CHARS = 20_000_000
_MEMO_LIMIT = 100_000  # words (of at most _MEMO_WORD characters) whose status is kept
_MEMO_WORD = 40
_SURROGATE = re.compile("[\ud800-\udfff]")  # one character class: cannot backtrack
_WARM_UP = ("warm up: card 4111 1111 1111 1111, ssn 219-09-9999, mail jane@example.com, "
            "phone +1 212 555 0123, iban DE89370400440532013000, itin 912-70-1234")


def prepare(text: str) -> str:
    """The text Presidio sees: cut to MAX_TEXT_CHARS; a lone surrogate (from truncated
    JSON) becomes U+FFFD, as spaCy cannot hash it. Offsets are unchanged."""
    text = text[:MAX_TEXT_CHARS]
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


class SensitiveDataSetupError(ValueError):
    """The sensitive_data section cannot be honoured (missing model, unknown entity)."""


class TextArtifacts(NlpArtifacts):
    """Presidio's NLP artifacts for one text, computed only as far as they are read.

    Presidio makes artifacts before any recognizer runs but reads them only to boost
    a result's score, and then only around it: most texts never need the tokenizer,
    and a lemma or keyword test is made only for the tokens a window visits. The
    prefilter reads the same object. Keywords follow `NlpArtifacts.set_keywords`
    (lemmas that are not stop words, punctuation, "-PRON-" or "be", split at ":");
    tests compare both with Presidio's own. Presidio's lookups are quadratic on a
    long text (a scan of all tokens per result; `in` on a list): here bisection.
    """

    def __init__(self, text: str, engine: "BlankSpacyNlpEngine", language: str) -> None:
        # NlpArtifacts.__init__ is not called: it would compute everything now.
        self.entities: list = []
        self.scores: list = []
        self.nlp_engine, self.language, self._text = engine, language, text
        self._spans: list[list[int]] | None = None
        self._pieces: set[str] | None = None

    @property
    def spans(self) -> list[list[int]]:
        if self._spans is None:
            self._spans = self.nlp_engine.token_spans(self._text, self.language)
            self.ends = [start + n for start, n in self._spans]
            self._starts = [start for start, _ in self._spans]
        return self._spans

    tokens = property(lambda self: _Tokens(self))
    tokens_indices = property(lambda self: self.spans and self._starts)
    lemmas = property(lambda self: _Tokens(self, lower=True))
    keywords = property(lambda self: self)  # `lemma in artifacts.keywords`, see below

    def _qualifies(self, lemma: str) -> bool:
        engine, language = self.nlp_engine, self.language
        return not (engine.is_stopword(lemma, language) or engine.is_punct(lemma, language)
                    or lemma in ("-PRON-", "be"))

    def __contains__(self, lemma: object) -> bool:
        """Is `lemma` one of Presidio's keywords for this text?"""
        if self._pieces is None:  # the pieces that lemmas holding ":" contribute
            self._pieces, lemmas = set(), self.lemmas
            at = self._text.find(":")
            while at >= 0:
                i = bisect.bisect_right(self.ends, at)
                if i < len(self.spans) and self._qualifies(lemmas[i]):
                    self._pieces.update(lemmas[i].split(":"))
                at = self._text.find(":", at + 1)
        return isinstance(lemma, str) and (
            (":" not in lemma and self._qualifies(lemma)) or lemma in self._pieces)


class _Tokens:
    """Token texts (or lemmas: lowercase) of `TextArtifacts`, made when indexed."""

    def __init__(self, artifacts: TextArtifacts, lower: bool = False) -> None:
        self._spans, self._text, self._lower = artifacts.spans, artifacts._text, lower
        self.ends = artifacts.ends

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, i: int) -> str:
        start, n = self._spans[i]
        text = self._text[start:start + n]
        return text.lower() if self._lower else text

    def __iter__(self):
        return (self[i] for i in range(len(self._spans)))


class BisectContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's lemma context enhancer; finds a result's token by bisection."""

    @staticmethod
    def _find_index_of_match_token(word, start, tokens, tokens_indices) -> int:
        ends = getattr(tokens, "ends", None)
        if ends is None:
            return LemmaContextAwareEnhancer._find_index_of_match_token(
                word, start, tokens, tokens_indices)
        # Presidio: the first token with idx == start or start < idx + len. Tokens are
        # ordered, disjoint and never empty, so that is the first token ending after start.
        i = bisect.bisect_right(ends, start)
        if i == len(ends):
            raise ValueError(f"Did not find word '{word}' in the list of tokens although it "
                             f"is expected to be found")
        return i


class BlankSpacyNlpEngine(NlpEngine):
    """spaCy's rule-based tokenizer for one language; lemma = lowercase token text."""

    engine_name = "blank_spacy"
    is_available = True

    def __init__(self, language: str) -> None:
        self.language = language
        self.nlp: dict[str, spacy.Language] | None = None
        self._served = 0
        self._stop: dict[str, bool] = {}
        self._punct: dict[str, bool] = {}

    def load(self) -> None:
        try:
            self.nlp = {self.language: spacy.blank(self.language)}
        except (ImportError, KeyError) as error:  # spaCy has no such language
            raise SensitiveDataSetupError(
                f"detectors.sensitive_data.language: spaCy has no tokenizer for "
                f"{self.language!r} ({error})") from error
        self._served = 0
        self._stop, self._punct = {}, {}

    def is_loaded(self) -> bool:
        return self.nlp is not None

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        if language not in self.nlp:
            raise ValueError(f"language {language!r} is not loaded")
        return TextArtifacts(text, self, language)

    def special_cases(self, language: str) -> dict:
        """The tokenizer's special cases ("cannot" -> "can", "not"), by exact text."""
        return self.nlp[language].tokenizer.rules

    def token_spans(self, text: str, language: str) -> list[list[int]]:
        """[start, length] of each token: spaCy's tokenizer, no pipeline, no Token objects."""
        self._served += len(text)
        if self._served > _RELOAD_AFTER_CHARS:
            self.load()
        return self.nlp[language].make_doc(text).to_array([IDX, LENGTH]).tolist()

    def process_batch(self, texts: Iterable[str], language: str, batch_size: int = 1,
                      n_process: int = 1, as_tuples: bool = False,
                      **kwargs) -> Iterator:
        for text in texts:
            yield text, self.process_text(text, language)

    # Presidio asks these for every lemma of a text: remembered, they cost a dict lookup.
    def is_stopword(self, word: str, language: str) -> bool:
        return self._lexeme_flag(self._stop, "is_stop", word, language)

    def is_punct(self, word: str, language: str) -> bool:
        return self._lexeme_flag(self._punct, "is_punct", word, language)

    def _lexeme_flag(self, memo: dict[str, bool], flag: str, word: str, language: str) -> bool:
        known = memo.get(word)
        if known is None:
            known = getattr(self.nlp[language].vocab[word], flag)
            if len(word) <= _MEMO_WORD:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[word] = known
        return known

    def get_supported_entities(self) -> list[str]:
        return []  # no named-entity recognition without a trained model

    def get_supported_languages(self) -> list[str]:
        return [self.language]


# The bundled public-suffix snapshot only: no fetch, no cache directory.
_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer (same pattern, same rule), without network I/O."""

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLD(pattern_text).fqdn != ""


def _spacy_model_engine(model: str, language: str) -> NlpEngine:
    if not (spacy.util.is_package(model) or Path(model).exists()):
        raise SensitiveDataSetupError(
            f"detectors.sensitive_data.spacy_model: spaCy model {model!r} is not installed "
            f"(install its package, e.g. `pip install {model}`, or give the path of a saved "
            f"pipeline; nothing is downloaded), or remove spacy_model to use pattern "
            f"recognizers only")
    engine = SpacyNlpEngine(models=[{"lang_code": language, "model_name": model}])
    try:
        engine.load()
    except Exception as error:  # a broken or incompatible package
        raise SensitiveDataSetupError(
            f"detectors.sensitive_data.spacy_model: spaCy model {model!r} failed to load: "
            f"{type(error).__name__}: {error}") from error
    return engine


# Presidio logs the lower-cased text around each match at DEBUG ("Context list is: ..."),
# which can hold pieces of secrets: its logger never goes below INFO, whatever the
# processor's own log level.
logging.getLogger("presidio-analyzer").setLevel(logging.INFO)


@contextlib.contextmanager
def _quiet_presidio():
    """Presidio warns, while loading, about every recognizer of another language."""
    presidio_log = logging.getLogger("presidio-analyzer")
    level = presidio_log.level
    presidio_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        presidio_log.setLevel(level)


class PresidioEngine:
    """One Presidio `AnalyzerEngine` for the configured entities, language and threshold."""

    def __init__(self, config: SensitiveDataConfig) -> None:
        with _quiet_presidio():
            self._build(config)
        self.analyze(_WARM_UP, self.entities)  # compile every pattern now, not on a span

    def _build(self, config: SensitiveDataConfig) -> None:
        self.language = config.language
        self.threshold = float(config.score_threshold)
        self.entities: tuple[str, ...] = tuple(dict.fromkeys(config.entities))
        if config.spacy_model:
            nlp_engine = _spacy_model_engine(config.spacy_model, self.language)
            self.lemmas_are_lowercase_text = False
        else:
            nlp_engine = BlankSpacyNlpEngine(self.language)
            nlp_engine.load()
            self.lemmas_are_lowercase_text = True
        self.nlp_engine = nlp_engine
        registry = RecognizerRegistry(supported_languages=[self.language])
        registry.load_predefined_recognizers(languages=[self.language], nlp_engine=nlp_engine)
        if not config.spacy_model:  # no model, no named entities: say so at construction
            registry.remove_recognizer("SpacyRecognizer")
        if any(r.name == "EmailRecognizer" for r in registry.recognizers):
            registry.remove_recognizer("EmailRecognizer")
            registry.add_recognizer(OfflineEmailRecognizer(supported_language=self.language))
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine,
                                       supported_languages=[self.language],
                                       context_aware_enhancer=BisectContextEnhancer())
        self._check_entities(config.spacy_model)

    def _check_entities(self, spacy_model: str | None) -> None:
        supported = set(self.analyzer.get_supported_entities(self.language))
        unknown = [e for e in self.entities if e not in supported]
        if not unknown:
            return
        hint = ("" if spacy_model else
                "; named entities (PERSON, LOCATION, NRP, ...) need spacy_model")
        raise SensitiveDataSetupError(
            f"detectors.sensitive_data.entities: not supported for language "
            f"{self.language!r}: {', '.join(unknown)} (supported: "
            f"{', '.join(sorted(supported))}{hint})")

    def recognizers(self, entity: str) -> list:
        """The recognizers Presidio runs for `entity` (what the prefilter must cover)."""
        return self.analyzer.registry.get_recognizers(language=self.language, entities=[entity])

    def artifacts(self, text: str) -> NlpArtifacts:
        """What Presidio's NLP engine makes of `text` (lazy with the blank tokenizer)."""
        return self.nlp_engine.process_text(prepare(text), self.language)

    def artifacts_with_ends(self, text: str) -> NlpArtifacts:
        """Artifacts for `text` that also say where each token ends (`ends`)."""
        artifacts = self.artifacts(text)
        if not isinstance(artifacts, TextArtifacts):  # a model's: computed in full, once
            artifacts.ends = [i + len(t) for i, t in zip(artifacts.tokens_indices,
                                                         artifacts.tokens)]
        return artifacts

    def analyze(self, text: str, entities: Iterable[str],
                nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """Presidio on `prepare(text)` for `entities`, at the threshold.

        Results are per entity type: recognizers, the context boost, the threshold
        and the de-duplication never mix types, so asking for fewer entities returns
        exactly the results of those entities (what makes the prefilter sound).
        """
        wanted = [e for e in entities if e in self.entities]
        if not wanted or not text:
            return []
        results = self.analyzer.analyze(prepare(text), language=self.language,
                                        entities=wanted, score_threshold=self.threshold,
                                        nlp_artifacts=nlp_artifacts)
        return [r for r in results if r.entity_type in wanted]

    def analyze_all(self, text: str) -> list[RecognizerResult]:
        """Presidio alone: every configured entity, no prefilter (the reference)."""
        return self.analyze(text, self.entities)
