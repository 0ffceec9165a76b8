"""Provider and guardrail verdicts -> `FilterVerdict`.

Sources (genai-conventions.md §6):
- Azure OpenAI ``content_filter_results`` ``{category: {filtered, detected?|severity?}}``,
  per prompt (``prompt_filter_results[]``) and per choice;
- the Azure 400 body that openai-python 2.x puts in the error text as a Python repr
  (``'jailbreak': {'filtered': True, 'detected': True}``), read by a linear scan;
- AWS Bedrock guardrails: Traceloop's summaries (``{sensitive, topic, content, words}``,
  written only when the guardrail intervened), ApplyGuardrail/Converse assessments
  (``action: GUARDRAIL_INTERVENED``, filters with ``action: BLOCKED``);
- OpenLIT ``guard.evaluation`` span events.

Only verdicts where something happened (filtered, or detected) are kept: "safe"
annotations on every call would be noise. ``detected`` comes from the ``detected``
flag, else from ``severity`` (anything but ``safe`` counts as detected).
"""

from __future__ import annotations

from typing import Any

from otel_ai_detect.model import FilterVerdict

PROMPT, COMPLETION, GUARDRAIL = "prompt", "completion", "guardrail"
_BEDROCK_CATEGORY = {"PROMPT_ATTACK": "jailbreak"}
_BLOCK_ACTIONS = frozenset(("block", "blocked", "deny", "denied", "reject", "rejected",
                            "guardrail_intervened", "intervened"))
_PASS_ACTIONS = frozenset(("", "allow", "allowed", "pass", "passed", "none", "ok"))
_MAX_ERROR_CATEGORIES = 64


def azure_results(results: Any, target: str, path: str, out: list[FilterVerdict]) -> None:
    """One ``content_filter_results`` object."""
    if not isinstance(results, dict):
        return
    for category, entry in results.items():
        if not isinstance(entry, dict) or "filtered" not in entry:
            continue  # e.g. {"error": {...}} when the filter itself failed
        filtered = entry.get("filtered") is True
        detected = entry.get("detected")
        if not isinstance(detected, bool):
            severity = entry.get("severity")
            detected = severity != "safe" if isinstance(severity, str) else None
        if filtered or detected:
            out.append(FilterVerdict(str(category), filtered, detected, target, f"{path}.{category}"))


def azure_prompt_results(value: Any, path: str, out: list[FilterVerdict]) -> None:
    """``prompt_filter_results`` (or the older ``prompt_annotations``): one entry per prompt."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return
    for k, item in enumerate(value):
        if isinstance(item, dict):
            azure_results(item.get("content_filter_results"), PROMPT,
                          f"{path}[{k}].content_filter_results", out)


def azure_response(value: Any, path: str, out: list[FilterVerdict]) -> None:
    """A raw chat completion response (OpenInference ``output.value``)."""
    if not isinstance(value, dict):
        return
    for key in ("prompt_filter_results", "prompt_annotations"):
        if key in value:
            azure_prompt_results(value[key], f"{path}.{key}", out)
    choices = value.get("choices")
    if isinstance(choices, list):
        for i, choice in enumerate(choices):
            if isinstance(choice, dict):
                azure_results(choice.get("content_filter_results"), COMPLETION,
                              f"{path}.choices[{i}].content_filter_results", out)


def guardrail_summary(value: Any, target: str, path: str, out: list[FilterVerdict]) -> None:
    """A Bedrock guardrail record: a Traceloop summary, an assessment, or a list of them."""
    if isinstance(value, str):
        if value.strip().lower() in _BLOCK_ACTIONS:
            out.append(FilterVerdict(GUARDRAIL, True, True, target, path))
        return
    items = value if isinstance(value, list) else [value]
    intervened = False
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        ipath = f"{path}[{k}]" if isinstance(value, list) else path
        if "action" in item or "assessments" in item:
            intervened |= _bedrock_assessment(item, target, ipath, out)
        else:
            # Traceloop writes the summary only when the guardrail intervened.
            intervened = True
            for kind in item.get("content") or ():
                if isinstance(kind, str):
                    category = _BEDROCK_CATEGORY.get(kind.upper(), kind.lower())
                    out.append(FilterVerdict(category, True, True, target, f"{ipath}.content"))
    if intervened:
        out.append(FilterVerdict(GUARDRAIL, True, True, target, path))


def _bedrock_assessment(item: dict, target: str, path: str, out: list[FilterVerdict]) -> bool:
    """ApplyGuardrail / Converse trace: content filters with their own action."""
    action = item.get("action")
    intervened = isinstance(action, str) and action.lower() in _BLOCK_ACTIONS
    assessments = item.get("assessments")
    for a, assessment in enumerate(assessments if isinstance(assessments, list) else ()):
        policy = assessment.get("contentPolicy") if isinstance(assessment, dict) else None
        filters = policy.get("filters") if isinstance(policy, dict) else None
        for f, entry in enumerate(filters if isinstance(filters, list) else ()):
            if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
                continue
            blocked = str(entry.get("action", "")).upper() == "BLOCKED"
            intervened |= blocked
            category = _BEDROCK_CATEGORY.get(entry["type"].upper(), entry["type"].lower())
            out.append(FilterVerdict(category, blocked, True, target,
                                     f"{path}.assessments[{a}].contentPolicy.filters[{f}]"))
    return intervened


def guard_event(action: str | None, phase: str | None, path: str,
                out: list[FilterVerdict]) -> None:
    """An OpenLIT ``guard.evaluation`` event: ``guard.action`` says what the guard did."""
    verb = (action or "").strip().lower()
    if verb in _PASS_ACTIONS:
        return
    where = (phase or "").lower()
    target = COMPLETION if any(w in where for w in ("out", "post", "response")) else PROMPT
    out.append(FilterVerdict(GUARDRAIL, verb in _BLOCK_ACTIONS, True, target, path))


def error_text(text: str, path: str, out: list[FilterVerdict]) -> None:
    """Azure verdicts inside error text (a Python repr or JSON of the 400 body).

    Linear: `str.find` for the category names and each category's closing brace.
    The 400 is about the prompt (``innererror.content_filter_result``).
    """
    start = text.find("content_filter_result")
    if start == -1:
        return
    pos = text.find("{", start)
    for _ in range(_MAX_ERROR_CATEGORIES):
        if pos == -1:
            return
        key_start = _next_quote(text, pos + 1)
        close = text.find("}", pos + 1)
        if key_start == -1 or (close != -1 and close < key_start):
            return  # end of the category object
        quote = text[key_start]
        key_end = text.find(quote, key_start + 1)
        body_start = text.find("{", key_end)
        body_end = text.find("}", body_start)
        if key_end == -1 or body_start == -1 or body_end == -1:
            return
        entry = _flat_entry(text[body_start + 1:body_end])
        category = text[key_start + 1:key_end]
        azure_results({category: entry}, PROMPT, f"{path}.content_filter_result", out)
        pos = body_end


def _next_quote(text: str, pos: int) -> int:
    single, double = text.find("'", pos), text.find('"', pos)
    if single == -1 or (double != -1 and double < single):
        return double
    return single


def _flat_entry(body: str) -> dict[str, Any]:
    """``'filtered': True, 'severity': 'safe'`` -> {"filtered": True, "severity": "safe"}."""
    entry: dict[str, Any] = {}
    for item in body.split(",", 8):
        name, _, raw = item.partition(":")
        name, raw = name.strip().strip("'\""), raw.strip().strip("'\"")
        if raw in ("True", "true", "False", "false"):
            entry[name] = raw in ("True", "true")
        elif name:
            entry[name] = raw
    return entry
