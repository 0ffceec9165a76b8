"""The OTLP/HTTP receiver: SDK exporters, the captured samples, every way a body can be wrong."""

from __future__ import annotations

import gzip
import http.client
import json
import tracemalloc

import pytest
from conftest import SAMPLES
from google.rpc import code_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from sdk_helpers import (
    assert_sdk_logs_arrived,
    assert_sdk_spans_arrived,
    send_sdk_logs,
    send_sdk_spans,
)

from otel_ai_detect import otlp_json
from otel_ai_detect.config_types import QueueConfig
from otel_ai_detect.testing import (
    genai_span,
    is_alert,
    metrics_request,
    traces_request,
    without_annotations,
)

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
SAMPLE_FILES = sorted(SAMPLES.glob("*.traces.otlp.json")) + sorted(SAMPLES.glob("*.logs.otlp.json"))


def post(port: int, path: str, body: bytes, headers: dict[str, str], method: str = "POST"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def status_message(body: bytes, json_body: bool = False) -> str:
    if json_body:
        return json.loads(body)["message"]
    return status_pb2.Status.FromString(body).message


def test_spans_from_the_sdk_http_exporter_arrive_unchanged(service, sink):
    exporter = OTLPSpanExporter(
        endpoint=f"http://127.0.0.1:{service.http_port}/v1/traces", compression=Compression.Gzip
    )
    assert_sdk_spans_arrived(send_sdk_spans(exporter), sink)


def test_log_records_from_the_sdk_http_exporter_arrive_unchanged(service, sink):
    exporter = OTLPLogExporter(endpoint=f"http://127.0.0.1:{service.http_port}/v1/logs")
    assert_sdk_logs_arrived(send_sdk_logs(exporter), sink)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_each_sample_posts_as_json_protobuf_and_gzip_and_arrives_the_same(service, sink, path):
    signal = "traces" if ".traces." in path.name else "logs"
    request_type = ExportTraceServiceRequest if signal == "traces" else ExportLogsServiceRequest
    text = path.read_bytes()
    expected = otlp_json.parse(text, request_type())
    protobuf = expected.SerializeToString()
    bodies = [
        (text, JSON),
        (protobuf, PROTOBUF),
        (gzip.compress(text), {**JSON, "Content-Encoding": "gzip"}),
        (gzip.compress(protobuf), {**PROTOBUF, "Content-Encoding": "gzip"}),
    ]
    for i, (body, headers) in enumerate(bodies, start=1):
        status, _, reply = post(service.http_port, f"/v1/{signal}", body, headers)
        assert status == 200, status_message(reply, "json" in headers["Content-Type"])
        assert sink.wait_for(lambda n=i: len(forwarded(sink, signal)) >= n, 10)
    assert len(forwarded(sink, signal)) == len(bodies)
    for received in forwarded(sink, signal):
        if signal == "traces":
            assert without_annotations(received) == expected
        else:
            assert records(received, keep=lambda r: not is_alert(r)) == records(expected)


def forwarded(sink, signal):
    """The requests the application sent, as forwarded (alert-only log requests left out)."""
    return [
        m
        for m in sink.messages(signal)
        if signal == "traces" or records(m, keep=lambda r: not is_alert(r))
    ]


def records(request, keep=lambda record: True):
    return [
        r for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records if keep(r)
    ]


def test_json_ids_are_read_as_hex_not_base64(service, sink):
    path = SAMPLES / "openai-v2_span_only.traces.otlp.json"
    first = json.loads(path.read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert post(service.http_port, "/v1/traces", path.read_bytes(), JSON)[0] == 200
    assert sink.wait_for(lambda: sink.spans(), 10)
    span = next(s for s in sink.spans() if s.span_id.hex() == first["spanId"])
    assert span.trace_id.hex() == first["traceId"]
    assert len(span.trace_id) == 16 and len(span.span_id) == 8


def test_the_response_body_is_in_the_request_encoding(service):
    body = traces_request(genai_span())
    status, headers, reply = post(
        service.http_port, "/v1/traces", body.SerializeToString(), PROTOBUF
    )
    assert (status, headers["Content-Type"]) == (200, "application/x-protobuf")
    assert ExportTraceServiceResponse.FromString(reply) == ExportTraceServiceResponse()
    status, headers, reply = post(
        service.http_port, "/v1/traces", otlp_json.dumps(body).encode(), JSON
    )
    assert (status, headers["Content-Type"], json.loads(reply)) == (200, "application/json", {})


def test_metrics_pass_through_untouched_as_json_and_protobuf(service, sink):
    request = metrics_request("cpu.time", values=[1, 2])
    assert post(service.http_port, "/v1/metrics", request.SerializeToString(), PROTOBUF)[0] == 200
    assert post(service.http_port, "/v1/metrics", otlp_json.dumps(request).encode(), JSON)[0] == 200
    assert sink.wait_for(lambda: len(sink.messages("metrics")) == 2, 10)
    assert sink.messages("metrics") == [request, request]


def test_requests_share_one_keep_alive_connection(service, sink):
    connection = http.client.HTTPConnection("127.0.0.1", service.http_port, timeout=10)
    body = traces_request(genai_span()).SerializeToString()
    sockets = []
    for _ in range(3):
        connection.request("POST", "/v1/traces", body=body, headers=PROTOBUF)
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        sockets.append(connection.sock)
    connection.close()
    assert sockets[0] is sockets[1] is sockets[2] is not None


def test_a_chunked_body_is_read(service, sink):
    body = traces_request(genai_span()).SerializeToString()
    connection = http.client.HTTPConnection("127.0.0.1", service.http_port, timeout=10)
    connection.request(
        "POST",
        "/v1/traces",
        body=iter([body[:10], body[10:]]),
        headers=PROTOBUF,
        encode_chunked=True,
    )
    assert connection.getresponse().status == 200
    connection.close()
    assert sink.wait_for(lambda: len(sink.spans()) == 1, 10)


@pytest.mark.parametrize(
    "body, headers, status, says",
    [
        (b"\xff\xff\xff\xff", PROTOBUF, 400, "cannot decode ExportTraceServiceRequest"),
        (b'{"resourceSpans": [', JSON, 400, "JSON"),
        (b"[1, 2]", JSON, 400, "object"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "not-hex!"}]}]}]}',
            JSON,
            400,
            "hex",
        ),
        (b"hello", {"Content-Type": "text/plain"}, 415, "unsupported Content-Type"),
        (b"\x1f\x8b\x08garbage", {**PROTOBUF, "Content-Encoding": "gzip"}, 400, "gzip"),
        (
            gzip.compress(b"\x0a\x00" * 1000)[:30],
            {**PROTOBUF, "Content-Encoding": "gzip"},
            400,
            "truncated",
        ),
        (b"abc", {**PROTOBUF, "Content-Encoding": "br"}, 415, "Content-Encoding"),
    ],
    ids=[
        "garbage-protobuf",
        "broken-json",
        "json-not-object",
        "non-hex-id",
        "text-plain",
        "gzip-garbage",
        "gzip-truncated",
        "brotli",
    ],
)
def test_a_malformed_request_gets_a_status_that_says_why(
    service, sink, body, headers, status, says
):
    got, _, reply = post(service.http_port, "/v1/traces", body, headers)
    assert got == status
    json_body = headers.get("Content-Type") == "application/json"
    assert says in status_message(reply, json_body)
    assert service.stats.get("traces", "received") == 0


def test_a_gzip_bomb_is_refused_without_inflating_it(make_service, sink):
    service = make_service(max_request_body_size=256 * 1024)
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB of zeros in ~64 KiB of gzip
    assert len(bomb) < 256 * 1024
    tracemalloc.start()  # the receiver runs in this process: its allocations are visible here
    try:
        status, _, reply = post(
            service.http_port, "/v1/traces", bomb, {**PROTOBUF, "Content-Encoding": "gzip"}
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413
    assert "exceeds the limit" in status_message(reply)
    assert peak < 8 * 1024 * 1024  # inflating it would have taken 64 MiB


def test_a_body_over_the_size_limit_is_413(make_service, sink):
    service = make_service(max_request_body_size=1024)
    body = traces_request(genai_span(user="x" * 5000)).SerializeToString()
    status, headers, reply = post(service.http_port, "/v1/traces", body, PROTOBUF)
    assert status == 413 and "exceeds the limit of 1024" in status_message(reply)
    assert headers.get("Connection") == "close"  # the unread body makes the connection unusable


def test_other_methods_are_405_and_other_paths_404(service):
    status, headers, reply = post(service.http_port, "/v1/traces", b"", {}, method="GET")
    assert (status, headers["Allow"]) == (405, "POST")
    assert status_pb2.Status.FromString(reply).code == code_pb2.UNIMPLEMENTED
    status, _, reply = post(service.http_port, "/v1/profiles", b"", PROTOBUF)
    assert status == 404 and "/v1/profiles" in status_message(reply)


def test_a_full_queue_is_503_with_retry_after(make_service, sink):
    service = make_service(
        "http/protobuf",
        sending_queue=QueueConfig(num_consumers=1, queue_size=1),
        refused_retry_after=2.2,
    )
    sink.stall()
    body = traces_request(genai_span()).SerializeToString()
    assert post(service.http_port, "/v1/traces", body, PROTOBUF)[0] == 200  # held by the sink
    assert sink.wait_for(lambda: sink.stalled == 1, 5)
    assert post(service.http_port, "/v1/traces", body, PROTOBUF)[0] == 200  # the one queue slot
    status, headers, reply = post(service.http_port, "/v1/traces", body, PROTOBUF)
    assert (status, headers["Retry-After"]) == (503, "3")  # whole seconds, rounded up
    assert status_pb2.Status.FromString(reply).code == code_pb2.UNAVAILABLE
    sink.release()
    assert sink.wait_for(lambda: len(sink.spans()) == 2, 5)
    assert service.stats.get("traces", "refused") == 1
