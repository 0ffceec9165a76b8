"""AI.Jailbreak.BlockedAttempt / AI.Jailbreak.DetectedAttempt: jailbreaks in the user's input.

Looks at every user-role message of the call, not only the last turn (an
attack in turn 1 of 3 is still an attack: NeMo-Guardrails #1413), and at
content whose role cannot be told. System prompts, earlier assistant turns and
tool results are not looked at: instructions hidden in documents or tool
output are indirect prompt injection, another rule's business.

Per user text: one linear-time scan of the phrase families
(`jailbreak_rules`, data in ``data/jailbreak_phrases.txt``), decoding of
hinted payloads (`jailbreak_decode`: base64, hex, rot13, leetspeak, hidden
Unicode) and a second look at what they hide, then a score 0..1. An optional
local classifier (`Classifier`) can add its own score. The provider's own
verdict and what happened to the call (`provider_verdict`) then decide the
rule: found and blocked -> BlockedAttempt; found and not blocked ->
DetectedAttempt; a provider jailbreak verdict alone -> Blocked if it filtered,
Detected if it only detected. A block without any jailbreak signal (violence
filtered) is not a jailbreak. At most one finding per call: the strongest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from otel_ai_detect.config_types import JailbreakConfig
from otel_ai_detect.detectors import jailbreak_decode, provider_verdict
from otel_ai_detect.detectors.base import texts
from otel_ai_detect.detectors.jailbreak_classifier import load_classifier
from otel_ai_detect.detectors.jailbreak_rules import (ATTACK, DAMPENER, Phrases, Ruleset,
                                                     load_builtin)
from otel_ai_detect.detectors.masking import evidence_text, short_hash
from otel_ai_detect.model import SOURCE_INPUT, Conversation, FilterVerdict, Finding

RULE_BLOCKED = "AI.Jailbreak.BlockedAttempt"
RULE_DETECTED = "AI.Jailbreak.DetectedAttempt"
HEAD = TAIL = 65_536     # characters analysed per text: the head and tail of longer ones
EXCERPT_LIMIT = 120      # characters of the matched phrase shown in the evidence
EVIDENCE_LIMIT = 400
DECODED_BONUS = 0.1      # hiding an attack phrase in an encoding is itself intent (AML.T0068)
CLASSIFIER_WEIGHT = 0.6  # a classifier alone at 1.0 gives 0.6: above the default threshold
UNION_FACTOR = 0.9       # families spread over several user turns count a little less
VERDICT_FILTERED, VERDICT_DETECTED = 0.95, 0.85  # confidence of a provider verdict alone
_NOT_USER_ROLES = frozenset(("system", "developer", "assistant", "tool", "function", "ipython",
                             "model"))
_NOT_USER_KINDS = frozenset(("tool_call", "tool_call_response", "reasoning"))


@runtime_checkable
class Classifier(Protocol):
    """An optional model: the probability 0..1 that `text` is a jailbreak / prompt injection."""

    def score(self, text: str) -> float: ...


@dataclass(slots=True)
class Analysis:
    """What one user text gave: its score, the families (name -> weight) and the excerpt."""

    score: float
    path: str
    families: dict[str, float] = field(default_factory=dict)
    excerpt: str = ""
    decoded: str | None = None   # "base64", "leetspeak", ... when the decisive phrase was hidden
    classifier: float | None = None
    turns: int = 1               # user texts whose families were combined into this score


def cap(text: str) -> str:
    """At most HEAD + TAIL characters: the head and the tail of a longer text."""
    if len(text) <= HEAD + TAIL:
        return text
    return text[:HEAD] + "\n" + text[-TAIL:]


class JailbreakDetector:
    """Finds jailbreak attempts in user input and says whether the provider blocked them."""

    name: ClassVar[str] = "jailbreak"

    def __init__(self, config: JailbreakConfig, *, classifier: Classifier | None = None,
                 phrases: Phrases | None = None) -> None:
        self.config = config
        self.threshold = config.threshold
        # RE2 set, not Hyperscan: for these gap-and-separator phrases it scans ~4x faster
        # and compiles in 30 ms instead of seconds (docs/detector-jailbreak.md).
        self.rules = Ruleset(phrases or load_builtin(), jailbreak_decode.HINTS, engine="re2")
        if classifier is None and config.classifier_model:
            classifier = load_classifier(config.classifier_model)
        self.classifier = classifier

    # -- per text ------------------------------------------------------------------

    def analyse(self, text: str, path: str = "") -> Analysis:
        """Score one user text, its hidden payloads included."""
        text = cap(text)
        rules = self.rules
        hits = rules.scan(text)
        if not hits.families and not hits.hints and self.classifier is None and text.isascii():
            return Analysis(0.0, path, {})  # the common case: nothing fired, nothing hidden
        # family -> (weight, pattern id, text it matched in, how that text was decoded)
        found = {f: (w, pid, text, None) for f, (w, pid) in hits.families.items()}
        if hits.hints or not text.isascii():
            for variant in jailbreak_decode.variants(text, hits.hints):
                inner = rules.scan(variant.text)
                for f, (w, pid) in inner.families.items():
                    if rules.kind[f] == ATTACK and w > found.get(f, (0.0,))[0]:
                        found[f] = (w, pid, variant.text, variant.how)
                    elif f not in found:
                        found[f] = (w, pid, variant.text, variant.how)
        result = Analysis(0.0, path, {f: v[0] for f, v in found.items()})
        attacks = [(v[0], f) for f, v in found.items() if rules.kind[f] == ATTACK]
        if attacks:
            _, top = max(attacks)
            _, pid, source_text, result.decoded = found[top]
            result.excerpt = rules.excerpt(source_text, pid)
        if self.classifier is not None:
            result.classifier = min(1.0, max(0.0, float(self.classifier.score(text))))
        result.score = self._score(result)
        return result

    def _score(self, analysis: Analysis, extra: dict[str, float] | None = None) -> float:
        """Phrase score (+ `extra` families, e.g. dampeners of other turns), decoding bonus,
        classifier."""
        score = self.rules.score({**analysis.families, **extra} if extra else analysis.families)
        if analysis.decoded is not None and score > 0:
            score = min(0.99, score + DECODED_BONUS)
        if analysis.classifier is not None:
            score = 1 - (1 - score) * (1 - CLASSIFIER_WEIGHT * analysis.classifier)
        return round(score, 4)

    # -- per call ------------------------------------------------------------------

    def detect(self, conv: Conversation) -> list[Finding]:
        if not self.config.enabled:
            return []
        return self._decide(conv, self.best(conv))

    def best(self, conv: Conversation) -> Analysis | None:
        """The highest-scoring analysis of the call's user texts (or of their union); None
        when the call has no user text. The threshold is not applied here."""
        analyses = [self.analyse(part.text, part.path) for source, role, part in texts(conv)
                    if source == SOURCE_INPUT and role not in _NOT_USER_ROLES
                    and part.kind not in _NOT_USER_KINDS]
        if not analyses:
            return None
        merged: dict[str, float] = {}
        strongest: dict[str, str] = {}  # family -> path of the text where it was strongest
        for analysis in analyses:
            for f, w in analysis.families.items():
                if w > merged.get(f, 0.0):
                    merged[f], strongest[f] = w, analysis.path
        if len(analyses) > 1:
            # Talk about attacks in one turn ("what is prompt injection?") frames the quote
            # of one in the next ("so is 'ignore previous instructions' an example?").
            damp = {f: w for f, w in merged.items() if self.rules.kind[f] == DAMPENER}
            if damp:
                for analysis in analyses:
                    analysis.score = self._score(analysis, damp)
        best = max(analyses, key=lambda a: a.score)
        if len(analyses) > 1:
            union = round(UNION_FACTOR * self.rules.score(merged), 4)
            if union > best.score:
                top = max(self.rules.attack_families(merged), key=merged.__getitem__)
                at = next(a for a in analyses if a.path == strongest[top])
                best = Analysis(union, at.path, merged, at.excerpt, at.decoded, at.classifier,
                                turns=len(analyses))
        return best

    def _decide(self, conv: Conversation, ours: Analysis | None) -> list[Finding]:
        verdict = provider_verdict.jailbreak_verdict(conv)
        found = ours is not None and ours.score >= self.threshold
        if not found and verdict is None:
            return []
        what = provider_verdict.outcome(conv)
        notes: list[str] = []
        if found:
            rule = RULE_BLOCKED if what.blocked else RULE_DETECTED
            confidence = ours.score
            signal = what.signal
            if verdict is not None:
                confidence = max(confidence, _verdict_confidence(verdict))
                if not signal.startswith("blocked: provider filter " + verdict.category):
                    notes.append(_verdict_text(verdict))
            path, fingerprint = ours.path, short_hash(ours.excerpt.casefold() or ours.path)
        else:
            rule = RULE_BLOCKED if verdict.filtered else RULE_DETECTED
            confidence = _verdict_confidence(verdict)
            signal = _verdict_text(verdict)
            if not what.signal.startswith("blocked: provider filter " + verdict.category):
                notes.append(f"call: {what.signal}")
            path = verdict.path
            fingerprint = short_hash(f"verdict:{verdict.category}:{verdict.filtered}")
        return [Finding(rule=rule, detector=self.name, confidence=round(confidence, 4),
                        source=SOURCE_INPUT, path=path,
                        evidence=self._evidence(ours if found else None, signal, notes),
                        fingerprint=fingerprint)]

    def _evidence(self, ours: Analysis | None, signal: str, notes: list[str]) -> str:
        pieces: list[str] = []
        if ours is not None:
            attacks = sorted(self.rules.attack_families(ours.families),
                             key=lambda f: -ours.families[f])
            pieces.append("families: " + ", ".join(attacks))
            if ours.excerpt:
                hidden = f" (decoded from {ours.decoded})" if ours.decoded else ""
                pieces.append(f'matched "{evidence_text(ours.excerpt, EXCERPT_LIMIT)}"{hidden}')
            if ours.turns > 1:
                pieces.append(f"combined over {ours.turns} user messages")
            if ours.classifier is not None:
                pieces.append(f"classifier {ours.classifier:.2f}")
        pieces.append(signal)
        pieces.extend(notes)
        return evidence_text("; ".join(pieces), EVIDENCE_LIMIT)


def _verdict_confidence(verdict: FilterVerdict) -> float:
    return VERDICT_FILTERED if verdict.filtered else VERDICT_DETECTED


def _verdict_text(verdict: FilterVerdict) -> str:
    state = "filtered" if verdict.filtered else "not filtered"
    return f"provider verdict: {verdict.category} detected, {state}"
