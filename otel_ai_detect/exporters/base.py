"""What every exporter shares: signals, results, the Exporter protocol, value helpers.

An exporter takes one queue item -- a signal and its payload, already
serialized once as the protobuf Export*ServiceRequest -- and returns an
`ExportResult`. It never raises: a failure is a result, counted and logged by
the caller (the service's consumer loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

TRACES, LOGS, METRICS = "traces", "logs", "metrics"
ALERTS = "alerts"  # alert log records: sent downstream as OTLP logs
SIGNALS = (TRACES, LOGS, METRICS, ALERTS)

# The OTLP endpoint each signal goes to (alerts are logs on the wire).
WIRE_SIGNAL = {TRACES: TRACES, LOGS: LOGS, METRICS: METRICS, ALERTS: LOGS}
GRPC_METHODS = {
    TRACES: "/"
    + trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
    + "/Export",
    LOGS: "/" + logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"].full_name + "/Export",
    METRICS: "/"
    + metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"].full_name
    + "/Export",
}
RESPONSE_TYPES = {
    TRACES: trace_service_pb2.ExportTraceServiceResponse,
    LOGS: logs_service_pb2.ExportLogsServiceResponse,
    METRICS: metrics_service_pb2.ExportMetricsServiceResponse,
}


@dataclass(frozen=True, slots=True)
class ExportResult:
    """How one export ended. `attempts` counts sends (0 when never tried, e.g. at shutdown)."""

    ok: bool
    attempts: int = 1
    error: str = ""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One send. `retry_after`: the server's hint (RetryInfo / Retry-After) in seconds."""

    ok: bool
    retryable: bool = False
    retry_after: float | None = None
    error: str = ""


class Exporter(Protocol):
    name: str
    signals: frozenset[str]  # the queue items it wants

    def export(self, signal: str, payload: bytes, count: int) -> ExportResult: ...
    def shutdown(self) -> None: ...


def partial_success_warning(signal: str, response: bytes) -> str | None:
    """The downstream accepted the request but rejected part of it: worth a warning, not a retry."""
    try:
        parsed = RESPONSE_TYPES[WIRE_SIGNAL[signal]].FromString(response)
    except Exception:  # an unreadable success body is still a success
        return None
    if not parsed.HasField("partial_success"):
        return None
    partial = parsed.partial_success
    rejected = next(
        (
            getattr(partial, f)
            for f in ("rejected_spans", "rejected_log_records", "rejected_data_points")
            if hasattr(partial, f)
        ),
        0,
    )
    if not rejected and not partial.error_message:
        return None
    return f"downstream rejected {rejected} {signal} items: {partial.error_message}"


def value_of(value: AnyValue) -> Any:
    """AnyValue -> plain Python (str, bool, int, float, hex for bytes, list, dict)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value_of(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_dict(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes_dict(attributes: list[KeyValue] | Any) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in attributes}
