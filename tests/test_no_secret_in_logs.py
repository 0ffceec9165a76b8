"""No credential leaves the processor in clear: not in logs, debug output, alert files or evidence.

Every credential kind the credentials detector knows (the synthetic generators of
test_detector_credentials) goes through a real Service over gRPC, with logging at
DEBUG everywhere, the debug exporter (detailed) and the file exporter on. Then
detectors and the engine are made to fail with the secret in their exception
messages: the logs still must not hold it.
"""

from __future__ import annotations

import io
import json
import logging

import grpc
import pytest

from conftest import service_config
from test_detector_credentials import POSITIVES
from otel_ai_detect import semconv
from otel_ai_detect.config_types import CredentialsConfig, DebugExporterConfig, FileExporterConfig
from otel_ai_detect.detectors.credentials import PREFIX_MAX, CredentialsDetector
from otel_ai_detect.detectors.registry import Detectors
from otel_ai_detect.engine import Engine
from otel_ai_detect.exporters.base import GRPC_METHODS, attributes_dict
from otel_ai_detect.service import Service
from otel_ai_detect.testing import genai_span, is_alert, traces_request


def secrets_of(text: str, value: str) -> list[str]:
    """The value the test names, or every credential the detector reads in the text."""
    found = [c.value for c in CredentialsDetector(CredentialsConfig()).scan(text)]
    return [value] if value else found


CASES = [(name, text, [(kind, secret) for secret in secrets_of(text, value)])
         for name, text, kind, value in POSITIVES]


def leaks(kind: str, secret: str, blob: str) -> list[str]:
    """What of `secret` shows in `blob` beyond the evidence prefix: the whole value, or any
    8-character window past the first PREFIX_MAX characters, as written or JSON-escaped.
    Lower-cased too (Presidio lower-cases what it logs), but then only windows with a digit:
    lower-cased, " private key" is the kind's label and ordinary prose, not key material.
    A window inside the kind's own label (``bedrock-api-key-`` in ``aws-bedrock-api-key``)
    is a public prefix, not a leak."""
    shown = min(PREFIX_MAX, len(secret) // 3)
    escaped = json.dumps(secret)[1:-1]
    found = [v for v in {secret, escaped, secret.lower()} if v in blob]
    for variant, lowered in ((secret, False), (escaped, False), (secret.lower(), True),
                             (escaped.lower(), True)):
        for i in range(max(0, shown - 7), len(variant) - 7):
            window = variant[i:i + 8]
            if lowered and not any(c.isdigit() for c in window):
                continue
            if window in blob and window not in kind:
                found.append(window)
    return found


def send(port: int, *texts: str) -> list[bytes]:
    """One span per text, in one request; their span ids, in order."""
    spans = [genai_span("Show me the config.", text) for text in texts]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        channel.unary_unary(GRPC_METHODS["traces"])(
            traces_request(*spans).SerializeToString(), timeout=30)
    return [span.span_id for span in spans]


@pytest.fixture
def everything(sink, tmp_path, caplog):
    """A service with every output on, logging at DEBUG; yields (service, outputs())."""
    caplog.set_level(logging.DEBUG)  # the root logger: every module's records
    stream = io.StringIO()
    alerts_file = tmp_path / "alerts.jsonl"
    config = service_config(sink, debug=DebugExporterConfig(verbosity="detailed"),
                            file=FileExporterConfig(path=str(alerts_file)))
    made: list[Service] = []

    def make(engine: Engine | None = None) -> Service:
        made.append(Service(config, engine=engine, debug_stream=stream).start())
        return made[-1]

    def outputs() -> dict[str, str]:
        for service in made:
            service.shutdown(deadline=10)
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        # Every logger, third parties included (Presidio logs text around matches at DEBUG;
        # presidio_engine keeps it at INFO).
        logs = [formatter.format(record) for record in caplog.records]  # with tracebacks
        return {
            "logs": "\n".join(logs),
            "debug exporter": stream.getvalue(),
            "file exporter": alerts_file.read_text() if alerts_file.exists() else "",
        }

    yield make, outputs
    for service in made:
        service.shutdown(deadline=2)


def assert_no_leak(outputs: dict[str, str], cases) -> None:
    problems = [
        (name, where, leaks(kind, secret, blob)[:3])
        for name, _text, secrets in cases
        for kind, secret in secrets
        for where, blob in outputs.items()
        if leaks(kind, secret, blob)
    ]
    assert not problems, problems


def test_every_credential_kind_is_covered():
    assert all(secrets for _, _, secrets in CASES), [n for n, _, s in CASES if not s]
    assert len({kind for _, _, kind, _ in POSITIVES}) >= 60


def test_no_credential_in_logs_debug_output_alert_file_or_evidence(everything, sink, capfd):
    make, outputs = everything
    service = make()
    for start in range(0, len(CASES), 20):
        send(service.grpc_port, *(text for _, text, _ in CASES[start:start + 20]))
    assert sink.wait_for(lambda: len(sink.spans()) == len(CASES), 20)
    assert sink.wait_for(lambda: sum(map(is_alert, sink.log_records())) >= len(CASES), 20)
    out = outputs()
    alerts = [r for r in sink.log_records() if is_alert(r)]
    out["alert evidence"] = "\n".join(
        str(attributes_dict(r.attributes).get(semconv.ALERT_EVIDENCE, "")) for r in alerts)
    out["alert records"] = "\n".join(str(r) for r in alerts)
    out["stderr/stdout"] = "".join(capfd.readouterr())
    assert out["debug exporter"] and out["file exporter"] and out["alert evidence"]
    assert_no_leak(out, CASES)


def test_forwarded_spans_are_masked_too(everything, sink):
    """redaction: secrets (the default): the re-exported span holds no credential either."""
    make, outputs = everything
    service = make()
    ids = []
    for start in range(0, len(CASES), 20):
        ids += send(service.grpc_port, *(text for _, text, _ in CASES[start:start + 20]))
    assert sink.wait_for(lambda: len(sink.spans()) == len(CASES), 20)
    outputs()
    # Span by span: structural text of one case ("https://") may be in another's span.
    forwarded = {span.span_id: str(span) for span in sink.spans()}
    for span_id, case in zip(ids, CASES):
        assert_no_leak({"forwarded span": forwarded[span_id]}, [case])


class Boom:
    """A content detector that fails quoting the text it was given (a realistic bug)."""

    name = "boom"

    def detect(self, conv):
        raise ValueError(f"cannot handle {conv.outputs[0].parts[0].text!r}")

    def redactions(self, conv):
        raise RuntimeError(f"no redactions for {conv.outputs[0].parts[0].text}")


class FailingEngine(Engine):
    """The whole engine fails on the request, its message quoting the content."""

    def process_traces(self, request):
        raise RuntimeError(f"engine choked on {request}")


@pytest.mark.parametrize("failure", ["detector", "engine"])
def test_failures_quoting_the_secret_do_not_log_it(everything, sink, capfd, failure):
    make, outputs = everything
    config = service_config(sink)
    if failure == "detector":
        real = Engine(config)
        engine = Engine(config, Detectors((Boom(), *real.detectors.content),
                                          real.detectors.request))
    else:
        engine = FailingEngine(config)
    service = make(engine)
    send(service.grpc_port, *(text for _, text, _ in CASES[:30]))
    assert sink.wait_for(lambda: len(sink.spans()) == 30, 20)
    out = outputs()
    out["stderr/stdout"] = "".join(capfd.readouterr())
    if failure == "detector":
        assert engine.stats.detector_errors["boom"] >= 30
        assert "detector boom failed" in out["logs"]
    else:
        assert service.stats.get("traces", "engine_errors") == 1
        assert "engine failed" in out["logs"]
    assert_no_leak(out, CASES[:30])


def test_the_http_receiver_logs_no_query_string_or_raw_request_line(make_service, caplog):
    """A token in a URL, or a malformed request line quoting one, stays out of the DEBUG log."""
    import http.client
    import socket

    _, _, _, secret = next(p for p in POSITIVES if p[2] == "github-token")
    caplog.set_level(logging.DEBUG)
    service = make_service()
    connection = http.client.HTTPConnection("127.0.0.1", service.http_port, timeout=5)
    connection.request("POST", f"/v1/traces?api_key={secret}", body=b"",
                       headers={"Content-Type": "application/x-protobuf"})
    connection.getresponse().read()
    connection.request("GET", f"/{secret}")
    connection.getresponse().read()
    connection.close()
    with socket.create_connection(("127.0.0.1", service.http_port), timeout=5) as conn:
        conn.sendall(f"BOGUS {secret} garbage garbage\r\n\r\n".encode())
        conn.recv(4096)
    service.shutdown(deadline=5)
    assert "OTLP/HTTP" in caplog.text  # the access lines are there, without the secret
    assert secret not in caplog.text and secret[8:16] not in caplog.text
