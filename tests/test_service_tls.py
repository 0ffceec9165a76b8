"""TLS on both sides: one service exports over TLS to a second whose receivers require TLS;
mutual TLS (client_ca_file) refuses clients without a certificate from the right CA; TLS
and a bearer token together."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

import pytest

from conftest import exporter_config, service_config
from otel_ai_detect.config_types import TLSClientConfig, TLSServerConfig
from otel_ai_detect.service import Service
from otel_ai_detect.testing import genai_span, traces_request

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA and a server certificate for 127.0.0.1 / localhost, signed by it."""
    d = tmp_path_factory.mktemp("tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    )
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    )
    # Mutual TLS: a client certificate from the same CA, and a CA + client nobody trusts.
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for ca, name in (("ca", "client"), ("other-ca", "rogue")):
        if ca == "other-ca":
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=other-ca", "-keyout", "other-ca.key", "-out", "other-ca.pem")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-days", "1", "-extfile", "client.ext", "-out", f"{name}.pem")
    return d


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_data_crosses_a_tls_hop_intact(certificates, sink, protocol):
    server_tls = TLSServerConfig(
        cert_file=str(certificates / "server.pem"), key_file=str(certificates / "server.key")
    )
    inner_config = service_config(sink)
    inner_config = dataclasses.replace(
        inner_config,
        receiver=dataclasses.replace(
            inner_config.receiver,
            grpc=dataclasses.replace(inner_config.receiver.grpc, tls=server_tls),
            http=dataclasses.replace(inner_config.receiver.http, tls=server_tls),
        ),
    )
    inner = Service(inner_config).start()
    try:
        endpoint = (
            f"127.0.0.1:{inner.grpc_port}"
            if protocol == "grpc"
            else f"https://127.0.0.1:{inner.http_port}"
        )
        outer_config = service_config(sink)
        outer_config = dataclasses.replace(
            outer_config,
            exporters=dataclasses.replace(
                outer_config.exporters,
                otlp=dataclasses.replace(
                    exporter_config(sink, protocol),
                    endpoint=endpoint,
                    tls=TLSClientConfig(ca_file=str(certificates / "ca.pem")),
                ),
            ),
        )
        outer = Service(outer_config).start()
        try:
            request = traces_request(genai_span())
            outer.submit_traces(request)
            assert sink.wait_for(lambda: len(sink.spans()) == 1, 10)
            assert (
                sink.spans()[0].span_id == request.resource_spans[0].scope_spans[0].spans[0].span_id
            )
        finally:
            assert outer.shutdown(deadline=5)
        assert outer.stats.get("traces", "exported") == 1
    finally:
        inner.shutdown(deadline=5)


def test_an_exporter_that_does_not_trust_the_server_fails_without_raising(certificates, sink):
    server_tls = TLSServerConfig(
        cert_file=str(certificates / "server.pem"), key_file=str(certificates / "server.key")
    )
    config = service_config(sink)
    config = dataclasses.replace(
        config,
        receiver=dataclasses.replace(
            config.receiver, http=dataclasses.replace(config.receiver.http, tls=server_tls)
        ),
    )
    inner = Service(config).start()
    try:
        from otel_ai_detect.config_types import RetryConfig
        from otel_ai_detect.exporters import OtlpHttpExporter

        untrusting = OtlpHttpExporter(
            dataclasses.replace(
                exporter_config(sink, "http/protobuf"),
                endpoint=f"https://127.0.0.1:{inner.http_port}",
                tls=TLSClientConfig(),
                retry_on_failure=RetryConfig(enabled=False),
            )
        )
        result = untrusting.export("traces", traces_request(genai_span()).SerializeToString(), 1)
        assert not result.ok and "SSL" in result.error
        skipping = OtlpHttpExporter(
            dataclasses.replace(
                exporter_config(sink, "http/protobuf"),
                endpoint=f"https://127.0.0.1:{inner.http_port}",
                tls=TLSClientConfig(insecure_skip_verify=True),
            )
        )
        assert skipping.export("traces", traces_request(genai_span()).SerializeToString(), 1).ok
    finally:
        inner.shutdown(deadline=5)


# --- mutual TLS, and TLS with a bearer token --------------------------------------------

TOKEN = "tls-and-Bearer-Token-7c6b5a49"  # synthetic
MUTUAL_CASES = {
    # name: (client certificate, token presented, accepted?)
    "a client certificate from the CA and the token": ("client", TOKEN, True),
    "no client certificate": (None, TOKEN, False),
    "a client certificate from another CA": ("rogue", TOKEN, False),
    "a good client certificate but a wrong token": ("client", "wrong-token-0123456789", False),
}


def client_tls(certificates, protocol: str, client: str | None) -> dict:
    """SDK exporter keyword arguments: trust our CA, present `client`'s certificate if any."""
    ca = certificates / "ca.pem"
    if protocol == "grpc":
        import grpc

        return {"credentials": grpc.ssl_channel_credentials(
            root_certificates=ca.read_bytes(),
            private_key=(certificates / f"{client}.key").read_bytes() if client else None,
            certificate_chain=(certificates / f"{client}.pem").read_bytes() if client else None,
        )}
    kwargs = {"certificate_file": str(ca)}
    if client:
        kwargs |= {"client_certificate_file": str(certificates / f"{client}.pem"),
                   "client_key_file": str(certificates / f"{client}.key")}
    return kwargs


@pytest.fixture
def mutual(certificates, sink):
    from otel_ai_detect.config_types import AuthConfig
    from test_receiver_auth import with_auth

    tls = TLSServerConfig(
        cert_file=str(certificates / "server.pem"),
        key_file=str(certificates / "server.key"),
        client_ca_file=str(certificates / "ca.pem"),
    )
    service = Service(with_auth(service_config(sink), AuthConfig(bearer_token=TOKEN), tls)).start()
    yield service
    service.shutdown(deadline=2)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
@pytest.mark.parametrize("case", list(MUTUAL_CASES))
def test_mutual_tls_and_bearer_token(certificates, mutual, sink, protocol, case, monkeypatch):
    from opentelemetry.sdk.trace.export import SpanExportResult
    from test_receiver_auth import port_of, sdk_exporter, sdk_spans

    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # requests lets these beat `verify`
        monkeypatch.delenv(name, raising=False)
    client, token, accepted = MUTUAL_CASES[case]
    exporter = sdk_exporter(protocol, port_of(mutual, protocol),
                            {"authorization": f"Bearer {token}"},
                            **client_tls(certificates, protocol, client))
    result = exporter.export(sdk_spans())
    assert result == (SpanExportResult.SUCCESS if accepted else SpanExportResult.FAILURE)
    assert mutual.shutdown(deadline=5)
    assert len(sink.spans()) == (1 if accepted else 0)
    assert mutual.stats.get("traces", "received") == (1 if accepted else 0)
    # Only the wrong token got as far as the auth check: TLS refused the others first.
    assert mutual.stats.get("auth", "refused") == (1 if token != TOKEN else 0)


def test_a_tls_client_without_a_certificate_cannot_even_reach_http(certificates, mutual):
    import http.client
    import ssl

    context = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    connection = http.client.HTTPSConnection("localhost", mutual.http_port, context=context,
                                             timeout=5)
    with pytest.raises((ssl.SSLError, OSError, http.client.HTTPException)):
        connection.request("POST", "/v1/traces", body=b"",
                           headers={"Authorization": f"Bearer {TOKEN}"})
        connection.getresponse().read()
    connection.close()
