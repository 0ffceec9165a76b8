"""The service between receivers and exporters: routing, engine failures, counters."""

from __future__ import annotations

import io
import json
import logging

import grpc
import pytest
from alert_engines import AlertEveryGenAISpan, BrokenEngine
from conftest import service_config

from otel_ai_detect.config_types import DebugExporterConfig, FileExporterConfig, QueueConfig
from otel_ai_detect.exporters.base import GRPC_METHODS
from otel_ai_detect.service import Refused, Service
from otel_ai_detect.testing import (
    genai_span,
    http_server_span,
    is_alert,
    log_record,
    logs_request,
    metrics_request,
    traces_request,
)


def send(port: int, signal: str, request) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        channel.unary_unary(GRPC_METHODS[signal])(request.SerializeToString(), timeout=5)


def test_alerts_go_to_otlp_as_logs_and_to_debug_and_file(make_service, sink, tmp_path):
    path = tmp_path / "alerts.jsonl"
    stream = io.StringIO()
    service = make_service(
        engine=AlertEveryGenAISpan(),
        debug=DebugExporterConfig(),
        debug_stream=stream,
        file=FileExporterConfig(path=str(path)),
    )
    chat = genai_span()
    send(service.grpc_port, "traces", traces_request(chat, http_server_span()))
    assert sink.wait_for(lambda: len(sink.spans()) == 2 and len(sink.log_records()) == 1, 5)
    alert = sink.log_records()[0]
    assert is_alert(alert) and alert.span_id == chat.span_id
    assert service.shutdown(deadline=5)  # flushes debug and file
    assert stream.getvalue().count("AI.Jailbreak.DetectedAttempt") == 1
    assert json.loads(path.read_text())["spanId"] == chat.span_id.hex()
    assert service.stats.get("alerts", "received") == 1
    assert service.stats.get("alerts", "exported") == 3  # otlp, debug, file
    assert service.stats.get("alerts", "exported", exporter="file") == 1
    assert service.stats.get("traces", "exported") == 2


def test_without_an_otlp_exporter_alerts_still_reach_debug(sink):
    stream = io.StringIO()
    config = service_config(None, debug=DebugExporterConfig())
    service = Service(config, engine=AlertEveryGenAISpan(), debug_stream=stream).start()
    send(service.grpc_port, "traces", traces_request(genai_span()))
    assert service.shutdown(deadline=5)
    assert "AI.Jailbreak.DetectedAttempt" in stream.getvalue()
    assert service.stats.get("traces", "dropped") == 0


def test_an_engine_failure_forwards_the_original_bytes_and_logs_no_content(
    make_service, sink, caplog
):
    service = make_service(engine=BrokenEngine())
    request = traces_request(genai_span(), genai_span())
    with caplog.at_level(logging.ERROR, logger="otel_ai_detect.service"):
        send(service.grpc_port, "traces", request)
        send(service.grpc_port, "logs", logs_request(log_record("hi")))
    assert sink.wait_for(lambda: len(sink.spans()) == 2 and len(sink.log_records()) == 1, 5)
    assert sink.messages("traces") == [request]  # not "half-annotated"
    assert service.stats.get("traces", "engine_errors") == 1
    assert service.stats.get("logs", "engine_errors") == 1
    assert "KeyError" in caplog.text and "secret prompt" not in caplog.text


def test_an_engine_failure_on_json_input_still_forwards_the_request(make_service, sink):
    import http.client

    from otel_ai_detect import otlp_json

    service = make_service(engine=BrokenEngine())
    connection = http.client.HTTPConnection("127.0.0.1", service.http_port, timeout=5)
    connection.request(
        "POST",
        "/v1/logs",
        body=otlp_json.dumps(logs_request(log_record("hi"))).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert connection.getresponse().status == 200
    connection.close()
    assert sink.wait_for(lambda: len(sink.log_records()) == 1, 5)


def test_counters_add_up_per_signal(service, sink):
    send(service.grpc_port, "traces", traces_request(genai_span(), genai_span(), genai_span()))
    send(service.grpc_port, "logs", logs_request(log_record("a"), log_record("b")))
    send(service.grpc_port, "metrics", metrics_request(values=[1, 2, 3, 4]))
    assert service.shutdown(deadline=5)
    snapshot = service.stats.snapshot()
    assert snapshot["traces"]["received"] == snapshot["traces"]["exported"] == 3
    assert snapshot["logs"]["received"] == snapshot["logs"]["exported"] == 2
    assert snapshot["metrics"]["received"] == snapshot["metrics"]["exported"] == 4
    assert all(
        snapshot[s].get("dropped", 0) == snapshot[s].get("refused", 0) == 0 for s in snapshot
    )


def test_failed_attempts_and_drops_are_counted(make_service, sink):
    service = make_service()
    sink.fail_next(2)  # retried: 2 failed attempts of 2 spans
    send(service.grpc_port, "traces", traces_request(genai_span(), genai_span()))
    assert sink.wait_for(lambda: len(sink.spans()) == 2, 5)
    sink.fail_next(1, grpc_code=grpc.StatusCode.INVALID_ARGUMENT)  # final
    send(service.grpc_port, "traces", traces_request(genai_span()))
    assert service.shutdown(deadline=5)
    assert service.stats.get("traces", "failed") == 2 * 2 + 1
    assert service.stats.get("traces", "dropped") == 1
    assert service.stats.get("traces", "exported") == 2


def test_with_the_queue_disabled_the_export_happens_in_the_handler(make_service, sink):
    service = make_service(sending_queue=QueueConfig(enabled=False))
    send(service.grpc_port, "traces", traces_request(genai_span()))
    assert len(sink.spans()) == 1  # already there when the call returned: no waiting
    assert service.stats.get("traces", "exported") == 1


def test_after_shutdown_submit_is_refused(service):
    service.shutdown(deadline=2)
    with pytest.raises(Refused):
        service.submit_traces(traces_request(genai_span()))
    assert service.stats.get("traces", "refused") == 1


def test_giving_up_after_max_elapsed_time_is_counted_and_logged(make_service, sink, caplog):
    from otel_ai_detect.config_types import RetryConfig

    policy = RetryConfig(initial_interval=0.01, max_interval=0.02, max_elapsed_time=0.2)
    service = make_service(retry_on_failure=policy)
    sink.fail_next(10_000)
    with caplog.at_level(logging.ERROR, logger="otel_ai_detect.service"):
        send(service.grpc_port, "traces", traces_request(genai_span(), genai_span()))
        assert service.shutdown(deadline=5)
    assert service.stats.get("traces", "dropped") == 2
    assert service.stats.get("traces", "failed") >= 2 * 2
    assert "dropped 2 traces" in caplog.text and "gave up" in caplog.text
