"""Traceloop / OpenLLMetry <= 0.54 flattened attributes.

``gen_ai.prompt.{i}.role|content|tool_call_id|tool_calls.{j}.name|arguments`` and
``gen_ai.completion.{i}.role|content|finish_reason|content_filter_results|tool_calls...``.
``gen_ai.prompt.prompt_filter_results`` is not an index (read in span.py), and content
replaced by the literal ``FILTERED`` is a marker, not text.
"""

from __future__ import annotations

from typing import Any

from otel_ai_detect import semconv as sc
from otel_ai_detect.extract import filters
from otel_ai_detect.extract.facts import Facts
from otel_ai_detect.extract.jsontext import any_value_str, loads
from otel_ai_detect.extract.messages import Sink, openai_content, role_of
from otel_ai_detect.model import ASSISTANT, TOOL, UNKNOWN, USER, Part

CONVENTION = "traceloop-legacy"
_LEGACY_USER_FIELD = "user"  # traceloop-bedrock wrote gen_ai.prompt.0.user = <prompt text>


def matches(view: Any) -> bool:
    return sc.TRACELOOP_PROMPT_PREFIX in view.flat or sc.TRACELOOP_COMPLETION_PREFIX in view.flat


def group(entries: list[tuple[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """``[("0.role", v), ("0.content", v), ("1.role", v)]`` -> [(0, {role, content}), (1, ...)]."""
    by_index: dict[int, dict[str, Any]] = {}
    for rest, value in entries:
        index, _, field = rest.partition(".")
        if index.isdigit() and field:
            by_index.setdefault(int(index), {})[field] = value
    return sorted(by_index.items())


def tool_calls(fields: dict[str, Any], prefix: str, name_field: str, args_field: str,
               path: str) -> list[Part]:
    """Flattened ``<prefix>{j}.<name_field>`` / ``<args_field>`` pairs as tool-call parts."""
    calls: dict[int, dict[str, str]] = {}
    for field, value in fields.items():
        if field.startswith(prefix):
            index, _, sub = field[len(prefix):].partition(".")
            if index.isdigit():
                calls.setdefault(int(index), {})[sub] = any_value_str(value) or ""
    parts = []
    for j, call in sorted(calls.items()):
        name, args = call.get(name_field, ""), call.get(args_field, "")
        text = f"{name}({args})" if name else args
        if text:
            parts.append(Part("tool_call", text, f"{path}{prefix}{j}.{args_field}"))
    return parts


def field_str(fields: dict[str, Any], field: str) -> str | None:
    value = fields.get(field)
    return any_value_str(value) if value is not None else None


def _content(text: str | None, path: str) -> list[Part]:
    if not text or text == sc.TRACELOOP_FILTERED_CONTENT:
        return []
    if text.startswith("[{"):
        # A list of typed content parts (multimodal) is serialized as JSON.
        try:
            items = loads(text)
        except ValueError:
            items = None
        if isinstance(items, list) and all(isinstance(i, dict) and "type" in i for i in items):
            return openai_content(items, path)
    return [Part("text", text, path)]


def _message(index: int, fields: dict[str, Any], base: str, default_role: str):
    path = f"{base}{index}."
    role = role_of(field_str(fields, sc.FLAT_ROLE), default_role)
    parts = _content(field_str(fields, sc.FLAT_CONTENT), path + sc.FLAT_CONTENT)
    if _LEGACY_USER_FIELD in fields:
        parts += _content(field_str(fields, _LEGACY_USER_FIELD), path + _LEGACY_USER_FIELD)
        role = USER if role == UNKNOWN else role
    parts += tool_calls(fields, sc.FLAT_TOOL_CALLS, sc.TRACELOOP_TOOL_NAME,
                        sc.TRACELOOP_TOOL_ARGUMENTS, path)
    if role == TOOL or sc.FLAT_TOOL_CALL_ID in fields:
        role = TOOL
        parts = [Part("tool_call_response", p.text, p.path) if p.kind == "text" else p
                 for p in parts]
    return role, parts


def extract(view: Any, inputs: Sink | None, outputs: Sink | None, facts: Facts) -> None:
    if inputs is not None:
        for index, fields in group(view.flat.get(sc.TRACELOOP_PROMPT_PREFIX, [])):
            inputs.add(*_message(index, fields, sc.TRACELOOP_PROMPT_PREFIX, UNKNOWN))
    for index, fields in group(view.flat.get(sc.TRACELOOP_COMPLETION_PREFIX, [])):
        if outputs is not None:
            outputs.add(*_message(index, fields, sc.TRACELOOP_COMPLETION_PREFIX, ASSISTANT))
        reason = field_str(fields, sc.FLAT_FINISH_REASON)
        if reason:
            facts.reasons.append(reason)
        results = field_str(fields, sc.FLAT_FILTER_RESULTS)
        if results:
            try:
                decoded = loads(results)
            except ValueError:
                continue
            filters.azure_results(decoded, filters.COMPLETION,
                                  f"{sc.TRACELOOP_COMPLETION_PREFIX}{index}.{sc.FLAT_FILTER_RESULTS}",
                                  facts.verdicts)
