"""One pass over a span's attributes: keep only what extraction reads.

Exact keys are a set lookup; prefix checks happen only for keys that missed it and
only for the flattened conventions (Traceloop <= 0.54, OpenInference). A span with
no GenAI marker is rejected right after that one pass, without touching its events.
JSON content is decoded at most once per attribute (`SpanView.decoded`).
"""

from __future__ import annotations

from typing import Any

from otel_ai_detect import semconv as sc
from otel_ai_detect.extract import callinfo
from otel_ai_detect.extract.jsontext import Decoded, any_value_str, decode_any_value

# Any of these makes a span a GenAI span.
_MARKERS = frozenset((
    sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_SYSTEM,
    sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS,
    sc.GEN_AI_PROMPT, sc.GEN_AI_COMPLETION, sc.TRACELOOP_REQUEST_TYPE,
    sc.TRACELOOP_PROMPT_FILTER_RESULTS, sc.TRACELOOP_COMPLETION_FILTER_RESULTS,
    sc.BEDROCK_GUARDRAIL_ID, sc.BEDROCK_GUARDRAIL_INPUT_FILTER, sc.BEDROCK_GUARDRAIL_OUTPUT_FILTER,
))
# Read when present, but not GenAI evidence on their own (HTTP spans carry error.type,
# OpenInference CHAIN/TOOL spans carry input.value).
_WANTED = _MARKERS | frozenset((
    sc.GEN_AI_RESPONSE_FINISH_REASONS, sc.ERROR_TYPE, sc.OPENINFERENCE_SPAN_KIND,
    sc.OPENINFERENCE_INPUT_VALUE, sc.OPENINFERENCE_OUTPUT_VALUE, sc.OPENINFERENCE_FINISH_REASON,
)) | callinfo.KEYS  # operation, model and provider: read in the same pass
FLAT_PREFIXES = (
    sc.TRACELOOP_PROMPT_PREFIX, sc.TRACELOOP_COMPLETION_PREFIX,
    sc.OPENINFERENCE_INPUT_MESSAGES_PREFIX, sc.OPENINFERENCE_OUTPUT_MESSAGES_PREFIX,
)
_OPENINFERENCE_KINDS = frozenset((sc.OPENINFERENCE_KIND_LLM, sc.OPENINFERENCE_KIND_GUARDRAIL))


class SpanView:
    """The attributes and events of one GenAI span that extraction reads."""

    __slots__ = (
        "_decoded",
        "attrs",
        "completion_events",
        "exceptions",
        "flat",
        "guards",
        "prompt_events",
        "span",
    )

    def __init__(self, span: Any, attrs: dict[str, Any],
                 flat: dict[str, list[tuple[str, Any]]]) -> None:
        self.span = span
        self.attrs = attrs
        self.flat = flat
        # (path, AnyValue) of v1.26 content: span events and same-named span attributes.
        self.prompt_events: list[tuple[str, Any]] = []
        self.completion_events: list[tuple[str, Any]] = []
        self.exceptions: list[tuple[str, str | None, str | None]] = []  # (path, type, message)
        self.guards: list[tuple[str, str | None, str | None]] = []      # (path, action, phase)
        self._decoded: dict[str, Decoded] = {}

    def text(self, key: str) -> str | None:
        value = self.attrs.get(key)
        return any_value_str(value) if value is not None else None

    def decoded(self, key: str) -> Decoded | None:
        """The attribute decoded from JSON (or structure), once; None when absent."""
        cached = self._decoded.get(key)
        if cached is None:
            value = self.attrs.get(key)
            if value is None:
                return None
            cached = self._decoded[key] = decode_any_value(value)
        return cached


def scan_span(span: Any) -> SpanView | None:
    """The GenAI view of a span, or None when it is not a GenAI span."""
    attrs: dict[str, Any] | None = None
    flat: dict[str, list[tuple[str, Any]]] | None = None
    for kv in span.attributes:
        key = kv.key
        if key in _WANTED:
            if attrs is None:
                attrs = {}
            attrs[key] = kv.value
        elif key.startswith(FLAT_PREFIXES):
            if flat is None:
                flat = {}
            for prefix in FLAT_PREFIXES:
                if key.startswith(prefix):
                    flat.setdefault(prefix, []).append((key[len(prefix):], kv.value))
                    break
    if attrs is None and flat is None:
        return None
    attrs = attrs or {}
    if flat is None and not _is_genai(attrs):
        return None
    view = SpanView(span, attrs, flat or {})
    _scan_events(view)
    return view


def _is_genai(attrs: dict[str, Any]) -> bool:
    if not _MARKERS.isdisjoint(attrs):
        return True
    kind = attrs.get(sc.OPENINFERENCE_SPAN_KIND)
    return kind is not None and any_value_str(kind) in _OPENINFERENCE_KINDS


def _scan_events(view: SpanView) -> None:
    """Exceptions, v1.26 content events and guard events, in one pass over the events."""
    for index, event in enumerate(view.span.events):
        name = event.name
        if name == sc.EXCEPTION_EVENT:
            picked = _event_attrs(event, (sc.EXCEPTION_TYPE, sc.EXCEPTION_MESSAGE))
            view.exceptions.append((f"event:{name}[{index}]", *picked))
        elif name == sc.SPAN_EVENT_CONTENT_PROMPT or name == sc.SPAN_EVENT_CONTENT_COMPLETION:
            key = sc.GEN_AI_PROMPT if name == sc.SPAN_EVENT_CONTENT_PROMPT else sc.GEN_AI_COMPLETION
            target = view.prompt_events if key == sc.GEN_AI_PROMPT else view.completion_events
            for kv in event.attributes:
                if kv.key == key:
                    target.append((f"event:{name}[{index}].{key}", kv.value))
        elif name == sc.OPENLIT_GUARD_EVENT:
            action, phase = _event_attrs(event, (sc.GUARD_ACTION, sc.GUARD_PHASE))
            view.guards.append((f"event:{name}[{index}].{sc.GUARD_ACTION}", action, phase))
    for key, target in ((sc.GEN_AI_PROMPT, view.prompt_events),
                        (sc.GEN_AI_COMPLETION, view.completion_events)):
        if key in view.attrs:
            target.append((key, view.attrs[key]))


def _event_attrs(event: Any, keys: tuple[str, str]) -> tuple[str | None, str | None]:
    first = second = None
    for kv in event.attributes:
        if kv.key == keys[0]:
            first = any_value_str(kv.value)
        elif kv.key == keys[1]:
            second = any_value_str(kv.value)
    return first, second
