"""OTLP receivers: gRPC (`grpc.py`) and HTTP (`http.py`).

A receiver decodes an OTLP export request, hands it to the service
(`submit_traces` / `submit_logs` / `submit_metrics`) in its own handler thread
and maps the service's `Refused` error value to the retryable status of its
protocol. Nothing here judges content.

When `auth` is configured, a receiver checks the sender's bearer token
(`receiver.auth`) before it decodes anything: an unauthenticated request
never reaches the service.

This package holds the contract between receivers and the service
(`Consumer`, `Refused`); the receivers live in `receiver.grpc` and
`receiver.http`.
"""

from __future__ import annotations

from typing import Protocol

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class Refused(Exception):
    """Back-pressure as an error value: the request was NOT accepted; retry later.

    Raised by a consumer before it accepts anything, so the sender's retry
    cannot duplicate data. Receivers map it to gRPC UNAVAILABLE + RetryInfo
    and HTTP 503 + Retry-After.
    """

    def __init__(self, retry_after_seconds: float, reason: str = "sending queue is full") -> None:
        super().__init__(f"{reason}; retry after {retry_after_seconds:g}s")
        self.retry_after_seconds = retry_after_seconds
        self.reason = reason


class Consumer(Protocol):
    """What a receiver feeds: `Service` implements it.

    `raw` is the protobuf encoding the request arrived in, when there is one,
    so pass-through data can be forwarded byte for byte. Raises `Refused`.
    """

    def submit_traces(
        self, request: ExportTraceServiceRequest, raw: bytes | None = None
    ) -> None: ...
    def submit_logs(self, request: ExportLogsServiceRequest, raw: bytes | None = None) -> None: ...
    def submit_metrics(
        self, request: ExportMetricsServiceRequest, raw: bytes | None = None
    ) -> None: ...


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """'host:port', '[::1]:port' or ':port' -> (host, port); an empty host means all interfaces."""
    host, sep, port = endpoint.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"endpoint {endpoint!r} is not host:port")
    return host.strip("[]"), int(port)


def retry_after_header(seconds: float) -> str:
    """HTTP Retry-After takes whole seconds; round up so a client never retries early."""
    return str(max(1, int(-(-seconds // 1))))
