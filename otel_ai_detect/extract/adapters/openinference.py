"""Arize OpenInference: flattened llm.{input,output}_messages.{i}.message.* keys.

``input.value`` / ``output.value`` hold the raw request / response JSON. They give
Azure's filter results (kept verbatim in the response) and, when no message keys
exist, the content itself: an OpenAI chat request's ``messages`` or a response's
``choices``, else the whole payload as one ``raw`` part of unknown role.
GUARDRAIL spans (Bedrock ApplyGuardrail) carry the assessment in ``output.value``.
"""

from __future__ import annotations

from typing import Any

from otel_ai_detect import semconv as sc
from otel_ai_detect.extract import filters
from otel_ai_detect.extract.adapters.traceloop_legacy import field_str, group, tool_calls
from otel_ai_detect.extract.facts import Facts
from otel_ai_detect.extract.jsontext import Decoded, as_text, string_leaves
from otel_ai_detect.extract.messages import (
    Sink,
    openai_content,
    openai_message,
    openai_messages,
    role_of,
)
from otel_ai_detect.model import ASSISTANT, TOOL, UNKNOWN, Part

CONVENTION = "openinference"
_FILTER_HINTS = ("filter_results", "prompt_annotations")


def matches(view: Any) -> bool:
    return (sc.OPENINFERENCE_INPUT_MESSAGES_PREFIX in view.flat
            or sc.OPENINFERENCE_OUTPUT_MESSAGES_PREFIX in view.flat
            or sc.OPENINFERENCE_SPAN_KIND in view.attrs
            or sc.OPENINFERENCE_FINISH_REASON in view.attrs)


def extract(view: Any, inputs: Sink | None, outputs: Sink | None, facts: Facts) -> None:
    kind = view.text(sc.OPENINFERENCE_SPAN_KIND)
    if inputs is not None:
        flat = view.flat.get(sc.OPENINFERENCE_INPUT_MESSAGES_PREFIX)
        if flat:
            _flat_messages(flat, sc.OPENINFERENCE_INPUT_MESSAGES_PREFIX, inputs, UNKNOWN)
        else:
            _payload(view.decoded(sc.OPENINFERENCE_INPUT_VALUE), sc.OPENINFERENCE_INPUT_VALUE,
                     inputs, "messages")
    if outputs is not None:
        flat = view.flat.get(sc.OPENINFERENCE_OUTPUT_MESSAGES_PREFIX)
        if flat:
            _flat_messages(flat, sc.OPENINFERENCE_OUTPUT_MESSAGES_PREFIX, outputs, ASSISTANT)
        else:
            _payload(view.decoded(sc.OPENINFERENCE_OUTPUT_VALUE), sc.OPENINFERENCE_OUTPUT_VALUE,
                     outputs, "choices")
    reason = view.text(sc.OPENINFERENCE_FINISH_REASON)
    if reason:
        facts.reasons.append(reason)
    _verdicts(view, kind, facts)


def _flat_messages(entries: list[tuple[str, Any]], base: str, sink: Sink, default_role: str) -> None:
    for index, fields in group(entries):
        # Strip the "message." level: {"role": v, "content": v, "tool_calls.0.tool_call...": v}
        fields = {k[len(sc.OPENINFERENCE_MESSAGE):]: v for k, v in fields.items()
                  if k.startswith(sc.OPENINFERENCE_MESSAGE)}
        path = f"{base}{index}.{sc.OPENINFERENCE_MESSAGE}"
        role = role_of(field_str(fields, sc.FLAT_ROLE), default_role)
        parts: list[Part] = []
        content = field_str(fields, sc.FLAT_CONTENT)
        if content and content != sc.OPENINFERENCE_REDACTED:
            parts.append(Part("text", content, path + sc.FLAT_CONTENT))
        for field in sorted((f for f in fields if f.startswith(sc.OPENINFERENCE_CONTENTS)),
                            key=_content_index):
            text = field_str(fields, field)
            if text == sc.OPENINFERENCE_REDACTED:
                continue
            if text and field.endswith(sc.OPENINFERENCE_CONTENT_TEXT):
                parts.append(Part("text", text, path + field))
            elif text and field.endswith(sc.OPENINFERENCE_CONTENT_IMAGE_URL) \
                    and not text.startswith("data:"):
                parts.append(Part("uri", text, path + field))
        parts += tool_calls(fields, sc.FLAT_TOOL_CALLS, sc.OPENINFERENCE_TOOL_NAME,
                            sc.OPENINFERENCE_TOOL_ARGUMENTS, path)
        if role == TOOL or sc.FLAT_TOOL_CALL_ID in fields:
            role = TOOL
            parts = [Part("tool_call_response", p.text, p.path) if p.kind == "text" else p
                     for p in parts]
        sink.add(role, parts)


def _content_index(field: str) -> int:
    """``contents.10.message_content.text`` -> 10 (numeric order, not text order)."""
    index = field[len(sc.OPENINFERENCE_CONTENTS):].partition(".")[0]
    return int(index) if index.isdigit() else -1


def _payload(value: Decoded | None, path: str, sink: Sink, chat_key: str) -> None:
    """Content from a raw request/response payload when no message keys exist."""
    if value is None or value.text == sc.OPENINFERENCE_REDACTED:
        return
    if not value.ok:  # not JSON (e.g. text/plain): the text itself
        sink.add(UNKNOWN, [Part("raw", value.text, path)] if value.text else [])
        return
    payload = value.value
    chat = payload.get(chat_key) if isinstance(payload, dict) else None
    if chat_key == "messages" and isinstance(chat, list):
        openai_messages(chat, f"{path}.messages", sink, UNKNOWN)
        return
    if chat_key == "choices" and isinstance(chat, list):
        for i, choice in enumerate(chat):
            cpath = f"{path}.choices[{i}]"
            if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                sink.add(*openai_message(choice["message"], f"{cpath}.message", ASSISTANT))
            elif isinstance(choice, dict) and "text" in choice:  # completions API
                sink.add(ASSISTANT, openai_content(choice["text"], f"{cpath}.text"))
        return
    leaves = [payload] if isinstance(payload, str) else string_leaves(payload)
    text = "\n".join(leaves) if leaves else as_text(payload)
    sink.add(UNKNOWN, [Part("raw", text, path)] if text else [])


def _verdicts(view: Any, kind: str | None, facts: Facts) -> None:
    raw = view.text(sc.OPENINFERENCE_OUTPUT_VALUE)
    if not raw:
        return
    if kind == sc.OPENINFERENCE_KIND_GUARDRAIL:
        decoded = view.decoded(sc.OPENINFERENCE_OUTPUT_VALUE)
        if decoded.ok and decoded.value is not None:
            filters.guardrail_summary(decoded.value, _guardrail_target(view),
                                      sc.OPENINFERENCE_OUTPUT_VALUE, facts.verdicts)
    elif any(hint in raw for hint in _FILTER_HINTS):  # decode only when it can matter
        decoded = view.decoded(sc.OPENINFERENCE_OUTPUT_VALUE)
        if decoded.ok:
            filters.azure_response(decoded.value, sc.OPENINFERENCE_OUTPUT_VALUE, facts.verdicts)


def _guardrail_target(view: Any) -> str:
    """ApplyGuardrail's request says whether it checked the INPUT or the OUTPUT."""
    decoded = view.decoded(sc.OPENINFERENCE_INPUT_VALUE)
    value = decoded.value if decoded is not None and decoded.ok else None
    source = value.get("source") if isinstance(value, dict) else None
    return filters.COMPLETION if source == "OUTPUT" else filters.PROMPT
