"""OTLP/HTTP receiver: POST /v1/traces, /v1/logs, /v1/metrics.

Standard library `ThreadingHTTPServer`, HTTP/1.1 keep-alive, one thread per
connection. Bodies are `application/x-protobuf` or `application/json`
(OTLP/JSON: hex ids, via `otel_ai_detect.otlp_json`), optionally compressed
(`Content-Encoding: gzip` or `deflate`); the response is an
Export*ServiceResponse in the request's encoding. Errors carry a
google.rpc.Status body (same encoding) whose message says what was wrong:
400 malformed, 404 unknown path, 405 not POST, 413 too large, 415
unsupported media type or encoding, 503 + Retry-After when the service
refuses (back-pressure), 500 for our own bugs.

With `auth` set, every request must carry `Authorization: Bearer <token>`;
else 401 + `WWW-Authenticate: Bearer` before the body is decoded (an
`Expect: 100-continue` sender is refused before it sends the body at all).

Reading and decompressing bodies (bounded: a gzip bomb costs no more than
`max_request_body_size`) lives in `http_body`.
"""

from __future__ import annotations

import logging
import socket
import ssl
import sys
import threading
import traceback
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace

from otel_ai_detect import otlp_json
from otel_ai_detect.config_types import HttpReceiverConfig
from otel_ai_detect.receiver import Consumer, Refused, retry_after_header, split_endpoint
from otel_ai_detect.receiver.auth import (
    CHALLENGE,
    BearerAuth,
    discard_small_body,
    refusal_body,
    service_stats,
    warn_if_cleartext,
)
from otel_ai_detect.receiver.http_body import (
    JSON,
    PROTOBUF,
    HttpError,
    media_type,
    read_body,
    status_body,
)

log = logging.getLogger(__name__)
# An unauthenticated body up to this size is read and discarded so the 401 reaches the
# sender: closing a socket with unread bytes sends a TCP RST, which can destroy the
# response in flight. A larger (or chunked) one: close without reading (as Go's net/http).
DRAIN_LIMIT = 256 * 1024

# path -> (request type, response type, name of the Consumer method)
ROUTES = {
    "/v1/traces": (
        trace.ExportTraceServiceRequest,
        trace.ExportTraceServiceResponse,
        "submit_traces",
    ),
    "/v1/logs": (logs.ExportLogsServiceRequest, logs.ExportLogsServiceResponse, "submit_logs"),
    "/v1/metrics": (
        metrics.ExportMetricsServiceRequest,
        metrics.ExportMetricsServiceResponse,
        "submit_metrics",
    ),
}


class HttpReceiver:
    """Serves OTLP/HTTP on `config.endpoint`; `port` is the bound port after `start()`."""

    def __init__(self, config: HttpReceiverConfig, consumer: Consumer) -> None:
        self._config = config
        self._consumer = consumer
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.auth: BearerAuth | None = None
        self.port = 0

    @property
    def auth_refused(self) -> int:
        """Requests refused with 401 since start."""
        return self.auth.refused if self.auth is not None else 0

    def start(self) -> None:
        # Read the token (file) first: a bad one is a start error, before a port is bound.
        self.auth = BearerAuth.from_config(
            self._config.auth, stats=service_stats(self._consumer), receiver="otlp/http"
        )
        host, port = split_endpoint(self._config.endpoint)
        server = _Server(
            (host, port),
            self._consumer,
            self._config.max_request_body_size,
            socket.AF_INET6 if ":" in host else socket.AF_INET,
            self.auth,
        )
        tls = self._config.tls
        warn_if_cleartext("otlp/http", self.auth, tls, host)
        if tls is not None and tls.cert_file:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=tls.client_ca_file)
            context.load_cert_chain(tls.cert_file, tls.key_file)
            if tls.client_ca_file:
                context.verify_mode = ssl.CERT_REQUIRED
            # Handshake lazily in the connection's thread, not in the accept loop.
            server.socket = context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self.port = server.server_address[1]
        self._server = server
        # A short poll: shutdown() waits for the loop to notice (0.5 s by default, at every stop).
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="otlp-http", daemon=True
        )
        self._thread.start()
        log.info("OTLP/HTTP receiver listening on %s:%d", host or "0.0.0.0", self.port)

    def stop(self, grace: float = 5.0) -> None:
        """Stop accepting; give requests in progress `grace` s to answer; close connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections(grace)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address, consumer: Consumer, max_body: int, family: int, auth: BearerAuth | None
    ) -> None:
        self.address_family = family
        self.consumer, self.max_body, self.auth = consumer, max_body, auth
        self.stopping = False
        self._connections: set[socket.socket] = set()
        self._busy = 0
        self._cond = threading.Condition()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        with self._cond:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._cond:
            self._connections.discard(request)
        super().shutdown_request(request)

    @contextmanager
    def busy(self):
        with self._cond:
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def close_connections(self, grace: float) -> None:
        # Keep-alive connections outlive serve_forever: answer what is in progress, then cut them.
        with self._cond:
            self.stopping = True
            self._cond.wait_for(lambda: self._busy == 0, grace)
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        # The exception's type and place, not its message or a traceback: either could
        # quote what the sender sent (a token, a prompt).
        exc = sys.exc_info()[1]
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc is not None else None
        log.debug(
            "OTLP/HTTP connection from %s failed: %s%s",
            client_address[0],
            type(exc).__name__,
            f" at {frame.filename}:{frame.lineno}" if frame else "",
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "otel-ai-detect"
    timeout = 120  # an idle keep-alive connection does not hold a thread forever
    server: _Server

    def do_POST(self) -> None:
        with self.server.busy():
            media = JSON if media_type(self.headers.get("Content-Type")) == JSON else PROTOBUF
            if not self._authenticated(drain=True):
                return
            try:
                status, body, headers = 200, self._export(), {}
            except HttpError as err:
                self.close_connection = self.close_connection or err.close
                status, body, headers = (
                    err.status,
                    status_body(err.status, err.message, media),
                    err.headers,
                )
            self._respond(status, media, body, headers)
            if self.server.stopping:
                self.close_connection = True

    def handle_expect_100(self) -> bool:
        # Refuse before "100 Continue": the sender then never sends the body.
        return self._authenticated(drain=False) and super().handle_expect_100()

    def _authenticated(self, *, drain: bool) -> bool:
        """True when auth is off or the token is right; else answers 401 and returns False."""
        auth = self.server.auth
        if auth is None or auth.check(self.headers.get("Authorization")):
            return True
        if drain:
            discard_small_body(self.rfile, self.headers, min(DRAIN_LIMIT, self.server.max_body))
        self.close_connection = True  # an unauthenticated sender does not keep a connection
        media = JSON if media_type(self.headers.get("Content-Type")) == JSON else PROTOBUF
        self._respond(401, media, refusal_body(media == JSON), {"WWW-Authenticate": CHALLENGE})
        return False

    def _not_allowed(self) -> None:
        if not self._authenticated(drain=False):  # as the Collector: auth before routing
            return
        self.close_connection = True  # any body is left unread
        if self.path.split("?", 1)[0] in ROUTES:
            self._respond(
                405,
                PROTOBUF,
                status_body(405, f"method {self.command} not allowed; use POST", PROTOBUF),
                {"Allow": "POST"},
            )
        else:
            self._respond(
                404, PROTOBUF, status_body(404, f"no such path {self.path[:100]!r}", PROTOBUF)
            )

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def _export(self) -> bytes:
        route = ROUTES.get(self.path.split("?", 1)[0])
        if route is None:
            raise HttpError(404, f"no such path {self.path[:100]!r}", close=True)
        request_type, response_type, submit_name = route
        content_type = self.headers.get("Content-Type")
        media = media_type(content_type)
        if media not in (PROTOBUF, JSON):
            raise HttpError(
                415,
                f"unsupported Content-Type {content_type!r}; use {PROTOBUF} or {JSON}",
                close=True,
            )
        body = read_body(self.rfile, self.headers, self.server.max_body)
        if media == PROTOBUF:
            try:
                request = request_type.FromString(body)
            except DecodeError as exc:
                raise HttpError(
                    400, f"cannot decode {request_type.DESCRIPTOR.name} protobuf: {exc}"
                ) from None
        else:
            try:
                request = otlp_json.parse(body, request_type())
            except otlp_json.OtlpJsonError as exc:
                raise HttpError(
                    400, f"cannot decode {request_type.DESCRIPTOR.name} JSON: {exc}"
                ) from None
        try:
            getattr(self.server.consumer, submit_name)(request, body if media == PROTOBUF else None)
        except Refused as refused:
            raise HttpError(
                503,
                str(refused),
                headers={"Retry-After": retry_after_header(refused.retry_after_seconds)},
            ) from None
        except Exception as exc:  # a bug, not the sender's fault; never echo content
            log.error("OTLP/HTTP %s failed: %s", self.path, type(exc).__name__)
            raise HttpError(500, f"internal error ({type(exc).__name__})") from None
        return (
            otlp_json.dumps(response_type()).encode()
            if media == JSON
            else response_type().SerializeToString()
        )

    def _respond(
        self, status: int, media: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def version_string(self) -> str:
        return self.server_version  # no Python version on the wire

    # The stdlib's access and error lines quote the raw request line: its query string or
    # a malformed line can hold anything (an api_key=...). Log a known route or nothing.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("OTLP/HTTP %s %s %s %s", self.client_address[0], self.command,
                  self._safe_path(), code)

    def log_error(self, format: str, *args) -> None:  # noqa: A002  (stdlib signature)
        code = args[0] if args and isinstance(args[0], int) else "-"
        log.debug("OTLP/HTTP %s malformed request (%s)", self.client_address[0], code)

    def log_message(self, format: str, *args) -> None:  # noqa: A002  (stdlib signature)
        log.debug("OTLP/HTTP %s %s", self.client_address[0], format.split("%", 1)[0].strip())

    def _safe_path(self) -> str:
        path = (getattr(self, "path", "") or "").split("?", 1)[0]
        return path if path in ROUTES else "(other path)"
