"""TLS on both sides: one service exports over TLS to a second whose receivers require TLS."""

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
