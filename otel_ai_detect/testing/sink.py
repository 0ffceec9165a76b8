"""`Sink`: an in-memory OTLP server for tests (gRPC and HTTP, on 127.0.0.1 port 0).

It records every request it accepts as a parsed message, can be scripted to
fail (`fail_next`), to hold requests (`stall` / `release`), or to go away and
come back on the same ports (`stop` / `start`). `wait_for(predicate)` waits on
a Condition, never sleeps.

It is written apart from `otel_ai_detect.receiver` on purpose, so a test that
pipes data through the receivers and into the sink checks one against the other.
"""

from __future__ import annotations

import gzip
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_ai_detect import otlp_json
from otel_ai_detect.exporters.base import GRPC_METHODS, RESPONSE_TYPES

REQUEST_TYPES: dict[str, type[Message]] = {
    "traces": ExportTraceServiceRequest,
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
}


@dataclass(frozen=True)
class Received:
    signal: str  # traces | logs | metrics
    protocol: str  # grpc | http
    message: Message
    headers: dict[str, str]  # gRPC metadata or HTTP headers, keys lower-case


@dataclass(frozen=True)
class Failure:
    """A scripted answer: `grpc_code` over gRPC, `http_status` over HTTP; `retry_after`
    becomes a RetryInfo detail (gRPC) or a Retry-After header (HTTP, whole seconds)."""

    grpc_code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    http_status: int = 503
    retry_after: float | None = None
    message: str = "scripted failure"


@dataclass
class Sink:
    host: str = "127.0.0.1"
    grpc_port: int = 0  # 0: pick a free port at the first start, then keep it across restarts
    http_port: int = 0
    requests: list[Received] = field(default_factory=list)
    attempts: int = 0  # every request that reached a handler, failed ones included
    stalled: int = 0  # requests held right now by `stall`

    def __post_init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._script: deque[Failure] = deque()
        self._gate = threading.Event()
        self._gate.set()
        self._grpc: grpc.Server | None = None
        self._http: _HttpServer | None = None

    # --- lifecycle ---------------------------------------------------------------
    def start(self) -> Sink:
        server = grpc.server(ThreadPoolExecutor(16, thread_name_prefix="sink-grpc"))
        handlers = {}
        for signal, method in GRPC_METHODS.items():
            service = method.split("/")[1]
            handlers[service] = grpc.method_handlers_generic_handler(
                service,
                {
                    "Export": grpc.unary_unary_rpc_method_handler(
                        self._grpc_handler(signal),
                        request_deserializer=None,
                        response_serializer=None,
                    )
                },
            )
        server.add_generic_rpc_handlers(tuple(handlers.values()))
        self.grpc_port = server.add_insecure_port(f"{self.host}:{self.grpc_port}")
        server.start()
        self._grpc = server
        self._http = _HttpServer((self.host, self.http_port), _http_handler(self))
        self._http.daemon_threads = True
        self.http_port = self._http.server_address[1]
        threading.Thread(
            target=self._http.serve_forever, args=(0.05,), name="sink-http", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Go away (ports are kept for `start`). Stalled requests are released first.

        Open HTTP keep-alive connections are cut too and the listener is closed, so
        an HTTP client sees the downstream go away (connection reset / refused), as
        a gRPC client does, instead of talking on to a server that is gone.
        """
        self.release()
        if self._grpc is not None:
            self._grpc.stop(0).wait(5)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()  # new connections: refused
            self._http.close_connections()
        self._grpc = self._http = None

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def grpc_endpoint(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    # --- scripting ---------------------------------------------------------------
    def fail_next(self, n: int = 1, **failure: Any) -> None:
        """Answer the next `n` requests (any signal, any protocol) with `Failure(**failure)`."""
        with self._cond:
            self._script.extend([Failure(**failure)] * n)

    def stall(self) -> None:
        """Hold every request until `release()` (a downstream that stops answering)."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def recover(self) -> None:
        """Forget scripted failures and release a stall: the downstream is healthy again."""
        with self._cond:
            self._script.clear()
        self.release()

    # --- reading -----------------------------------------------------------------
    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until `predicate()` holds (re-checked at every request); False on timeout."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def messages(self, signal: str) -> list[Message]:
        with self._cond:
            return [r.message for r in self.requests if r.signal == signal]

    def spans(self) -> list[Span]:
        return [
            s
            for m in self.messages("traces")
            for rs in m.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        ]

    def log_records(self) -> list[LogRecord]:
        return [
            r
            for m in self.messages("logs")
            for rl in m.resource_logs
            for sl in rl.scope_logs
            for r in sl.log_records
        ]

    def metrics(self) -> list[Metric]:
        return [
            x
            for m in self.messages("metrics")
            for rm in m.resource_metrics
            for sm in rm.scope_metrics
            for x in sm.metrics
        ]

    # --- serving -----------------------------------------------------------------
    def _on_request(
        self,
        signal: str,
        protocol: str,
        message: Message,
        headers: dict[str, str],
        still_wanted: Callable[[], bool] = lambda: True,
    ) -> Failure | None:
        with self._cond:
            self.attempts += 1
            held = not self._gate.is_set()
            self.stalled += held
            self._cond.notify_all()
        self._gate.wait()
        with self._cond:
            self.stalled -= held
            failure = self._script.popleft() if self._script else None
            if failure is None and still_wanted():  # a gRPC client that gave up would not see it
                self.requests.append(Received(signal, protocol, message, headers))
            self._cond.notify_all()
        return failure

    def _grpc_handler(self, signal: str) -> Callable[[bytes, grpc.ServicerContext], bytes]:
        def export(raw: bytes, context: grpc.ServicerContext) -> bytes:
            message = REQUEST_TYPES[signal].FromString(raw)
            headers = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
            failure = self._on_request(signal, "grpc", message, headers, context.is_active)
            if failure is not None:
                details = []
                if failure.retry_after is not None:
                    info = error_details_pb2.RetryInfo()
                    info.retry_delay.FromNanoseconds(int(failure.retry_after * 1e9))
                    details.append(any_pb2.Any())
                    details[0].Pack(info)
                context.abort_with_status(
                    rpc_status.to_status(
                        status_pb2.Status(
                            code=failure.grpc_code.value[0],
                            message=failure.message,
                            details=details,
                        )
                    )
                )
            return RESPONSE_TYPES[signal]().SerializeToString()

        return export


class _HttpServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its open connections, so `stop` can cut them."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            try:  # SHUT_RDWR wakes a handler blocked reading the next request; the peer gets EOF
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its handler

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a connection cut by `stop` is expected; the sink is quiet


def _http_handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            signal = self.path.rsplit("/", 1)[-1]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            is_json = self.headers.get("Content-Type", "").startswith("application/json")
            request_type = REQUEST_TYPES[signal]
            message = (
                otlp_json.parse(body, request_type()) if is_json else request_type.FromString(body)
            )
            failure = sink._on_request(
                signal, "http", message, {k.lower(): v for k, v in self.headers.items()}
            )
            headers = {}
            if failure is None:
                status, reply = 200, RESPONSE_TYPES[signal]()
            else:
                status, reply = (
                    failure.http_status,
                    status_pb2.Status(code=failure.grpc_code.value[0], message=failure.message),
                )
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(int(failure.retry_after))
            data = otlp_json.dumps(reply).encode() if is_json else reply.SerializeToString()
            self.send_response(status)
            self.send_header(
                "Content-Type", "application/json" if is_json else "application/x-protobuf"
            )
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass  # the sink is quiet

    return Handler
