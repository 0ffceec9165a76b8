"""Bearer-token auth on both receivers, driven by the real OpenTelemetry SDK exporters.

A refused request never reaches the service (nothing received, nothing at the
sink), is counted, and neither the expected nor the presented token is logged.
"""

from __future__ import annotations

import dataclasses
import http.client
import logging
import socket

import grpc
import pytest
from google.rpc import code_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from conftest import service_config
from otel_ai_detect.config_types import AuthConfig, Config
from otel_ai_detect.exporters.base import GRPC_METHODS
from otel_ai_detect.receiver.auth import AuthSetupError, BearerAuth
from otel_ai_detect.service import Service
from otel_ai_detect.testing import genai_span, traces_request

TOKEN = "s3cr3t-Receiver-Token-9f8e7d6c"  # synthetic
WRONG = "n0t-The-Token-1a2b3c4d5e6f7a8b"


def with_auth(config: Config, auth: AuthConfig | None, tls=None) -> Config:
    receiver = config.receiver
    return dataclasses.replace(
        config,
        receiver=dataclasses.replace(
            receiver,
            grpc=dataclasses.replace(receiver.grpc, auth=auth, tls=tls),
            http=dataclasses.replace(receiver.http, auth=auth, tls=tls),
        ),
    )


@pytest.fixture
def guarded(sink):
    service = Service(with_auth(service_config(sink), AuthConfig(bearer_token=TOKEN))).start()
    yield service
    service.shutdown(deadline=2)


def sdk_spans() -> list:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("auth-test").start_as_current_span(
        "chat gpt-4o-mini", attributes={"gen_ai.operation.name": "chat"}
    ):
        pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def sdk_exporter(protocol: str, port: int, headers: dict | None, **tls):
    if protocol == "grpc":
        if tls:
            return GrpcSpanExporter(endpoint=f"localhost:{port}", headers=headers, timeout=3, **tls)
        return GrpcSpanExporter(
            endpoint=f"127.0.0.1:{port}", insecure=True, headers=headers, timeout=3
        )
    scheme = "https" if tls else "http"
    return HttpSpanExporter(
        endpoint=f"{scheme}://localhost:{port}/v1/traces", headers=headers, timeout=3, **tls
    )


def port_of(service: Service, protocol: str) -> int:
    return service.grpc_port if protocol == "grpc" else service.http_port


def receiver_of(service: Service, protocol: str):
    return service.grpc_receiver if protocol == "grpc" else service.http_receiver


# --- the check itself ---------------------------------------------------------------

@pytest.mark.parametrize(
    "value,ok",
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"BEARER   {TOKEN}  ", True),
        (f"Bearer {WRONG}", False),
        (f"Bearer {TOKEN}x", False),
        (f"Basic {TOKEN}", False),
        (TOKEN, False),
        ("Bearer ", False),
        ("", False),
        (None, False),
        ("Bearer \u00e9\u00e9", False),  # non-ASCII does not raise
    ],
)
def test_the_check_accepts_only_bearer_and_the_token(value, ok):
    auth = BearerAuth(TOKEN)
    assert auth.check(value) is ok
    assert auth.refused == (0 if ok else 1)
    assert TOKEN not in repr(auth)


def test_the_token_file_is_read_once_and_stripped(tmp_path):
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n")
    auth = BearerAuth.from_config(AuthConfig(bearer_token_file=str(path)))
    path.write_text("changed")  # read at start only
    assert auth.check(f"Bearer {TOKEN}") and not auth.check("Bearer changed")
    assert BearerAuth.from_config(None) is None


@pytest.mark.parametrize("content", ["", "  \n\t"])
def test_an_empty_token_is_a_start_error(tmp_path, sink, content):
    path = tmp_path / "token"
    path.write_text(content)
    with pytest.raises(AuthSetupError, match="empty"):
        BearerAuth.from_config(AuthConfig(bearer_token_file=str(path)))
    service = Service(
        with_auth(service_config(sink), AuthConfig(bearer_token_file=str(path)))
    )
    with pytest.raises(AuthSetupError):
        service.start()


def test_an_unreadable_token_file_names_the_path_not_the_content(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(AuthSetupError, match="nope") as info:
        BearerAuth.from_config(AuthConfig(bearer_token_file=str(missing)))
    assert "FileNotFoundError" in str(info.value)


# --- end to end, with the SDK exporters -----------------------------------------------

@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_the_sdk_exporter_with_the_right_token_is_accepted(guarded, sink, protocol):
    headers = {"authorization": f"Bearer {TOKEN}"}
    exporter = sdk_exporter(protocol, port_of(guarded, protocol), headers)
    assert exporter.export(sdk_spans()) == SpanExportResult.SUCCESS
    assert sink.wait_for(lambda: len(sink.spans()) == 1, 10)
    assert receiver_of(guarded, protocol).auth_refused == 0


@pytest.mark.parametrize("protocol", ["grpc", "http"])
@pytest.mark.parametrize("headers", [None, {"authorization": f"Bearer {WRONG}"},
                                     {"authorization": f"Basic {TOKEN}"}])
def test_the_sdk_exporter_without_the_right_token_fails_and_nothing_arrives(
    guarded, sink, protocol, headers, caplog
):
    caplog.set_level(logging.DEBUG)
    exporter = sdk_exporter(protocol, port_of(guarded, protocol), headers)
    assert exporter.export(sdk_spans()) == SpanExportResult.FAILURE
    assert guarded.shutdown(deadline=5)
    assert sink.spans() == []
    assert guarded.stats.get("traces", "received") == 0  # never reached the service
    assert receiver_of(guarded, protocol).auth_refused == 1
    assert guarded.stats.get("auth", "refused") == 1
    assert TOKEN not in caplog.text and WRONG not in caplog.text


def test_grpc_refusal_is_unauthenticated_with_a_fixed_reason(guarded):
    with grpc.insecure_channel(f"127.0.0.1:{guarded.grpc_port}") as channel:
        call = channel.unary_unary(GRPC_METHODS["traces"])
        with pytest.raises(grpc.RpcError) as info:
            call(b"not even protobuf", metadata=[("authorization", f"Bearer {WRONG}")], timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED  # not INVALID_ARGUMENT: not decoded
    assert WRONG not in info.value.details() and TOKEN not in info.value.details()


def post(port: int, body: bytes, headers: dict, method: str = "POST", path: str = "/v1/traces"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_http_refusal_is_401_with_a_challenge_and_an_unauthenticated_status(guarded):
    status, headers, body = post(guarded.http_port, b"garbage, never decoded",
                                 {"Content-Type": "application/x-protobuf"})
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert headers["Connection"] == "close"
    assert status_pb2.Status.FromString(body).code == code_pb2.UNAUTHENTICATED
    # auth before routing and method checks, as the Collector
    assert post(guarded.http_port, b"", {}, method="GET")[0] == 401
    assert post(guarded.http_port, b"", {}, path="/nowhere")[0] == 401


def test_http_scheme_is_case_insensitive(guarded, sink):
    body = traces_request(genai_span()).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"bEaReR {TOKEN}"}
    assert post(guarded.http_port, body, headers)[0] == 200
    assert sink.wait_for(lambda: len(sink.spans()) == 1, 10)


def test_http_expect_100_continue_is_refused_before_the_body_is_sent(guarded):
    with socket.create_connection(("127.0.0.1", guarded.http_port), timeout=5) as conn:
        conn.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf"
                     b"\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 401") and b"100 Continue" not in answer


def test_http_a_large_unauthenticated_body_is_not_read_and_nothing_arrives(guarded, sink):
    body = b"\x00" * (1024 * 1024)  # over the drain limit: the connection is closed instead
    try:
        status = post(guarded.http_port, body, {"Content-Type": "application/x-protobuf"})[0]
    except (ConnectionError, http.client.HTTPException):
        status = None  # a reset while still sending is an acceptable refusal
    assert status in (401, None)
    assert guarded.shutdown(deadline=5)
    assert guarded.stats.get("traces", "received") == 0 and sink.spans() == []


def test_http_expect_100_continue_with_the_token_gets_continue_and_is_accepted(guarded, sink):
    body = traces_request(genai_span()).SerializeToString()
    with socket.create_connection(("127.0.0.1", guarded.http_port), timeout=5) as conn:
        conn.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf"
                     b"\r\nAuthorization: Bearer " + TOKEN.encode()
                     + f"\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode())
        assert conn.recv(4096).startswith(b"HTTP/1.1 100")
        conn.sendall(body)
        assert conn.recv(4096).startswith(b"HTTP/1.1 200")
    assert sink.wait_for(lambda: len(sink.spans()) == 1, 10)


def test_a_token_over_cleartext_to_a_non_loopback_address_is_warned_about(caplog):
    from otel_ai_detect.config_types import TLSServerConfig
    from otel_ai_detect.receiver.auth import warn_if_cleartext

    auth = BearerAuth(TOKEN)
    with caplog.at_level(logging.WARNING):
        warn_if_cleartext("otlp/http", auth, None, "127.0.0.1")
        warn_if_cleartext("otlp/http", auth, TLSServerConfig(cert_file="c", key_file="k"), "")
        warn_if_cleartext("otlp/http", None, None, "")
        assert not caplog.records
        warn_if_cleartext("otlp/http", auth, None, "")
    assert "clear text" in caplog.text and TOKEN not in caplog.text
