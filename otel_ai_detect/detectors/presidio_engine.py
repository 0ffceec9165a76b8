"""Builds the Presidio analyzer once, offline, and runs it on one text.

Presidio's pattern recognizers need no model. They do need an NLP engine,
whose tokens and lemmas drive the context-word boost (a phone number near
"phone" scores 0.75 instead of 0.4). Measured options, 1.3 KB text:

- ``NoOpNlpEngine``: 0 us, but no tokens, so the context boost never applies:
  a phone number then never reaches the default threshold 0.5.
- ``spacy.blank(lang)`` as Presidio's own engines use it: ~40 us, but a blank
  pipeline has no lemmatizer, every lemma is "", and the boost never applies
  either.
- what we use, `BlankSpacyNlpEngine`: the blank tokenizer (~40 us) with each
  token's lowercase text as its lemma. With Presidio's substring matching,
  "phone", "cards", "SSN:" all find their context word; the boost works and
  nothing is downloaded. The prefilter relies on "a lemma is a piece of the
  lowercased text" (pii_prefilter.py).

With `spacy_model` set (an installed spaCy package or a saved pipeline path),
Presidio's own `SpacyNlpEngine` loads it, named-entity recognition turns on
(PERSON, LOCATION, NRP, ...), and lemmas are the model's. A model that is not
installed is an error here, never a download.

Two more things keep it offline: Presidio's e-mail validator asks `tldextract`,
which by default fetches the public-suffix list from the internet on first use;
ours reads the snapshot shipped inside tldextract. And every regex is compiled
by a warm-up call at construction, not on the first span.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
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

log = logging.getLogger(__name__)

# Characters of one text given to Presidio; the rest is not analysed. Presidio is
# linear but slow (~2-5 ms per 1.3 KB, most of it python-phonenumbers), so 100 KB
# costs up to ~0.4 s; spaCy's own limit (max_length, 1,000,000) is never reached.
MAX_TEXT_CHARS = 100_000
# The blank tokenizer's vocabulary grows with every new word it sees; a fresh one
# (~5 ms to build) after this many texts keeps a long-running process's memory flat.
_RELOAD_EVERY = 20_000
_MEMO_LIMIT = 200_000  # words whose stop-word / punctuation status is remembered
_WARM_UP = ("warm up: card 4111 1111 1111 1111, ssn 219-09-9999, mail jane@example.com, "
            "phone +1 212 555 0123, iban DE89370400440532013000, itin 912-70-1234")


class SensitiveDataSetupError(ValueError):
    """The sensitive_data section cannot be honoured (missing model, unknown entity)."""


class _Tokens(list):
    """Token texts, plus where each ends: a token is found by bisection, not a scan."""

    def __init__(self, texts: list[str], starts: list[int]) -> None:
        super().__init__(texts)
        self.ends = [start + len(text) for start, text in zip(starts, texts)]


class _Keywords(list):
    """Presidio's keyword list, with a set for `in` (it is only ever searched)."""

    def __init__(self, words: Iterable[str]) -> None:
        super().__init__(words)
        self._set = frozenset(self)

    def __contains__(self, word: object) -> bool:
        return word in self._set


class LazyArtifacts(NlpArtifacts):
    """Presidio's NLP artifacts for one text, tokenized on first use.

    Presidio computes artifacts before any recognizer runs, but reads them only
    to boost the score of a result: most texts have none, so most never need a
    tokenizer. The values are Presidio's (`NlpArtifacts.set_keywords`, our lemmas),
    with lookups that stay cheap on a long text: Presidio finds each result's token
    by scanning all tokens and tests keywords with `in` on a list, quadratic with
    thousands of results in 100 KB (seconds); here bisection and a set.
    """

    def __init__(self, text: str, engine: "BlankSpacyNlpEngine", language: str) -> None:
        # NlpArtifacts.__init__ is not called: it would compute everything now.
        self.entities: list = []
        self.scores: list = []
        self.nlp_engine = engine
        self.language = language
        self._text = text
        self._done = False

    def _compute(self) -> None:
        words, starts = self.nlp_engine.tokenize(self._text, self.language)
        lemmas = [w.lower() for w in words]
        self.__dict__.update(
            _tokens=_Tokens(words, starts), _tokens_indices=starts, _lemmas=lemmas,
            _keywords=_Keywords(NlpArtifacts.set_keywords(self.nlp_engine, lemmas,
                                                          self.language)),
            _done=True)

    def _get(self, name: str):
        if not self._done:
            self._compute()
        return self.__dict__[name]

    tokens = property(lambda self: self._get("_tokens"))
    tokens_indices = property(lambda self: self._get("_tokens_indices"))
    lemmas = property(lambda self: self._get("_lemmas"))
    keywords = property(lambda self: self._get("_keywords"))


class TokenView:
    """A text's tokens as the prefilter's context check reads them, cheaply.

    Presidio's window code reads `lemmas[i]` and `lemma in keywords`. Here both
    are computed only for the tokens it visits, with Presidio's rule for keywords
    (`NlpArtifacts.set_keywords`: lemmas that are not stop words, punctuation,
    "-PRON-" or "be", split at ":"); the tests compare them with Presidio's.
    """

    def __init__(self, text: str, engine: "BlankSpacyNlpEngine", language: str) -> None:
        spans = engine.token_spans(text, language)
        self.ends = [start + n for start, n in spans]
        self.lemmas = _Lemmas(text, spans)
        self.keywords = _KeywordTest(self, engine, language, text)


class _Lemmas:
    def __init__(self, text: str, spans: list[list[int]]) -> None:
        self._text, self._spans = text, spans

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, i: int) -> str:
        start, n = self._spans[i]
        return self._text[start:start + n].lower()


class _KeywordTest:
    def __init__(self, view: TokenView, engine, language: str, text: str) -> None:
        self._view, self._engine, self._language, self._text = view, engine, language, text
        self._pieces: set[str] | None = None

    def _qualifies(self, lemma: str) -> bool:
        return not (self._engine.is_stopword(lemma, self._language)
                    or self._engine.is_punct(lemma, self._language) or lemma in ("-PRON-", "be"))

    def __contains__(self, lemma: object) -> bool:
        if self._pieces is None:  # what lemmas holding ":" add: their pieces
            self._pieces = set()
            at = self._text.find(":")
            while at >= 0:
                i = bisect.bisect_right(self._view.ends, at)
                k = self._view.lemmas[i] if i < len(self._view.lemmas) else ""
                if ":" in k and self._qualifies(k):
                    self._pieces.update(k.split(":"))
                at = self._text.find(":", at + 1)
        return isinstance(lemma, str) and (
            (":" not in lemma and self._qualifies(lemma)) or lemma in self._pieces)


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
        return LazyArtifacts(text, self, language)

    def special_cases(self, language: str) -> dict:
        """The tokenizer's special cases ("cannot" -> "can", "not"), by exact text."""
        return self.nlp[language].tokenizer.rules

    def token_spans(self, text: str, language: str) -> list[list[int]]:
        """[start, length] of each token: spaCy's tokenizer, no pipeline, no Token objects."""
        self._served += 1
        if self._served > _RELOAD_EVERY:
            self.load()
        return self.nlp[language].make_doc(text).to_array([IDX, LENGTH]).tolist()

    def tokenize(self, text: str, language: str) -> tuple[list[str], list[int]]:
        """(token texts, their start offsets)."""
        spans = self.token_spans(text, language)
        return [text[i:i + n] for i, n in spans], [i for i, _ in spans]

    def process_batch(self, texts: Iterable[str], language: str, batch_size: int = 1,
                      n_process: int = 1, as_tuples: bool = False,
                      **kwargs) -> Iterator:
        for text in texts:
            yield text, self.process_text(text, language)

    # Presidio asks these for every lemma of a text: remembered, they cost a dict lookup.
    def is_stopword(self, word: str, language: str) -> bool:
        known = self._stop.get(word)
        if known is None:
            if len(self._stop) > _MEMO_LIMIT:
                self._stop.clear()
            known = self._stop[word] = self.nlp[language].vocab[word].is_stop
        return known

    def is_punct(self, word: str, language: str) -> bool:
        known = self._punct.get(word)
        if known is None:
            if len(self._punct) > _MEMO_LIMIT:
                self._punct.clear()
            known = self._punct[word] = self.nlp[language].vocab[word].is_punct
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
        return self.nlp_engine.process_text(text[:MAX_TEXT_CHARS], self.language)

    def token_view(self, text: str):
        """(tokens for the prefilter's context check, artifacts to hand to Presidio)."""
        text = text[:MAX_TEXT_CHARS]
        if isinstance(self.nlp_engine, BlankSpacyNlpEngine):
            return TokenView(text, self.nlp_engine, self.language), None
        artifacts = self.nlp_engine.process_text(text, self.language)  # a model: once
        view = TokenView.__new__(TokenView)
        view.ends = [i + len(t) for i, t in zip(artifacts.tokens_indices, artifacts.tokens)]
        view.lemmas, view.keywords = artifacts.lemmas, artifacts.keywords
        return view, artifacts

    def analyze(self, text: str, entities: Iterable[str],
                nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """Presidio on `text` (cut to MAX_TEXT_CHARS) for `entities`, at the threshold.

        Results are per entity type: recognizers, the context boost, the threshold
        and the de-duplication never mix types, so asking for fewer entities returns
        exactly the results of those entities (what makes the prefilter sound).
        """
        wanted = [e for e in entities if e in self.entities]
        if not wanted or not text:
            return []
        results = self.analyzer.analyze(text[:MAX_TEXT_CHARS], language=self.language,
                                        entities=wanted, score_threshold=self.threshold,
                                        nlp_artifacts=nlp_artifacts)
        return [r for r in results if r.entity_type in wanted]

    def analyze_all(self, text: str) -> list[RecognizerResult]:
        """Presidio alone: every configured entity, no prefilter (the reference)."""
        return self.analyze(text, self.entities)
