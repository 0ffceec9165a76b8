"""Health and readiness: the telemetry HTTP server and the gRPC health service.

`TelemetryServer` (stdlib ThreadingHTTPServer, port 0 allowed, `.port` readable):

    /metrics  Prometheus text format (the callable it is given, e.g. ProcessorMetrics.render)
    /health   200 while the process runs (liveness)
    /ready    200 once `is_ready()` (see `service_ready`), else 503 (starting, shutting down)
    /         a small index

`add_health_service(grpc_server, is_ready)` registers `grpc.health.v1.Health`
on the OTLP gRPC server: `Check` answers from `is_ready()` for the overall
service ("") and the three OTLP collector services; `Watch` uses the stock
non-blocking servicer, updated whenever `Check` or `refresh()` sees a change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["OTLP_SERVICES", "TelemetryServer", "add_health_service", "service_ready"]

OTLP_SERVICES = (
    "opentelemetry.proto.collector.trace.v1.TraceService",
    "opentelemetry.proto.collector.logs.v1.LogsService",
    "opentelemetry.proto.collector.metrics.v1.MetricsService",
)
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
INDEX = b"""<html><head><title>otel-ai-detect</title></head><body>
<h1>otel-ai-detect</h1><ul>
<li><a href="/metrics">/metrics</a> Prometheus metrics</li>
<li><a href="/health">/health</a> liveness</li>
<li><a href="/ready">/ready</a> readiness</li>
</ul></body></html>
"""


def service_ready(service: Any) -> bool:
    """Started, accepting (not shutting down), exporters built, every receiver listening."""
    accepting = getattr(service, "accepting", None)
    if accepting is None:
        accepting = getattr(service, "_accepting", False)
    if not accepting or not getattr(service, "exporters", None):
        return False
    receivers = [r for r in (getattr(service, "grpc_receiver", None),
                             getattr(service, "http_receiver", None)) if r is not None]
    return bool(receivers) and all(getattr(r, "port", 0) > 0 for r in receivers)


class TelemetryServer:
    """`/metrics`, `/health`, `/ready` and `/` on `endpoint` (host:port, port 0: any)."""

    def __init__(self, endpoint: str, render_metrics: Callable[[], bytes],
                 is_ready: Callable[[], bool]) -> None:
        host, _, port = endpoint.rpartition(":")
        self._address = (host.strip("[]") or "0.0.0.0", int(port))
        self._render = render_metrics
        self._is_ready = is_ready
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> TelemetryServer:
        server = _Server(self._address, _handler(self._render, self._is_ready))
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        daemon=True, name="telemetry-http")
        self._thread.start()
        log.info("telemetry endpoints on %s:%d (/metrics /health /ready)",
                 self._address[0], self.port)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(2.0)

    def __enter__(self) -> TelemetryServer:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        if ":" in address[0]:
            import socket
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)


def _handler(render: Callable[[], bytes], is_ready: Callable[[], bool]) -> type:
    class Handler(BaseHTTPRequestHandler):
        server_version = "otel-ai-detect"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                try:
                    self._send(200, render(), PROMETHEUS_TEXT)
                except Exception as error:  # noqa: BLE001 - a scrape must not kill the server
                    log.error("metrics scrape failed: %s", type(error).__name__)
                    self._send(500, b"metrics collection failed\n")
            elif path in ("/health", "/healthz"):
                self._send(200, b"ok\n")
            elif path in ("/ready", "/readyz"):
                ready = _safe(is_ready)
                self._send(200 if ready else 503, b"ready\n" if ready else b"not ready\n")
            elif path == "/":
                self._send(200, INDEX, "text/html; charset=utf-8")
            else:
                self._send(404, b"not found\n")

        def do_HEAD(self) -> None:  # noqa: N802
            self.do_GET()

        def _send(self, status: int, body: bytes, kind: str = "text/plain; charset=utf-8"):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # scrapes every few seconds: stay quiet
            pass

    return Handler


def _safe(is_ready: Callable[[], bool]) -> bool:
    try:
        return bool(is_ready())
    except Exception:  # noqa: BLE001 - a broken probe is "not ready", not a crash
        return False


def add_health_service(grpc_server: Any, is_ready: Callable[[], bool]) -> Any:
    """Register grpc.health.v1.Health on `grpc_server` (before it starts); returns the
    servicer (`refresh()` pushes the current state to Watch streams, e.g. at shutdown)."""
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    serving = health_pb2.HealthCheckResponse.SERVING
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING

    class Servicer(health.HealthServicer):
        def __init__(self) -> None:
            super().__init__(experimental_non_blocking=True)
            self.refresh()

        def refresh(self) -> int:
            status = serving if _safe(is_ready) else not_serving
            for name in ("", *OTLP_SERVICES):
                with self._lock:
                    changed = self._server_status.get(name) != status
                if changed:
                    self.set(name, status)
            return status

        def Check(self, request, context):  # noqa: N802 (gRPC's naming)
            if request.service not in ("", *OTLP_SERVICES):
                return super().Check(request, context)  # NOT_FOUND, as the stock servicer
            return health_pb2.HealthCheckResponse(status=self.refresh())

    servicer = Servicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, grpc_server)
    return servicer
