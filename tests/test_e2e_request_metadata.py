"""Through real OTLP: the real SDK sends an HTTP server span with sqlmap as its user agent
and its GenAI child, in either order and over gRPC or HTTP; one alert arrives downstream."""

from __future__ import annotations

import json

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_ai_detect import semconv as sc
from otel_ai_detect.report import alert_rows

SQLMAP = "sqlmap/1.7.2#stable (https://sqlmap.org)"


def exporter(service, protocol: str):
    if protocol == "grpc":
        return GrpcExporter(endpoint=f"127.0.0.1:{service.grpc_port}", insecure=True)
    return HttpExporter(endpoint=f"http://127.0.0.1:{service.http_port}/v1/traces")


def send_trace(provider: TracerProvider, server_first: bool) -> tuple[int, int, int]:
    """A server span and its GenAI child; SimpleSpanProcessor exports each span as it ends,
    so the span ending first arrives first, in its own request."""
    tracer = provider.get_tracer("chat-app")
    server = tracer.start_span("POST /api/chat", kind=trace.SpanKind.SERVER, attributes={
        sc.USER_AGENT_ORIGINAL: SQLMAP, sc.CLIENT_ADDRESS: "198.51.100.7"})
    context = trace.set_span_in_context(server)
    child = tracer.start_span("chat gpt-4o-mini", context=context, kind=trace.SpanKind.CLIENT,
                              attributes={
        sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        sc.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "user", "parts": [
            {"type": "text", "content": "1' OR '1'='1"}]}])})
    first, second = (server, child) if server_first else (child, server)
    first.end()
    second.end()
    return server.get_span_context().trace_id, server.get_span_context().span_id, \
        child.get_span_context().span_id


@pytest.mark.parametrize("protocol", ["grpc", "http"])
@pytest.mark.parametrize("server_first", [True, False], ids=["server-first", "child-first"])
def test_sqlmap_alerts_once_whichever_span_arrives_first(make_service, sink, protocol, server_first):
    service = make_service()
    provider = TracerProvider(resource=Resource.create({"service.name": "chat-app"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter(service, protocol)))
    trace_id, server_id, child_id = send_trace(provider, server_first)
    provider.shutdown()
    assert sink.wait_for(lambda: len(sink.spans()) == 2 and alert_rows(sink.messages("logs")))
    [row] = alert_rows(sink.messages("logs"))
    assert row.rule == "AI.AccessFromSuspiciousUserAgent" and "sqlmap" in row.evidence
    assert row.trace_id == format(trace_id, "032x")
    # The alert sits on the span that completed the picture: the one that arrived second.
    expected_span = child_id if server_first else server_id
    assert row.span_id == format(expected_span, "016x")
    annotated = [s for s in sink.spans() if any(e.name == sc.ALERT_EVENT_NAME for e in s.events)]
    assert [s.span_id for s in annotated] == [expected_span.to_bytes(8, "big")]
