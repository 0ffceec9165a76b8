"""OTLP/gRPC receiver: TraceService, LogsService and MetricsService `Export`.

The handlers are registered with `request_deserializer=None`, so they get the
raw bytes and parse them here, instead of through the generated servicers
(`*_service_pb2_grpc.add_*Servicer_to_server`): those deserialize before any
user code runs and turn a malformed payload into INTERNAL "Exception
deserializing request!", where OTLP asks for INVALID_ARGUMENT with a reason.
Keeping the raw bytes also lets pass-through data leave byte for byte.

A sync `grpc.server`: the engine is CPU-bound Python, and one handler thread
measured faster than eight (GIL contention; reference/performance-facts.md).
Messages over `max_recv_msg_size` are refused by grpc itself with
RESOURCE_EXHAUSTED before reaching a handler.

With `auth` set, the `authorization` metadata is checked first in every
handler: a missing or wrong token is UNAUTHENTICATED before the bytes are
decoded, so nothing of an unauthenticated request reaches the service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_ai_detect.config_types import GrpcReceiverConfig
from otel_ai_detect.health import add_health_service, service_ready
from otel_ai_detect.receiver import Consumer, Refused, split_endpoint
from otel_ai_detect.receiver.auth import (
    REFUSAL,
    BearerAuth,
    service_stats,
    warn_if_cleartext,
)

log = logging.getLogger(__name__)


class GrpcReceiver:
    """Serves OTLP/gRPC on `config.endpoint`; `port` is the bound port after `start()`."""

    def __init__(
        self, config: GrpcReceiverConfig, consumer: Consumer, *, handler_threads: int = 1
    ) -> None:
        self._config = config
        self._consumer = consumer
        self._handler_threads = handler_threads
        self._server: grpc.Server | None = None
        self.auth: BearerAuth | None = None
        self.port = 0
        self.health = None  # the grpc.health.v1 servicer, once started

    @property
    def auth_refused(self) -> int:
        """Requests refused as UNAUTHENTICATED since start."""
        return self.auth.refused if self.auth is not None else 0

    def start(self) -> None:
        # Read the token (file) first: a bad one is a start error, before a port is bound.
        self.auth = BearerAuth.from_config(
            self._config.auth, stats=service_stats(self._consumer), receiver="otlp/grpc"
        )
        server = grpc.server(
            ThreadPoolExecutor(self._handler_threads, thread_name_prefix="otlp-grpc"),
            options=[("grpc.max_receive_message_length", self._config.max_recv_msg_size)],
        )
        server.add_generic_rpc_handlers(self._handlers())
        # grpc.health.v1 beside OTLP, as load balancers and Kubernetes probes expect it.
        self.health = add_health_service(server, lambda: service_ready(self._consumer))
        host, port = split_endpoint(self._config.endpoint)
        address = f"[{host or '::'}]:{port}" if ":" in host or not host else f"{host}:{port}"
        tls = self._config.tls
        warn_if_cleartext("otlp/grpc", self.auth, tls, host)
        if tls is not None and tls.cert_file:
            self.port = server.add_secure_port(address, _server_credentials(tls))
        else:
            self.port = server.add_insecure_port(address)
        server.start()
        self._server = server
        log.info("OTLP/gRPC receiver listening on %s (port %d)", address, self.port)

    def stop(self, grace: float = 5.0) -> None:
        """Refuse new RPCs now; give in-flight ones `grace` seconds to finish."""
        if self.health is not None:
            self.health.refresh()  # open Watch streams see NOT_SERVING
        if self._server is not None:
            self._server.stop(grace).wait(grace + 1.0)
            self._server = None

    def _handlers(self) -> tuple[grpc.GenericRpcHandler, ...]:
        consumer = self._consumer
        auth = self.auth
        table = (
            (
                trace_service_pb2,
                "TraceService",
                trace_service_pb2.ExportTraceServiceRequest,
                trace_service_pb2.ExportTraceServiceResponse,
                consumer.submit_traces,
            ),
            (
                logs_service_pb2,
                "LogsService",
                logs_service_pb2.ExportLogsServiceRequest,
                logs_service_pb2.ExportLogsServiceResponse,
                consumer.submit_logs,
            ),
            (
                metrics_service_pb2,
                "MetricsService",
                metrics_service_pb2.ExportMetricsServiceRequest,
                metrics_service_pb2.ExportMetricsServiceResponse,
                consumer.submit_metrics,
            ),
        )
        handlers = []
        for module, service, request_type, response_type, submit in table:
            full_name = module.DESCRIPTOR.services_by_name[service].full_name
            method = grpc.unary_unary_rpc_method_handler(
                _export(request_type, response_type().SerializeToString(), submit, auth),
                request_deserializer=None,  # raw bytes: see the module docstring
                response_serializer=None,
            )
            handlers.append(grpc.method_handlers_generic_handler(full_name, {"Export": method}))
        return tuple(handlers)


def _export(
    request_type: type[Message],
    response: bytes,
    submit: Callable[[Message, bytes], None],
    auth: BearerAuth | None,
) -> Callable[[bytes, grpc.ServicerContext], bytes]:
    name = request_type.DESCRIPTOR.name

    def export(raw: bytes, context: grpc.ServicerContext) -> bytes:
        if auth is not None and not auth.check(_authorization(context)):
            # Before decoding: an unauthenticated sender gets no parser time and no reason
            # beyond the fixed one (which never quotes what it presented).
            context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSAL)
        try:
            request = request_type.FromString(raw)
        except DecodeError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"cannot decode {name}: {exc}")
        try:
            submit(request, raw)
        except Refused as refused:
            context.abort_with_status(unavailable_status(refused))
        except Exception as exc:  # a bug, not the sender's fault; never echo content
            log.error("OTLP/gRPC %s failed: %s", name, type(exc).__name__, exc_info=False)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error ({type(exc).__name__})")
        return response

    return export


def _authorization(context: grpc.ServicerContext) -> str | None:
    """The first `authorization` metadata value, as bearertokenauth reads it."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":  # gRPC lower-cases metadata keys on the wire
            return value
    return None


def unavailable_status(refused: Refused) -> grpc.Status:
    """UNAVAILABLE with a google.rpc.RetryInfo detail (the grpc-status-details-bin trailer)."""
    retry_info = error_details_pb2.RetryInfo()
    retry_info.retry_delay.FromNanoseconds(int(refused.retry_after_seconds * 1e9))
    detail = any_pb2.Any()
    detail.Pack(retry_info)
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=str(refused), details=[detail])
    return rpc_status.to_status(status)


def _server_credentials(tls) -> grpc.ServerCredentials:
    def read(path: str | None) -> bytes | None:
        if not path:
            return None
        with open(path, "rb") as f:
            return f.read()

    client_ca = read(tls.client_ca_file)
    return grpc.ssl_server_credentials(
        [(read(tls.key_file), read(tls.cert_file))],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )
