"""The `otel-ai-detect` command as a user runs it: validate, scan, serve with SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_ai_detect.cli import main

TESTDATA = Path(__file__).parent / "testdata"
SAMPLES = TESTDATA / "samples"
CLI = [sys.executable, "-m", "otel_ai_detect.cli"]


def test_validate_accepts_a_valid_file(capsys):
    assert main(["validate", "--config", str(TESTDATA / "config" / "grpc-only.yaml")]) == 0
    assert "valid" in capsys.readouterr().out


def test_validate_exits_2_listing_every_problem_with_its_key_path(capsys):
    assert main(["validate", "--config", str(TESTDATA / "config" / "every-problem-at-once.yaml")]) == 2
    err = capsys.readouterr().err
    assert len(re.findall(r"(?m)^  - ", err)) >= 5


def test_serve_with_a_broken_config_exits_2_before_listening(capsys):
    try:
        main(["serve", "--config", str(TESTDATA / "config" / "unknown-key.yaml")])
    except SystemExit as stop:
        assert stop.code == 2
    else:
        raise AssertionError("serve started with a broken config")
    assert "unknown key" in capsys.readouterr().err


def test_scan_prints_the_alerts_of_sample_files(capsys):
    files = [str(SAMPLES / "openai-v2_span_only.traces.otlp.json"),
             str(SAMPLES / "http-server-wsgi+openai-v2_semconv-http.traces.otlp.json")]
    assert main(["scan", *files]) == 0
    out = capsys.readouterr().out
    assert "AI.ASCIISmuggling" in out and "AI.AccessFromSuspiciousUserAgent" in out
    assert re.search(r"(\d+) alerts in (\d+) spans", out)


def test_scan_writes_annotated_otlp_json_that_scan_reads_again(tmp_path, capsys):
    output = tmp_path / "annotated.jsonl"
    sample = str(SAMPLES / "openai-v2_event_only.logs.otlp.json")
    assert main(["scan", sample, "--output", str(output)]) == 0
    first = capsys.readouterr().out
    lines = output.read_text().splitlines()
    assert len(lines) == 2  # the logs request and its alert records
    assert all("resourceLogs" in json.loads(line) for line in lines)
    # Alert records read back are not content, so scanning the output finds the same alerts again
    # only from the original records: the count is unchanged.
    assert main(["scan", str(output)]) == 0
    again = capsys.readouterr().out
    assert re.search(r"(\d+) alerts", first).group(1) == re.search(r"(\d+) alerts", again).group(1)


def test_scan_reports_lines_that_are_not_otlp_and_exits_1(tmp_path, capsys):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"resourceSpans": []}\nnot json\n{"something": 1}\n')
    assert main(["scan", str(broken)]) == 1
    err = capsys.readouterr().err
    assert f"{broken}:2" in err and f"{broken}:3" in err


def test_serve_drains_and_exits_0_on_sigterm(sink, tmp_path):
    config = tmp_path / "serve.yaml"
    config.write_text(f"""
receivers: {{otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:0"}}}}}}}}
exporters:
  otlp: {{endpoint: "{sink.grpc_endpoint}", protocol: grpc, tls: {{insecure: true}}, compression: none}}
service: {{telemetry: {{metrics: {{endpoint: "127.0.0.1:0"}}}}}}
""")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([*CLI, "serve", "--config", str(config)], stderr=subprocess.PIPE,
                               text=True, env=env)
    try:
        port = metrics_port = None
        for line in process.stderr:  # the log line that names the bound ports
            match = re.search(r"listening: grpc (\d+), http \w+, metrics (\d+)", line)
            if match:
                port, metrics_port = int(match.group(1)), int(match.group(2))
                break
        assert port, "serve did not report its port"
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True)))
        for i in range(5):
            provider.get_tracer("t").start_span(f"span {i}").end()
        provider.shutdown()
        # The processor's own telemetry, scraped as Prometheus would.
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        accepted = re.search(r'(?m)^otelaidetect_receiver_accepted_spans_total\S* (\S+)',
                             metrics.read().decode())
        assert accepted and float(accepted.group(1)) == 5
        health = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/ready", timeout=5)
        assert health.status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert sink.wait_for(lambda: len(sink.spans()) == 5)


def test_validate_reports_a_detector_that_cannot_be_built_with_its_key_path(capsys):
    config = str(TESTDATA / "config" / "detector-setup-problems.yaml")
    assert main(["validate", "--config", config]) == 2
    assert "detectors.sensitive_data.spacy_model:" in capsys.readouterr().err
