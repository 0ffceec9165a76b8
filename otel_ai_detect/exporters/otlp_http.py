"""OTLP/HTTP exporter: POST application/x-protobuf to {endpoint}/v1/{traces|logs|metrics}.

One urllib3 PoolManager (keep-alive, one connection per consumer thread).
Retryable, per the OTLP spec: 429, 502, 503, 504, and connection errors or
timeouts; a Retry-After header (seconds or an HTTP date) is the next wait.
Any other status is final; the google.rpc.Status message in the body, if
any, goes into the error so the log says why.
"""

from __future__ import annotations

import email.utils
import gzip
import logging
import threading
import time

import urllib3
from google.rpc import status_pb2

from otel_ai_detect import otlp_json
from otel_ai_detect.config_types import OtlpExporterConfig
from otel_ai_detect.exporters.base import (
    SIGNALS,
    WIRE_SIGNAL,
    Attempt,
    ExportResult,
    partial_success_warning,
)
from otel_ai_detect.exporters.retry import Retrier

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


class OtlpHttpExporter:
    name = "otlp"
    signals = frozenset(SIGNALS)

    def __init__(self, config: OtlpExporterConfig, name: str = "otlp") -> None:
        self.name = name
        self._stop = threading.Event()
        self._retrier = Retrier(config.retry_on_failure, self._stop)
        endpoint = config.endpoint.rstrip("/")
        if "://" not in endpoint:
            endpoint = ("http://" if config.tls.insecure else "https://") + endpoint
        self._urls = {signal: f"{endpoint}/v1/{WIRE_SIGNAL[signal]}" for signal in SIGNALS}
        self._gzip = config.compression == "gzip"
        self._headers = {key: value for key, value in config.headers}
        self._headers["Content-Type"] = "application/x-protobuf"
        if self._gzip:
            self._headers["Content-Encoding"] = "gzip"
        tls = config.tls
        if tls.insecure_skip_verify:
            # Said once here, instead of urllib3's warning on every request.
            log.warning("exporter %s: tls.insecure_skip_verify: server certificate NOT verified", name)
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._timeout = urllib3.Timeout(total=config.timeout)
        self._pool = urllib3.PoolManager(
            maxsize=max(1, config.sending_queue.num_consumers),
            cert_reqs="CERT_NONE" if tls.insecure_skip_verify else "CERT_REQUIRED",
            ca_certs=tls.ca_file,
            cert_file=tls.cert_file,
            key_file=tls.key_file,
        )

    def export(self, signal: str, payload: bytes, count: int) -> ExportResult:
        try:
            # Level 1: most of gzip's ratio on OTLP at a fraction of level 9's CPU.
            body = gzip.compress(payload, compresslevel=1) if self._gzip else payload
            return self._retrier.run(lambda: self._send(signal, body))
        except Exception as exc:  # never raise into the consumer loop
            return ExportResult(False, 0, f"unexpected {type(exc).__name__}: {exc}")

    def shutdown(self) -> None:
        self._stop.set()  # cuts a backoff short
        self._pool.clear()

    def _send(self, signal: str, body: bytes) -> Attempt:
        try:
            # retries=False: the policy is ours (Retrier); urllib3's would retry behind its back.
            response = self._pool.request(
                "POST",
                self._urls[signal],
                body=body,
                headers=self._headers,
                timeout=self._timeout,
                retries=False,
                redirect=False,
            )
        except (
            urllib3.exceptions.HTTPError
        ) as exc:  # refused, reset, timed out: the OTLP spec says retry
            return Attempt(False, True, None, f"{type(exc).__name__}: {exc}")
        status = response.status
        if 200 <= status < 300:
            warning = partial_success_warning(signal, response.data)
            if warning:
                log.warning("exporter %s: %s", self.name, warning)
            return Attempt(True)
        return Attempt(
            False,
            status in RETRYABLE_STATUSES,
            parse_retry_after(response.headers.get("Retry-After")),
            f"HTTP {status}: {_status_message(response)}",
        )


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is delay-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _status_message(response: urllib3.BaseHTTPResponse) -> str:
    data = response.data or b""
    try:
        if "json" in response.headers.get("Content-Type", ""):
            status = otlp_json.parse(data, status_pb2.Status())
        else:
            status = status_pb2.Status.FromString(data)
        if status.message:
            return status.message[:500]
    except Exception:  # not a Status: show a little of whatever it is
        pass
    return data[:200].decode("utf-8", "replace")
