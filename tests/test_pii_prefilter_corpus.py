"""The prefilter never drops what Presidio alone would report: a proof by corpus.

For every text of tests/testdata/pii_corpus/ (model answers with planted
personal data of every default entity, hard benign text, other scripts and odd
separators) and for a few thousand seeded random strings built from the
characters the patterns care about, the detector's path (prefilter, then
Presidio for the entities it let through) returns exactly Presidio's results
on the whole text for every entity: same types, spans and scores. Checked at
the default threshold and at lower ones, where weak patterns and context words
come into play.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
import regex

from otel_ai_detect.config_types import DEFAULT_PII_ENTITIES, SensitiveDataConfig
from otel_ai_detect.detectors import pii_prefilter
from otel_ai_detect.detectors.pii_prefilter import ASCII_FOLDS, Prefilter, plan
from otel_ai_detect.detectors.presidio_engine import prepare
from otel_ai_detect.detectors.sensitive_data import SensitiveDataDetector

CORPUS = Path(__file__).parent / "testdata" / "pii_corpus"
THRESHOLDS = (0.5, 0.35, 0.0)


def corpus() -> list[dict]:
    rows = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return rows


def fuzz_texts(count: int, seed: int = 7) -> list[str]:
    """Short strings dense in digits, separators, context words and look-alike characters."""
    rng = random.Random(seed)
    pieces = ["4111", "1111", "5500", "0000", "9", "91", "912", "70", "123", "45", "6789", "00",
              "000", "666", "1", "3", "20", "7946", "0958", "+44", "+1", "(212)", "555", "0123",
              " ", " ", "-", ".", "/", "(", ")", "x", "\u00a0", "\u2013", "\u3000", ":", ",",
              "DE", "GB", "de", "89", "3704", "0044", "0532", "0130", "bc1", "qar0srrr7xfkvy5l6",
              "@", "a", "b.co", ".com", "mail", "j.d+x", "\u212a", "\u017f", "\u0130", "\u0664",
              "\uff14", "\u0967", "phone", "number", "call", "ssn", "card", "iban", "tax", "tin",
              "account", "passport", "nhs", "wallet", "us", "\n", "A", "Z", "1BoatSLRHtKNngkd",
              "XEeobR76b53LETtpyT", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
              # words between a context word and a number: stop words, sure keywords,
              # special cases, punctuation, line breaks
              " the ", " of ", " and ", " a ", " users ", " report ", " 2024 ", " cannot ",
              " gonna ", ", ", ". ", "\n\n", " recall ", "call:", " phone:", "#",
              "\udc00"]  # a lone surrogate, as text cut from truncated JSON holds
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(3, 24))) for _ in range(count)]


@pytest.fixture(scope="module", params=THRESHOLDS, ids=lambda t: f"threshold-{t}")
def detector(request) -> SensitiveDataDetector:
    return SensitiveDataDetector(SensitiveDataConfig(score_threshold=request.param))


def results(found) -> list[tuple]:
    return sorted((r.entity_type, r.start, r.end, round(r.score, 9)) for r in found)


def mismatches(detector: SensitiveDataDetector, texts: list[str]) -> list[str]:
    bad = []
    for text in texts:
        ours, alone = results(detector.scan(text)), results(detector.engine.analyze_all(text))
        if ours != alone:
            bad.append(f"{text!r}: prefilter path {ours} != Presidio alone {alone}")
    return bad


def test_the_prefilter_path_finds_exactly_what_presidio_alone_finds_on_the_corpus(detector):
    assert mismatches(detector, [row["text"] for row in corpus()]) == []


def test_the_prefilter_path_finds_exactly_what_presidio_alone_finds_on_random_strings(detector):
    assert mismatches(detector, fuzz_texts(3000)) == []


def test_the_corpus_holds_every_default_entity_in_many_texts():
    detector = SensitiveDataDetector(SensitiveDataConfig(score_threshold=0.0))
    seen = Counter(r.entity_type for row in corpus()
                   for r in detector.engine.analyze_all(row["text"]))
    assert {e: seen[e] for e in DEFAULT_PII_ENTITIES if seen[e] < 20} == {}


def test_the_prefilter_lets_presidio_skip_benign_text_at_the_default_threshold():
    detector = SensitiveDataDetector(SensitiveDataConfig())
    prose = ("Here is the summary you asked for. Revenue grew 12% in 2023 to $1,204,332, the "
             "team shipped 3.4.1 on 2024-03-15 and closed order #12345678.")
    assert detector.prefilter.entities(prose) == set()
    # commit ids and UUIDs may look like wallets, IBANs or card digits (cheap regex
    # recognizers), but never ask for the phone recognizer (~70% of Presidio's time)
    hexes = [row["text"] for row in corpus() if row["kind"] == "benign-10"]
    assert hexes and not any("PHONE_NUMBER" in detector.prefilter.entities(t) for t in hexes)


def test_the_ascii_folds_are_every_non_ascii_character_presidio_ignorecase_reads_as_a_letter():
    letter = regex.compile(r"[a-z]", regex.IGNORECASE)
    folds = {chr(c): chr(c).casefold()[0] for c in range(0x80, 0x110000)
             if letter.fullmatch(chr(c))}
    assert set(folds) == set(ASCII_FOLDS)
    assert all(ASCII_FOLDS[c].lower() == folds[c].lower() or c == "\u0130" for c in folds)


def test_a_presidio_pattern_that_was_not_reviewed_makes_its_entity_run_on_every_text(
        monkeypatch):
    detector = SensitiveDataDetector(SensitiveDataConfig())
    monkeypatch.setattr(pii_prefilter, "REVIEWED",
                        {k: v for k, v in pii_prefilter.REVIEWED.items() if "@" not in k})
    changed = Prefilter(plan(detector.engine), detector.engine)
    assert changed.plan.always == {"EMAIL_ADDRESS"}
    assert "EMAIL_ADDRESS" in changed.entities("no personal data here")


def test_entities_presidio_can_never_score_at_the_threshold_are_known_and_never_analysed():
    detector = SensitiveDataDetector(SensitiveDataConfig(
        entities=DEFAULT_PII_ENTITIES + ("US_BANK_NUMBER", "US_PASSPORT")))
    # Presidio gives US_BANK_NUMBER 0.05 and US_PASSPORT 0.05/0.1, at most +0.35 with context.
    assert detector.unreachable_entities == {"US_BANK_NUMBER", "US_PASSPORT"}
    assert detector.prefilter.entities("bank account 123456789012, passport 912345678") \
        <= {"UK_NHS", "US_ITIN", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD"}


def test_the_phone_shape_needs_as_few_digits_as_the_shortest_valid_number():
    # Germany (a default region) has valid 4-digit numbers, e.g. the pager number 1641.
    detector = SensitiveDataDetector(SensitiveDataConfig())
    shape = next(s for s in detector.prefilter.shapes if s.entity == "PHONE_NUMBER")
    assert shape.pattern.endswith("{3}")
    assert results(detector.engine.analyze_all("phone 1641"))[0][:3] == ("PHONE_NUMBER", 6, 10)


def test_our_nlp_artifacts_hold_what_presidio_computes_from_the_same_tokens():
    from presidio_analyzer.nlp_engine import NlpArtifacts

    detector = SensitiveDataDetector(SensitiveDataConfig())
    engine = detector.engine.nlp_engine
    for text in [row["text"] for row in corpus()] + fuzz_texts(300, seed=3):
        text = prepare(text)
        ours = detector.engine.artifacts(text)
        doc = engine.nlp["en"].make_doc(text)
        lemmas = [t.text.lower() for t in doc]
        keywords = set(NlpArtifacts.set_keywords(engine, lemmas, "en"))
        assert list(ours.tokens) == [t.text for t in doc]
        assert ours.tokens_indices == [t.idx for t in doc]
        assert list(ours.lemmas) == lemmas
        assert [lemma in ours.keywords for lemma in lemmas] == [
            lemma in keywords for lemma in lemmas], text


def test_our_context_boost_scores_as_presidio_does_with_its_own_artifacts():
    # Presidio's enhancer scanning spaCy tokens and a keyword list, against ours
    # (bisection, lazy artifacts) on the same text: the same results and scores.
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NlpArtifacts

    detector = SensitiveDataDetector(SensitiveDataConfig(score_threshold=0.0))
    engine = detector.engine
    stock = AnalyzerEngine(registry=engine.analyzer.registry, nlp_engine=engine.nlp_engine,
                           supported_languages=["en"],
                           context_aware_enhancer=LemmaContextAwareEnhancer())

    def plain(text: str) -> NlpArtifacts:
        doc = engine.nlp_engine.nlp["en"].make_doc(text)
        return NlpArtifacts(entities=[], tokens=doc, tokens_indices=[t.idx for t in doc],
                            lemmas=[t.text.lower() for t in doc],
                            nlp_engine=engine.nlp_engine, language="en")

    for text in [row["text"] for row in corpus()][::3]:
        theirs = stock.analyze(text, language="en", entities=list(engine.entities),
                               score_threshold=0.0, nlp_artifacts=plain(text))
        assert results(engine.analyze_all(text)) == results(theirs), text


def test_a_chunk_we_count_as_a_sure_keyword_is_one_token_and_a_keyword():
    from otel_ai_detect.detectors.pii_context import _Chunks

    detector = SensitiveDataDetector(SensitiveDataConfig())
    for text in [row["text"] for row in corpus()] + fuzz_texts(300, seed=5):
        text = prepare(text)
        chunks, artifacts = _Chunks(text, detector.engine), detector.engine.artifacts(text)
        starts = artifacts.tokens_indices
        for k, (start, end) in enumerate(chunks._spans):
            if chunks._is_sure(k):
                i = starts.index(start)
                assert artifacts.ends[i] == end and artifacts.lemmas[i] in artifacts.keywords
