"""Drive the real OpenTelemetry SDK (traces and logs) and check what reached the sink."""

from __future__ import annotations

import json

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ai_detect.exporters.base import attributes_dict
from otel_ai_detect.testing import Sink, is_alert, without_annotations

RESOURCE = Resource.create({"service.name": "sdk-sender", "deployment.environment": "test"})


def send_sdk_spans(exporter) -> list:
    """A parent HTTP span and two GenAI children through BatchSpanProcessor; returns the spans."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("sdk-test", "1.0")
    with tracer.start_as_current_span("POST /chat", attributes={"user_agent.original": "curl/8.5"}):
        for i in range(2):
            with tracer.start_as_current_span(
                f"chat gpt-4o-mini {i}",
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
                    ),
                    "gen_ai.request.max_tokens": 200 + i,
                    "gen_ai.request.temperature": 0.5,
                },
            ) as span:
                span.add_event("checkpoint", {"n": i})
    assert provider.force_flush(10_000)
    provider.shutdown()
    return memory.get_finished_spans()


def assert_sdk_spans_arrived(sent: list, sink: Sink) -> None:
    assert sink.wait_for(lambda: len(sink.spans()) >= len(sent), 10), "spans did not arrive"
    received = {span.span_id: without_annotations(span) for span in sink.spans()}
    assert len(received) == len(sent) == 3
    for original in sent:
        span = received[original.context.span_id.to_bytes(8, "big")]
        assert span.trace_id == original.context.trace_id.to_bytes(16, "big")
        assert span.name == original.name
        assert span.start_time_unix_nano == original.start_time
        assert span.end_time_unix_nano == original.end_time
        assert attributes_dict(span.attributes) == dict(original.attributes)
        assert [(e.name, attributes_dict(e.attributes)) for e in span.events] == [
            (e.name, dict(e.attributes)) for e in original.events
        ]
        if original.parent is not None:
            assert span.parent_span_id == original.parent.span_id.to_bytes(8, "big")
    resource = sink.messages("traces")[0].resource_spans[0].resource
    assert attributes_dict(resource.attributes)["service.name"] == "sdk-sender"


def send_sdk_logs(exporter) -> list:
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("sdk-test")
    logger.emit(body="plain log line", severity_number=SeverityNumber.INFO, attributes={"k": "v"})
    logger.emit(
        body={"content": "hello"},
        severity_number=SeverityNumber.WARN,
        event_name="gen_ai.user.message",
        attributes={"gen_ai.provider.name": "openai"},
    )
    provider.shutdown()
    return [data.log_record for data in memory.get_finished_logs()]


def assert_sdk_logs_arrived(sent: list, sink: Sink) -> None:
    def records():
        return [r for r in sink.log_records() if not is_alert(r)]

    assert sink.wait_for(lambda: len(records()) >= len(sent), 10), "log records did not arrive"
    received = records()
    assert len(received) == len(sent) == 2
    by_severity = {r.severity_number: r for r in received}
    for original in sent:
        record = by_severity[original.severity_number.value]
        assert record.time_unix_nano == (original.timestamp or 0)
        assert record.observed_time_unix_nano == original.observed_timestamp
        assert record.event_name == (original.event_name or "")
        assert attributes_dict(record.attributes) == dict(original.attributes)
    assert by_severity[9].body.string_value == "plain log line"
    assert attributes_dict(by_severity[13].body.kvlist_value.values) == {"content": "hello"}
