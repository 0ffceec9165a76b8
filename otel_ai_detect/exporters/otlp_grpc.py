"""OTLP/gRPC exporter: sends pre-serialized Export*ServiceRequest bytes.

The multicallables are made with `request_serializer=None`, so the payload
bytes (serialized once by the service) go out as they are. Retryable codes
follow the OTLP spec and the Python SDK: UNAVAILABLE, DEADLINE_EXCEEDED,
ABORTED, CANCELLED, OUT_OF_RANGE, DATA_LOSS, and RESOURCE_EXHAUSTED only when
the server sent a google.rpc.RetryInfo (otherwise it means "too large" and a
resend cannot help). A RetryInfo delay is the next wait.
`tls.insecure_skip_verify` has no gRPC equivalent in grpcio: use `ca_file`.
"""

from __future__ import annotations

import logging
import threading

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from otel_ai_detect.config_types import OtlpExporterConfig
from otel_ai_detect.exporters.base import (
    GRPC_METHODS,
    SIGNALS,
    WIRE_SIGNAL,
    Attempt,
    ExportResult,
    partial_success_warning,
)
from otel_ai_detect.exporters.retry import Retrier

log = logging.getLogger(__name__)

RETRYABLE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.DATA_LOSS,
    }
)


class OtlpGrpcExporter:
    name = "otlp"
    signals = frozenset(SIGNALS)

    def __init__(self, config: OtlpExporterConfig, name: str = "otlp") -> None:
        self.name = name
        self._stop = threading.Event()
        self._retrier = Retrier(config.retry_on_failure, self._stop)
        self._timeout = config.timeout
        self._metadata = tuple((key.lower(), value) for key, value in config.headers) or None
        compression = (
            grpc.Compression.Gzip
            if config.compression == "gzip"
            else grpc.Compression.NoCompression
        )
        target = _target(config.endpoint)
        if config.tls.insecure:
            self._channel = grpc.insecure_channel(target, compression=compression)
        else:
            if config.tls.insecure_skip_verify:
                log.warning(
                    "exporter %s: tls.insecure_skip_verify is not supported over gRPC; verifying",
                    name,
                )
            self._channel = grpc.secure_channel(
                target, _credentials(config), compression=compression
            )
        self._calls = {
            signal: self._channel.unary_unary(
                GRPC_METHODS[WIRE_SIGNAL[signal]],
                request_serializer=None,
                response_deserializer=None,
            )
            for signal in SIGNALS
        }

    def export(self, signal: str, payload: bytes, count: int) -> ExportResult:
        try:
            return self._retrier.run(lambda: self._send(signal, payload))
        except Exception as exc:  # never raise into the consumer loop
            return ExportResult(False, 0, f"unexpected {type(exc).__name__}: {exc}")

    def shutdown(self) -> None:
        self._stop.set()  # cuts a backoff short
        self._channel.close()  # cancels an RPC in flight

    def _send(self, signal: str, payload: bytes) -> Attempt:
        try:
            response = self._calls[signal](payload, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            code = err.code()
            retry_after = retry_delay(err)
            retryable = code in RETRYABLE_CODES or (
                code == grpc.StatusCode.RESOURCE_EXHAUSTED and retry_after is not None
            )
            return Attempt(False, retryable, retry_after, f"{code.name}: {err.details()}")
        except ValueError as exc:  # "Cannot invoke RPC on closed channel!" during shutdown
            return Attempt(False, False, None, str(exc))
        warning = partial_success_warning(signal, response)
        if warning:
            log.warning("exporter %s: %s", self.name, warning)
        return Attempt(True)


def retry_delay(err: grpc.RpcError) -> float | None:
    """The RetryInfo delay a gRPC refusal carries, in seconds; None when it has none."""
    try:
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
    except ValueError:  # details disagree with the call's code: ignore them
        return None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.ToNanoseconds() / 1e9
    return None


def _target(endpoint: str) -> str:
    """grpc wants host:port; accept the http(s)://host:port form people paste from HTTP configs."""
    for scheme in ("http://", "https://", "grpc://"):
        if endpoint.startswith(scheme):
            endpoint = endpoint[len(scheme) :]
    return endpoint.rstrip("/")


def _credentials(config: OtlpExporterConfig) -> grpc.ChannelCredentials:
    def read(path: str | None) -> bytes | None:
        if not path:
            return None
        with open(path, "rb") as f:
            return f.read()

    tls = config.tls
    return grpc.ssl_channel_credentials(
        root_certificates=read(tls.ca_file),
        private_key=read(tls.key_file),
        certificate_chain=read(tls.cert_file),
    )
