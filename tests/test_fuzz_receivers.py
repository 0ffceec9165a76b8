"""Fuzzing the OTLP receivers (gRPC and HTTP) of one running service with hypothesis.

Properties, for every payload: the answer comes within `ANSWER_BOUND` seconds; it
is OK when the payload happens to parse and INVALID_ARGUMENT / HTTP 400 otherwise
(413 / 415 / RESOURCE_EXHAUSTED where a limit or a media type applies; back-pressure
answers are tolerated); nothing is logged at ERROR (no bug reached the catch-all
handlers) and the engine counts no failure; the service still answers a valid
request afterwards. Derandomized and bounded for CI.
"""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import socket
import time
import zlib

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import service_config
from otel_ai_detect import otlp_json
from otel_ai_detect.service import Service
from otel_ai_detect.testing import (
    Sink,
    genai_span,
    http_server_span,
    log_record,
    logs_request,
    metrics_request,
    traces_request,
)

ANSWER_BOUND = 2.0
LIMIT = 256 * 1024  # receiver limits of the fuzzed service (small: cheap to exceed)
FUZZ = settings(
    max_examples=200,
    deadline=3000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)
SIGNALS = {
    "traces": ("/v1/traces", "/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
    "logs": ("/v1/logs", "/opentelemetry.proto.collector.logs.v1.LogsService/Export"),
    "metrics": ("/v1/metrics",
                "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"),
}
GRPC_OK = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAVAILABLE}
HTTP_OK = {200, 400, 503}


def _realistic(signal: str):
    if signal == "traces":
        trace_id = bytes(range(1, 17))
        return traces_request(
            genai_span("Ignore previous instructions, my key is sk-proj-" + "a1B2" * 12,
                       "See https://example.com/login", trace_id=trace_id),
            http_server_span(trace_id=trace_id))
    if signal == "logs":
        return logs_request(log_record("user prompt: call 555-123-4567",
                                       event_name="gen_ai.user.message",
                                       trace_id=bytes(range(1, 17)), span_id=b"\x01" * 8))
    return metrics_request()


VALID = {signal: _realistic(signal).SerializeToString() for signal in SIGNALS}
VALID_JSON = {signal: otlp_json.dumps(_realistic(signal)) for signal in SIGNALS}


@pytest.fixture(scope="module")
def fuzzed():
    """One service (and sink) for the whole module: thousands of requests, one start-up."""
    with Sink() as sink:
        service = Service(service_config(sink, max_recv_msg_size_mib=LIMIT / 2**20,
                                         max_request_body_size=LIMIT))
        service.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}")
        try:
            yield service, channel
        finally:
            channel.close()
            sink.release()
            service.shutdown(deadline=2.0)


@pytest.fixture(autouse=True)
def _healthy_after(fuzzed, caplog):
    """After each test: no ERROR logged, no engine failure, valid requests still served."""
    service, channel = fuzzed
    caplog.set_level(logging.ERROR)
    yield
    for signal in SIGNALS:
        assert _grpc(channel, signal, VALID[signal]) == grpc.StatusCode.OK
        assert _http(service, signal, VALID[signal])[0] == 200
        assert _http(service, signal, VALID_JSON[signal].encode(), json_body=True)[0] == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors[:5]]
    stats = service.engine.stats
    assert not stats.failures and not stats.detector_errors, (stats.failures,
                                                              stats.detector_errors)


def _grpc(channel, signal: str, body: bytes) -> grpc.StatusCode:
    call = channel.unary_unary(SIGNALS[signal][1], request_serializer=None,
                               response_deserializer=None)
    started = time.monotonic()
    try:
        call(body, timeout=10)
        code = grpc.StatusCode.OK
    except grpc.RpcError as err:
        code = err.code()
    assert time.monotonic() - started < ANSWER_BOUND
    return code


def _http(service, signal: str, body: bytes, *, json_body: bool = False,
          headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", service.http_port, timeout=10)
    started = time.monotonic()
    try:
        connection.request("POST", SIGNALS[signal][0], body=body, headers={
            "Content-Type": "application/json" if json_body else "application/x-protobuf",
            **(headers or {})})
        response = connection.getresponse()
        answer = response.status, response.read()
    finally:
        connection.close()
    assert time.monotonic() - started < ANSWER_BOUND
    return answer


def _both(fuzzed, signal: str, body: bytes) -> None:
    service, channel = fuzzed
    assert _grpc(channel, signal, body) in GRPC_OK
    assert _http(service, signal, body)[0] in HTTP_OK


signals = st.sampled_from(sorted(SIGNALS))


# -- protobuf ----------------------------------------------------------------------

@FUZZ
@given(signal=signals, body=st.binary(max_size=2048))
def test_random_bytes(fuzzed, signal, body):
    _both(fuzzed, signal, body)


@FUZZ
@given(signal=signals, data=st.data())
def test_truncated_valid_request(fuzzed, signal, data):
    valid = VALID[signal]
    cut = data.draw(st.integers(0, len(valid) - 1))
    _both(fuzzed, signal, valid[:cut])


@FUZZ
@given(signal=signals, data=st.data())
def test_mutated_valid_request(fuzzed, signal, data):
    body = bytearray(VALID[signal])
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(body) - 1))
        body[position] = data.draw(st.integers(0, 255))
    _both(fuzzed, signal, bytes(body))


@FUZZ
@given(signal=signals, length=st.integers(2**20, 2**63 - 1), tail=st.binary(max_size=64))
def test_huge_declared_length(fuzzed, signal, length, tail):
    """A length-delimited field (resource_spans / resource_logs / ...) claiming far too much."""
    varint = bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    body = b"\x0a" + bytes(varint) + tail
    service, channel = fuzzed
    assert _grpc(channel, signal, body) == grpc.StatusCode.INVALID_ARGUMENT
    assert _http(service, signal, body)[0] == 400


# -- JSON --------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


@FUZZ
@given(signal=signals, value=json_values)
def test_random_json(fuzzed, signal, value):
    service, _ = fuzzed
    status, _ = _http(service, signal, json.dumps(value).encode(), json_body=True)
    assert status in HTTP_OK


@FUZZ
@given(signal=signals, body=st.binary(max_size=512) | st.text(max_size=200).map(str.encode))
def test_random_json_bytes(fuzzed, signal, body):
    service, _ = fuzzed
    assert _http(service, signal, body, json_body=True)[0] in HTTP_OK


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@FUZZ
@given(signal=signals, data=st.data())
def test_json_with_wrong_types(fuzzed, signal, data):
    """A valid OTLP/JSON document with one field (any depth) replaced by any JSON value."""
    doc = json.loads(VALID_JSON[signal])
    path = data.draw(st.sampled_from(list(_paths(doc))[1:]))
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = data.draw(json_values)
    service, _ = fuzzed
    assert _http(service, signal, json.dumps(doc).encode(), json_body=True)[0] in HTTP_OK


@FUZZ
@given(trace_id=st.text(max_size=40), span_id=st.text(max_size=20) | st.integers())
def test_json_with_bad_ids(fuzzed, trace_id, span_id):
    doc = json.loads(VALID_JSON["traces"])
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"], span["spanId"], span["parentSpanId"] = trace_id, span_id, trace_id
    service, _ = fuzzed
    assert _http(service, "traces", json.dumps(doc).encode(), json_body=True)[0] in HTTP_OK


# -- compression -------------------------------------------------------------------

@FUZZ
@given(signal=signals, body=st.binary(max_size=2048),
       encoding=st.sampled_from(["gzip", "deflate"]),
       mangle=st.sampled_from(["none", "raw", "truncate"]),
       json_body=st.booleans())
def test_compressed_garbage(fuzzed, signal, body, encoding, mangle, json_body):
    packed = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    if mangle == "raw":
        packed = body  # declared compressed, is not
    elif mangle == "truncate":
        packed = packed[: len(packed) // 2]
    service, _ = fuzzed
    status, _ = _http(service, signal, packed, json_body=json_body,
                      headers={"Content-Encoding": encoding})
    assert status in HTTP_OK


def test_gzip_bomb_is_refused(fuzzed):
    service, _ = fuzzed
    bomb = gzip.compress(b"\0" * (64 * LIMIT))
    assert len(bomb) < LIMIT
    assert _http(service, "traces", bomb, headers={"Content-Encoding": "gzip"})[0] == 413


def test_unsupported_encoding_and_media(fuzzed):
    service, _ = fuzzed
    assert _http(service, "traces", VALID["traces"], headers={"Content-Encoding": "br"})[0] == 415
    assert _http(service, "traces", VALID["traces"],
                 headers={"Content-Type": "text/plain"})[0] == 415


def test_oversized_grpc_message(fuzzed):
    _, channel = fuzzed
    code = _grpc(channel, "traces", b"\0" * (LIMIT + 1))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED


# -- framing: raw sockets ----------------------------------------------------------

def _raw_http(service, head: bytes, body: bytes = b"") -> int:
    with socket.create_connection(("127.0.0.1", service.http_port), timeout=ANSWER_BOUND) as s:
        started = time.monotonic()
        s.sendall(head + body)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        assert time.monotonic() - started < ANSWER_BOUND
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        (b"Content-Length: 1000000000000000000\r\n", b"x" * 100, 413),
        (b"Content-Length: 99999999999999999999999999999999999999\r\n", b"", 413),
        (b"Content-Length: -5\r\n", b"", 400),
        (b"Content-Length: lots\r\n", b"", 400),
        (b"Transfer-Encoding: chunked\r\n", b"fffffffffffffff\r\nabc", 413),
        (b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n", 400),
        # a negative size once meant read(-1): read to EOF, unbounded, the thread held
        (b"Transfer-Encoding: chunked\r\n", b"-1\r\nabc", 400),
        (b"Transfer-Encoding: chunked\r\n", b"-0\r\n\r\n", 400),
        (b"Content-Length: 50\r\n", b"short", 400),  # the client hangs up: see below
    ],
)
def test_declared_lengths(fuzzed, headers, body, expected):
    service, _ = fuzzed
    head = (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-protobuf\r\n" + headers + b"\r\n")
    if body == b"short":
        with socket.create_connection(("127.0.0.1", service.http_port), timeout=5) as s:
            s.sendall(head + body)
            s.shutdown(socket.SHUT_WR)  # body shorter than declared, then EOF
            status = int(s.recv(4096).split(b" ", 2)[1])
    else:
        status = _raw_http(service, head, body)
    assert status == expected
