"""OTLP gRPC and HTTP exporters against a scripted sink: delivery, retries, giving up, shutdown."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from conftest import exporter_config

from otel_ai_detect.config_types import RetryConfig
from otel_ai_detect.exporters import ExportResult, OtlpGrpcExporter, OtlpHttpExporter
from otel_ai_detect.exporters.otlp_http import parse_retry_after
from otel_ai_detect.testing import genai_span, log_record, logs_request, traces_request

REQUEST = traces_request(genai_span(), genai_span())
PAYLOAD = REQUEST.SerializeToString()
SLOW_RETRY = RetryConfig(initial_interval=30.0, max_interval=30.0, max_elapsed_time=300.0)


@pytest.fixture(params=["grpc", "http/protobuf"])
def protocol(request) -> str:
    return request.param


@pytest.fixture
def make_exporter(sink, protocol):
    made = []

    def make(**overrides):
        config = exporter_config(sink, protocol, **overrides)
        exporter = (OtlpGrpcExporter if protocol == "grpc" else OtlpHttpExporter)(config)
        made.append(exporter)
        return exporter

    yield make
    for exporter in made:
        exporter.shutdown()


def test_an_export_is_delivered_once_and_reports_success(make_exporter, sink, protocol):
    assert make_exporter().export("traces", PAYLOAD, 2) == ExportResult(True, 1)
    assert sink.messages("traces") == [REQUEST]
    assert sink.requests[0].protocol == ("grpc" if protocol == "grpc" else "http")


def test_alerts_are_sent_to_the_logs_endpoint(make_exporter, sink):
    alerts = logs_request(log_record("alert", event_name="ai.security.alert"))
    assert make_exporter(compression="none").export("alerts", alerts.SerializeToString(), 1).ok
    assert sink.messages("logs") == [alerts]


def test_headers_reach_the_server(make_exporter, sink, protocol):
    exporter = make_exporter(headers=(("Authorization", "Bearer t0k3n"), ("x-tenant", "blue")))
    assert exporter.export("traces", PAYLOAD, 2).ok
    headers = sink.requests[0].headers
    assert (headers["authorization"], headers["x-tenant"]) == ("Bearer t0k3n", "blue")
    if protocol != "grpc":
        assert headers["content-encoding"] == "gzip"  # the default compression


def test_unavailable_is_retried_and_the_data_arrives_exactly_once(make_exporter, sink):
    sink.fail_next(3)  # UNAVAILABLE / 503, no retry hint: exponential backoff
    result = make_exporter().export("traces", PAYLOAD, 2)
    assert (result.ok, result.attempts) == (True, 4)
    assert sink.attempts == 4
    assert sink.messages("traces") == [REQUEST]


def test_the_servers_retry_hint_replaces_the_backoff(make_exporter, sink, protocol):
    # With a 30 s initial interval only the hint (RetryInfo 10 ms / Retry-After: 0) makes it fast.
    sink.fail_next(2, retry_after=0.01 if protocol == "grpc" else 0)
    started = time.monotonic()
    result = make_exporter(retry_on_failure=SLOW_RETRY).export("traces", PAYLOAD, 2)
    assert (result.ok, result.attempts) == (True, 3)
    assert time.monotonic() - started < 5
    assert sink.messages("traces") == [REQUEST]


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.DATA_LOSS,
    ],
)
def test_the_otlp_retryable_grpc_codes_are_retried(sink, code):
    exporter = OtlpGrpcExporter(exporter_config(sink, "grpc"))
    sink.fail_next(1, grpc_code=code)
    assert exporter.export("traces", PAYLOAD, 2) == ExportResult(True, 2)
    exporter.shutdown()


@pytest.mark.parametrize("status", [429, 502, 504])
def test_the_otlp_retryable_http_statuses_are_retried(sink, status):
    exporter = OtlpHttpExporter(exporter_config(sink, "http/protobuf"))
    sink.fail_next(1, http_status=status)
    assert exporter.export("traces", PAYLOAD, 2) == ExportResult(True, 2)
    exporter.shutdown()


def test_resource_exhausted_is_retried_only_with_retry_info(sink):
    exporter = OtlpGrpcExporter(exporter_config(sink, "grpc"))
    sink.fail_next(1, grpc_code=grpc.StatusCode.RESOURCE_EXHAUSTED)
    result = exporter.export("traces", PAYLOAD, 2)
    assert (result.ok, result.attempts) == (False, 1)
    sink.fail_next(1, grpc_code=grpc.StatusCode.RESOURCE_EXHAUSTED, retry_after=0.01)
    assert exporter.export("traces", PAYLOAD, 2) == ExportResult(True, 2)
    exporter.shutdown()


def test_a_non_retryable_error_is_not_retried_and_says_why(make_exporter, sink):
    sink.fail_next(
        1, grpc_code=grpc.StatusCode.INVALID_ARGUMENT, http_status=400, message="span 7 is bad"
    )
    result = make_exporter().export("traces", PAYLOAD, 2)
    assert (result.ok, result.attempts) == (False, 1)
    assert "not retryable" in result.error and "span 7 is bad" in result.error
    assert sink.attempts == 1 and sink.requests == []


def test_retries_give_up_after_max_elapsed_time(make_exporter, sink):
    sink.fail_next(10_000)
    policy = RetryConfig(initial_interval=0.01, max_interval=0.02, max_elapsed_time=0.3)
    started = time.monotonic()
    result = make_exporter(retry_on_failure=policy).export("traces", PAYLOAD, 2)
    assert not result.ok and "gave up" in result.error
    assert result.attempts > 2 and sink.attempts == result.attempts
    assert time.monotonic() - started < 2
    assert sink.requests == []


def test_with_retry_disabled_one_failure_is_final(make_exporter, sink):
    sink.fail_next(1)
    result = make_exporter(retry_on_failure=RetryConfig(enabled=False)).export("traces", PAYLOAD, 2)
    assert (result.ok, result.attempts) == (False, 1) and "disabled" in result.error


def test_shutdown_cuts_a_backoff_short(make_exporter, sink):
    exporter = make_exporter(retry_on_failure=SLOW_RETRY)
    sink.fail_next(1)
    results = []
    worker = threading.Thread(target=lambda: results.append(exporter.export("traces", PAYLOAD, 2)))
    started = time.monotonic()
    worker.start()
    assert sink.wait_for(lambda: sink.attempts == 1, 5)  # now waiting ~30 s before the retry
    exporter.shutdown()
    worker.join(5)
    assert not worker.is_alive() and time.monotonic() - started < 5
    assert not results[0].ok and "shut down" in results[0].error


def test_a_downstream_that_goes_away_and_comes_back_gets_the_data_once(make_exporter, sink):
    exporter = make_exporter()
    assert exporter.export("traces", PAYLOAD, 2).ok  # connected
    sink.stop()
    down = make_exporter(retry_on_failure=RetryConfig(enabled=False)).export("traces", PAYLOAD, 2)
    assert not down.ok  # it really is gone
    results = []
    worker = threading.Thread(target=lambda: results.append(exporter.export("traces", PAYLOAD, 2)))
    worker.start()
    sink.start()  # same ports
    worker.join(10)
    assert results and results[0].ok
    assert sink.messages("traces") == [REQUEST, REQUEST]


def test_exporters_return_a_failure_instead_of_raising_after_shutdown(make_exporter, sink):
    exporter = make_exporter()
    exporter.shutdown()
    result = exporter.export("traces", PAYLOAD, 2)
    assert isinstance(result, ExportResult) and not result.ok


@pytest.mark.parametrize("header, seconds", [("7", 7.0), ("0", 0.0), (None, None), ("soon", None)])
def test_retry_after_is_read_as_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_may_be_an_http_date():
    from email.utils import formatdate

    assert 50 < parse_retry_after(formatdate(time.time() + 60, usegmt=True)) <= 60


def test_an_attempt_that_times_out_is_retried(make_exporter, sink, protocol):
    exporter = make_exporter(timeout=0.2)
    sink.stall()
    results = []
    worker = threading.Thread(target=lambda: results.append(exporter.export("traces", PAYLOAD, 2)))
    worker.start()
    assert sink.wait_for(lambda: sink.attempts >= 2, 5)  # the first attempt timed out, then a retry
    sink.release()
    worker.join(10)
    assert results[0].ok and results[0].attempts >= 2
    if protocol == "grpc":  # a cancelled RPC is known to the server: exactly once
        assert sink.messages("traces") == [REQUEST]
    else:  # plain HTTP cannot tell: at least once
        assert REQUEST in sink.messages("traces")
