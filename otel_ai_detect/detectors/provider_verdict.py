"""What the provider or a guardrail did with a call: blocked, and did it see a jailbreak?

This decides between AI.Jailbreak.BlockedAttempt and AI.Jailbreak.DetectedAttempt
(ALERTS.md). It reads only normalized facts of the `Conversation`
(genai-conventions.md section 6 lists where they come from):

- a block: finish reason ``content_filter`` (and the other providers' names for
  a safety stop), an error whose type or message names the content policy
  (Azure's 400 "content management policy", ``'code': 'content_filter'``,
  ``ResponsibleAIPolicyViolation``, a guardrail), a `FilterVerdict` with
  ``filtered=True``, or a guardrail verdict that intervened;
- the provider's own jailbreak verdict: Azure Prompt Shields ``jailbreak``
  (``{filtered, detected}``), Bedrock ``PROMPT_ATTACK`` (mapped to
  ``jailbreak`` by the extractor), a guardrail risk category ``jailbreak`` or
  ``prompt_injection``.

``indirect_attack`` is *not* a jailbreak verdict: Azure raises it for
instructions inside documents and tool results, which are indirect prompt
injection, not the user's own attempt. It still counts as a block when it was
filtered, like any other filtered category.
"""

from __future__ import annotations

from dataclasses import dataclass

from otel_ai_detect.model import Conversation, FilterVerdict

# Finish reasons that mean a safety system stopped the output: OpenAI/Azure, Bedrock
# (stopReason), Gemini (SAFETY, PROHIBITED_CONTENT, BLOCKLIST, SPII), Anthropic (refusal:
# its streaming classifier intervened). Compared lower-case.
BLOCK_FINISH_REASONS = frozenset(("content_filter", "content_filtered", "guardrail_intervened",
                                  "safety", "prohibited_content", "blocklist", "spii",
                                  "refusal"))
# Error type / message fragments that name a content-policy block (lower-case).
POLICY_ERROR_MARKERS = ("content management policy", "content_filter", "content filter",
                        "responsibleaipolicyviolation", "content_policy_violation",
                        "guardrail")
JAILBREAK_CATEGORIES = frozenset(("jailbreak", "prompt_attack", "prompt_injection"))
_ERROR_SCAN = 4096  # characters of each error message looked at


@dataclass(frozen=True, slots=True)
class Outcome:
    """Whether the call was blocked, and the signal that says so (for the evidence)."""

    blocked: bool
    signal: str


def short_type(error_type: str) -> str:
    """``<class 'openai.BadRequestError'>`` -> ``BadRequestError``: readable in the evidence."""
    name = error_type.strip().removeprefix("<class ").strip("'\"<> ")
    return name.rsplit(".", 1)[-1][:80] or "error"


def _policy_error(conv: Conversation) -> str | None:
    for text in (conv.error_type or "", *conv.error_messages):
        lowered = text[:_ERROR_SCAN].lower()
        for marker in POLICY_ERROR_MARKERS:
            if marker in lowered:
                return marker
    return None


def is_jailbreak(verdict: FilterVerdict) -> bool:
    return verdict.category.lower() in JAILBREAK_CATEGORIES and bool(
        verdict.detected or verdict.filtered)


def jailbreak_verdict(conv: Conversation) -> FilterVerdict | None:
    """The provider's jailbreak verdict, a filtered one first; None when there is none."""
    found = [v for v in conv.provider_filter if is_jailbreak(v)]
    if not found:
        return None
    return max(found, key=lambda v: (v.filtered, v.target == "prompt"))


def outcome(conv: Conversation) -> Outcome:
    """Blocked or not, with the strongest signal first."""
    verdicts = conv.provider_filter
    for v in verdicts:
        if v.filtered and is_jailbreak(v):
            return Outcome(True, f"blocked: provider filter {v.category} filtered the {v.target}")
    for v in verdicts:
        if v.filtered and v.category == "guardrail":
            return Outcome(True, f"blocked: guardrail intervened on the {v.target}")
    reasons = [r for r in conv.finish_reasons if r.lower() in BLOCK_FINISH_REASONS]
    if reasons:
        return Outcome(True, f"blocked: finish_reason {reasons[0]}")
    marker = _policy_error(conv)
    if marker is not None:
        kind = f" ({short_type(conv.error_type)})" if conv.error_type else ""
        return Outcome(True, f"blocked: content-policy error{kind} naming '{marker}'")
    for target in ("prompt", "completion"):
        for v in verdicts:
            if v.filtered and v.target == target:
                return Outcome(True, f"blocked: provider filter {v.category} filtered the {target}")
    if conv.outputs or conv.finish_reasons:
        return Outcome(False, "completion produced")
    if conv.error_type or conv.error_messages:
        kind = short_type(conv.error_type) if conv.error_type else "error"
        return Outcome(False, f"no content-policy block recorded: call failed ({kind})")
    return Outcome(False, "no block or completion recorded")
