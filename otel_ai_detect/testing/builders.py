"""Builders of OTLP test data, and comparison helpers that ignore what the processor adds.

Ids come from a counter: distinct and reproducible within a run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import NumberDataPoint
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_ai_detect import semconv


def any_value(value: Any) -> AnyValue:
    """Plain Python -> AnyValue (str, bool, int, float, bytes, list, dict)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, (list, tuple)):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=attributes(value)))
    return AnyValue(string_value=str(value))


def attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in values.items()]


_ids = iter(range(1, 1 << 62))
_ids_lock = threading.Lock()


def new_id(size: int) -> bytes:
    """Deterministic, distinct, non-zero ids (trace: 16 bytes, span: 8)."""
    with _ids_lock:
        return next(_ids).to_bytes(size, "big")


def genai_span(
    user: str = "What is the capital of France?",
    assistant: str = "Paris.",
    *,
    model: str = "gpt-4o-mini",
    trace_id: bytes | None = None,
    parent_span_id: bytes = b"",
    extra: dict[str, Any] | None = None,
) -> Span:
    """A CLIENT chat span with `gen_ai.input.messages` / `output.messages` JSON (semconv v1.37)."""
    messages_in = [{"role": "user", "parts": [{"type": "text", "content": user}]}]
    messages_out = [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": assistant}],
            "finish_reason": "stop",
        }
    ]
    return Span(
        trace_id=trace_id or new_id(16),
        span_id=new_id(8),
        parent_span_id=parent_span_id,
        name=f"chat {model}",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_001_000_000_000,
        attributes=attributes(
            {
                semconv.GEN_AI_OPERATION_NAME: "chat",
                semconv.GEN_AI_PROVIDER_NAME: "openai",
                semconv.GEN_AI_REQUEST_MODEL: model,
                semconv.GEN_AI_INPUT_MESSAGES: json.dumps(messages_in, ensure_ascii=False),
                semconv.GEN_AI_OUTPUT_MESSAGES: json.dumps(messages_out, ensure_ascii=False),
                **(extra or {}),
            }
        ),
    )


def http_server_span(
    user_agent: str = "Mozilla/5.0",
    client_address: str = "203.0.113.7",
    *,
    trace_id: bytes | None = None,
) -> Span:
    """A SERVER span for POST /chat with the caller's address and user agent (HTTP semconv)."""
    return Span(
        trace_id=trace_id or new_id(16),
        span_id=new_id(8),
        name="POST /chat",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_002_000_000_000,
        attributes=attributes(
            {
                "http.request.method": "POST",
                "url.path": "/chat",
                semconv.CLIENT_ADDRESS: client_address,
                semconv.USER_AGENT_ORIGINAL: user_agent,
            }
        ),
    )


def traces_request(*spans: Span, service_name: str = "test-service") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(attributes({"service.name": service_name}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "otel_ai_detect.testing"
    scope_spans.spans.extend(spans)
    return request


def log_record(
    body: Any = "hello",
    *,
    event_name: str = "",
    severity_number: int = 9,
    trace_id: bytes = b"",
    span_id: bytes = b"",
    extra: dict[str, Any] | None = None,
) -> LogRecord:
    return LogRecord(
        time_unix_nano=1_700_000_000_000_000_000,
        severity_number=severity_number,
        body=any_value(body),
        event_name=event_name,
        trace_id=trace_id,
        span_id=span_id,
        attributes=attributes(extra or {}),
    )


def logs_request(
    *records: LogRecord, service_name: str = "test-service"
) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(attributes({"service.name": service_name}))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = "otel_ai_detect.testing"
    scope_logs.log_records.extend(records)
    return request


def metrics_request(
    name: str = "http.server.requests", values: Iterable[int] = (1, 2, 3)
) -> ExportMetricsServiceRequest:
    """One monotonic cumulative Sum with one data point per value."""
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name=name, unit="1")
    metric.sum.is_monotonic = True
    metric.sum.aggregation_temporality = 2  # CUMULATIVE
    metric.sum.data_points.extend(
        NumberDataPoint(as_int=v, time_unix_nano=1_700_000_000_000_000_000 + i)
        for i, v in enumerate(values)
    )
    return request


# --- comparing: "nothing lost or changed" while the engine annotates -----------
ANNOTATION_PREFIX = "ai.security."


def without_annotations(message: Message) -> Message:
    """A copy without what the processor adds (ai.security.* attributes, ai.security.alert events),
    so "nothing lost or changed" can be asserted while the engine annotates."""
    copy = type(message)()
    copy.CopyFrom(message)
    for span in _spans_in(copy):
        _drop_annotation_attributes(span.attributes)
        kept = [e for e in span.events if e.name != semconv.ALERT_EVENT_NAME]
        del span.events[:]
        span.events.extend(kept)
    return copy


def _spans_in(message: Message) -> list[Span]:
    if isinstance(message, Span):
        return [message]
    if isinstance(message, ExportTraceServiceRequest):
        return [s for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans]
    return []


def _drop_annotation_attributes(values: Any) -> None:
    kept = [kv for kv in values if not kv.key.startswith(ANNOTATION_PREFIX)]
    del values[:]
    values.extend(kept)


def is_alert(record: LogRecord) -> bool:
    """An alert log record written by the processor (ALERTS.md), not one the application sent."""
    return record.event_name == semconv.ALERT_EVENT_NAME
