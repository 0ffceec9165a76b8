"""A span -> its normalized `Conversation` (or None when it is not a GenAI call).

Messages come per side from the first adapter that yields any (adapters/__init__.py
gives the order); finish reasons, errors and provider verdicts are gathered from
every adapter that matches and from the convention-neutral attributes here.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Status

from otel_ai_detect import semconv as sc
from otel_ai_detect.extract import filters
from otel_ai_detect.extract.adapters import ADAPTERS
from otel_ai_detect.extract.callinfo import call_info, call_info_from
from otel_ai_detect.extract.facts import Facts
from otel_ai_detect.extract.jsontext import any_value_strings
from otel_ai_detect.extract.messages import Budget, Sink
from otel_ai_detect.extract.peer import SERVER, span_peer
from otel_ai_detect.extract.spanview import SpanView, scan_span
from otel_ai_detect.model import NO_PEER, CallInfo, Conversation

_GEN_AI_MARKERS = (sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_SYSTEM)
# (attribute, target) of the vendor filter records Traceloop and Bedrock write.
_FILTER_ATTRS = (
    (sc.TRACELOOP_PROMPT_FILTER_RESULTS, filters.PROMPT),
    (sc.TRACELOOP_COMPLETION_FILTER_RESULTS, filters.COMPLETION),
    (sc.BEDROCK_GUARDRAIL_INPUT_FILTER, filters.PROMPT),
    (sc.BEDROCK_GUARDRAIL_OUTPUT_FILTER, filters.COMPLETION),
)
_FILTER_KEYS = frozenset(key for key, _ in _FILTER_ATTRS)
_STATUS_ERROR = Status.StatusCode.STATUS_CODE_ERROR


def span_conversation(span: Any) -> Conversation | None:
    """The normalized call of a GenAI span; None when the span is not a GenAI call."""
    call = span_call(span)
    return call[0] if call is not None else None


def span_call(span: Any) -> tuple[Conversation, CallInfo] | None:
    """The normalized call of a GenAI span and its call info, from one pass over its
    attributes; None when the span is not a GenAI call."""
    view = scan_span(span)
    if view is None:
        return None
    facts = Facts()
    _common_facts(view, facts)
    budget = Budget()
    inputs, outputs = Sink(budget), Sink(budget)
    input_convention = output_convention = first_match = None
    for adapter in ADAPTERS:
        if not adapter.matches(view):
            continue
        first_match = first_match or adapter.CONVENTION
        before_in, before_out = len(inputs.messages), len(outputs.messages)
        adapter.extract(view, None if input_convention else inputs,
                        None if output_convention else outputs, facts)
        if input_convention is None and len(inputs.messages) > before_in:
            input_convention = adapter.CONVENTION
        if output_convention is None and len(outputs.messages) > before_out:
            output_convention = adapter.CONVENTION
    convention = input_convention or output_convention or first_match or _fallback_convention(view)
    peer = NO_PEER
    if span.kind == SERVER:  # a GenAI gateway's own server span
        peer = span_peer(span) or NO_PEER
    conversation = facts.conversation(inputs.finish(), outputs.finish(), convention, peer)
    return conversation, call_info_from(view.attrs)


def span_call_info(span: Any) -> CallInfo:
    """Operation, model and provider (and the provider's attribute key) of a span."""
    return call_info((span.attributes,))


def _common_facts(view: SpanView, facts: Facts) -> None:
    """Outcome attributes that do not belong to one convention."""
    reasons = view.attrs.get(sc.GEN_AI_RESPONSE_FINISH_REASONS)
    if reasons is not None:
        facts.reasons.extend(r for r in any_value_strings(reasons) if r)
    facts.error_type = view.text(sc.ERROR_TYPE) or None
    status = view.span.status
    if status.code == _STATUS_ERROR and status.message:
        facts.error(status.message, "status.message")
    for path, exc_type, message in view.exceptions:
        if message:
            facts.error(message, f"{path}.{sc.EXCEPTION_MESSAGE}")
        if facts.error_type is None and exc_type:
            facts.error_type = exc_type  # OpenInference records no error.type
    for path, action, phase in view.guards:
        filters.guard_event(action, phase, path, facts.verdicts)
    if not _FILTER_KEYS.isdisjoint(view.attrs):
        for key, target in _FILTER_ATTRS:
            _filter_attribute(view, key, target, facts)


def _filter_attribute(view: SpanView, key: str, target: str, facts: Facts) -> None:
    """Azure results (list or object) or a Bedrock guardrail record, as written by Traceloop."""
    decoded = view.decoded(key)
    if decoded is None:
        return
    if not decoded.ok:  # not JSON: maybe a bare action such as GUARDRAIL_INTERVENED
        filters.guardrail_summary(decoded.text, target, key, facts.verdicts)
        return
    value = decoded.value
    entries = value if isinstance(value, list) else [value]
    if any(isinstance(e, dict) and "content_filter_results" in e for e in entries):
        filters.azure_prompt_results(value, key, facts.verdicts)
    elif isinstance(value, dict) and any(isinstance(v, dict) and "filtered" in v
                                         for v in value.values()):
        filters.azure_results(value, target, key, facts.verdicts)
    elif value:
        filters.guardrail_summary(value, target, key, facts.verdicts)


def _fallback_convention(view: SpanView) -> str:
    """A GenAI span without content: name the convention its keys belong to."""
    if any(key in view.attrs for key in _GEN_AI_MARKERS):
        return "genai-semconv"
    if sc.OPENINFERENCE_SPAN_KIND in view.attrs:
        return "openinference"
    if sc.TRACELOOP_REQUEST_TYPE in view.attrs:
        return "traceloop-legacy"
    return "genai-semconv"

