"""GenAI log records -> one `LogCall` per model call.

Records are grouped by (trace_id, span_id), in the order given:
- ``gen_ai.client.inference.operation.details``: one record is one whole call
  (a second one on the same span is a second call, not more of the first);
- legacy per-message events (``gen_ai.{system,user,assistant,tool}.message``,
  ``gen_ai.choice``): gathered while they share ids; a message after a choice
  starts the next call;
- ``gen_ai.client.operation.exception``: joins the latest call on the same ids.

Streaming calls instrumented by Traceloop emit ``gen_ai.choice`` with the caller's
span id, not the LLM span's (genai-conventions.md §1 rule 6). A group holding only
choices is therefore merged into the latest earlier group of the same trace that
has messages but no choice yet, when the same batch holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from otel_ai_detect import semconv as sc
from otel_ai_detect.extract.adapters import genai_semconv
from otel_ai_detect.extract.callinfo import call_info
from otel_ai_detect.extract.facts import Facts
from otel_ai_detect.extract.jsontext import (
    any_value_str,
    any_value_strings,
    decode_any_value,
    decode_text,
    from_any_value,
)
from otel_ai_detect.extract.messages import Budget, Sink, openai_message, openai_tool_calls
from otel_ai_detect.model import ASSISTANT, SYSTEM, TOOL, USER, CallInfo, Conversation

_HAS_EVENT_NAME = "event_name" in LogRecord.DESCRIPTOR.fields_by_name  # OTLP >= 1.5
_MESSAGE_ROLES = {sc.EVENT_SYSTEM_MESSAGE: SYSTEM, sc.EVENT_USER_MESSAGE: USER,
                  sc.EVENT_ASSISTANT_MESSAGE: ASSISTANT, sc.EVENT_TOOL_MESSAGE: TOOL}
_LEGACY = frozenset(_MESSAGE_ROLES) | {sc.EVENT_CHOICE}
_GENAI_EVENTS = _LEGACY | {sc.EVENT_INFERENCE_DETAILS, sc.EVENT_OPERATION_EXCEPTION}
_DETAILS_KEYS = frozenset((*genai_semconv.CONTENT_KEYS, sc.GEN_AI_RESPONSE_FINISH_REASONS,
                           sc.ERROR_TYPE))
_DETAILS, _LEGACY_FAMILY, _EXCEPTION = "details", "legacy", "exception"


@dataclass(frozen=True, slots=True)
class LogCall:
    trace_id: bytes
    span_id: bytes
    conversation: Conversation
    info: CallInfo
    record_indexes: tuple[int, ...]   # indexes into the sequence passed to log_calls


class _Group:
    __slots__ = ("family", "has_choice", "has_message", "items", "span_id", "trace_id")

    def __init__(self, trace_id: bytes, span_id: bytes, family: str) -> None:
        self.trace_id, self.span_id, self.family = trace_id, span_id, family
        self.items: list[tuple[int, str, Any]] = []   # (index, event name, record)
        self.has_message = self.has_choice = False


def event_name(record: Any) -> str:
    """LogRecord.event_name, else the deprecated ``event.name`` attribute."""
    if _HAS_EVENT_NAME and record.event_name:
        return record.event_name
    for kv in record.attributes:
        if kv.key == sc.EVENT_NAME_ATTR:
            return any_value_str(kv.value) or ""
    return ""


def log_calls(records: Sequence[Any]) -> list[LogCall]:
    groups = _group(records)
    return [_call(group) for group in _merge_orphan_choices(groups)]


def _group(records: Sequence[Any]) -> list[_Group]:
    groups: list[_Group] = []
    open_legacy: dict[tuple[bytes, bytes], _Group] = {}
    latest: dict[tuple[bytes, bytes], _Group] = {}
    for index, record in enumerate(records):
        name = event_name(record)
        if name not in _GENAI_EVENTS:
            continue
        key = (record.trace_id, record.span_id)
        group = None
        if name == sc.EVENT_OPERATION_EXCEPTION:
            group = latest.get(key)
        elif name in _LEGACY:
            group = open_legacy.get(key)
            if group is not None and group.has_choice and name != sc.EVENT_CHOICE:
                group = None  # a new prompt after the answer: the next call
        if group is None:
            family = (_DETAILS if name == sc.EVENT_INFERENCE_DETAILS
                      else _LEGACY_FAMILY if name in _LEGACY else _EXCEPTION)
            group = _Group(record.trace_id, record.span_id, family)
            groups.append(group)
            if family == _LEGACY_FAMILY:
                open_legacy[key] = group
        group.items.append((index, name, record))
        group.has_choice |= name == sc.EVENT_CHOICE
        group.has_message |= name in _MESSAGE_ROLES
        latest[key] = group
    return groups


def _merge_orphan_choices(groups: list[_Group]) -> list[_Group]:
    kept: list[_Group] = []
    for group in groups:
        if group.family == _LEGACY_FAMILY and group.has_choice and not group.has_message:
            host = next((g for g in reversed(kept) if g.family == _LEGACY_FAMILY
                         and g.trace_id == group.trace_id and g.has_message
                         and not g.has_choice), None)
            if host is not None:
                host.items.extend(group.items)
                host.has_choice = True
                continue
        kept.append(group)
    return kept


def _call(group: _Group) -> LogCall:
    facts = Facts()
    budget = Budget()
    inputs, outputs = Sink(budget), Sink(budget)
    convention = "genai-legacy-events" if group.family == _LEGACY_FAMILY else "genai-semconv-events"
    for index, name, record in group.items:
        if name == sc.EVENT_INFERENCE_DETAILS:
            _details(record, inputs, outputs, facts)
        elif name == sc.EVENT_OPERATION_EXCEPTION:
            _exception(record, index, facts)
        else:
            _legacy(name, record, inputs, outputs, facts)
    conversation = facts.conversation(inputs.finish(), outputs.finish(), convention)
    info = call_info(record.attributes for _, _, record in group.items)
    return LogCall(group.trace_id, group.span_id, conversation, info,
                   tuple(index for index, _, _ in group.items))


def _details(record: Any, inputs: Sink, outputs: Sink, facts: Facts) -> None:
    attrs = {kv.key: kv.value for kv in record.attributes if kv.key in _DETAILS_KEYS}
    reasons = attrs.get(sc.GEN_AI_RESPONSE_FINISH_REASONS)
    if reasons is not None:
        facts.reasons.extend(r for r in any_value_strings(reasons) if r)
    if sc.ERROR_TYPE in attrs and facts.error_type is None:
        facts.error_type = any_value_str(attrs[sc.ERROR_TYPE]) or None
    def decoded(key: str):
        return decode_any_value(attrs[key]) if key in attrs else None

    genai_semconv.extract_decoded(
        decoded(sc.GEN_AI_INPUT_MESSAGES), decoded(sc.GEN_AI_OUTPUT_MESSAGES),
        decoded(sc.GEN_AI_SYSTEM_INSTRUCTIONS), "log:", inputs, outputs, facts)


def _exception(record: Any, index: int, facts: Facts) -> None:
    types: dict[str, str] = {}
    for kv in record.attributes:
        if kv.key == sc.EXCEPTION_MESSAGE:
            facts.error(any_value_str(kv.value) or "", f"log[{index}].{sc.EXCEPTION_MESSAGE}")
        elif kv.key in (sc.ERROR_TYPE, sc.EXCEPTION_TYPE):
            types[kv.key] = any_value_str(kv.value) or ""
    if facts.error_type is None:  # error.type is the convention's name for it; else the class
        facts.error_type = types.get(sc.ERROR_TYPE) or types.get(sc.EXCEPTION_TYPE) or None


def _body(record: Any) -> dict:
    """The event body as a dict: kvlist as is, a JSON string decoded, other text as content."""
    body = record.body
    kind = body.WhichOneof("value")
    if kind == "kvlist_value":
        value = from_any_value(body)
        return value if isinstance(value, dict) else {}
    if kind == "string_value" and body.string_value:
        decoded = decode_text(body.string_value)
        if decoded.ok and isinstance(decoded.value, dict):
            return decoded.value
        return {"content": body.string_value}
    return {}


def _legacy(name: str, record: Any, inputs: Sink, outputs: Sink, facts: Facts) -> None:
    body = _body(record)
    path = f"log:{name}.body"
    if name == sc.EVENT_CHOICE:
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        role, parts = openai_message(message, f"{path}.message", ASSISTANT)
        # Traceloop puts tool_calls beside the message rather than in it.
        parts += openai_tool_calls(body.get("tool_calls"), f"{path}.tool_calls")
        outputs.add(role, parts)
        reason = body.get("finish_reason")
        if isinstance(reason, str) and reason:
            facts.reasons.append(reason)
        return
    role = _MESSAGE_ROLES[name]
    inputs.add(*openai_message({**body, "role": role}, path, role))
