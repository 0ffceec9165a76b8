"""Through real OTLP, with feeds served over real HTTP: captured instrumentation output from a
Tor exit alerts, and a phishing link a tool returned is named by its origin."""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from pathlib import Path

from feed_server import FeedServer

from otel_ai_detect.config_types import FeedConfig, IntelConfig, PhishingConfig, TorConfig
from otel_ai_detect.report import alert_rows
from otel_ai_detect.service import Service
from otel_ai_detect.testing import genai_span, traces_request
from otel_ai_detect import otlp_json
from conftest import service_config

SAMPLE = Path(__file__).parent / "testdata" / "samples" / \
    "http-server-wsgi+openai-v2_semconv-default.traces.otlp.json"
PHISHING_URL = "http://login-verify.example-payments.net/account"


def start_service(sink, tmp_path, feeds: FeedServer) -> Service:
    config = service_config(sink)
    detectors = dataclasses.replace(
        config.detectors,
        phishing=PhishingConfig(feeds=(FeedConfig(feeds.url("/phish.txt"), "urls", "phish-feed"),)),
        tor=TorConfig(feeds=(FeedConfig(feeds.url("/torbulkexitlist"), "tor_bulk", "tor-exits"),)))
    config = dataclasses.replace(config, detectors=detectors,
                                 intel=IntelConfig(cache_dir=str(tmp_path / "cache")))
    return Service(config).start()


def post_json(port: int, body: bytes) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/traces", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_a_captured_trace_from_a_tor_exit_behind_a_proxy_alerts_once(sink, tmp_path):
    # One feed server answers both paths: the content is a Tor list and a URL list at once,
    # each parser skipping what is not its own.
    feeds = FeedServer(b"185.220.101.34\n" + PHISHING_URL.encode() + b"\n")
    try:
        service = start_service(sink, tmp_path, feeds)
        try:
            assert post_json(service.http_port, SAMPLE.read_bytes()) == 200
            assert sink.wait_for(lambda: any(
                r.rule == "AI.AccessFromAnonymizedIP" for r in alert_rows(sink.messages("logs"))))
            rows = [r for r in alert_rows(sink.messages("logs")) if r.rule == "AI.AccessFromAnonymizedIP"]
            assert len(rows) == 1 and "185.220.101.34" in rows[0].evidence
            assert "tor-exits" in rows[0].evidence
        finally:
            service.shutdown(5)
    finally:
        feeds.stop()


def test_a_phishing_link_from_a_tool_that_the_model_passes_on_raises_both_rules(sink, tmp_path):
    feeds = FeedServer(PHISHING_URL.encode() + b"\n")
    try:
        service = start_service(sink, tmp_path, feeds)
        try:
            span = genai_span("Summarize my mail", f"Please verify at {PHISHING_URL}")
            inputs = [{"role": "user", "parts": [{"type": "text", "content": "Summarize my mail"}]},
                      {"role": "tool", "parts": [{"type": "tool_call_response",
                                                  "response": f"Verify at {PHISHING_URL} today"}]}]
            for kv in span.attributes:
                if kv.key == "gen_ai.input.messages":
                    kv.value.string_value = json.dumps(inputs)
            body = otlp_json.dumps(traces_request(span)).encode()
            assert post_json(service.http_port, body) == 200
            assert sink.wait_for(lambda: len(alert_rows(sink.messages("logs"))) >= 2)
            by_rule = {r.rule: r for r in alert_rows(sink.messages("logs"))}
            assert set(by_rule) == {"AI.PhishingContentInAIApplication",
                                    "AI.PhishingContentInModelResponse"}
            assert by_rule["AI.PhishingContentInAIApplication"].source == "tool"
            assert "hxxp://login-verify[.]example-payments[.]net" in by_rule[
                "AI.PhishingContentInModelResponse"].evidence
        finally:
            service.shutdown(5)
    finally:
        feeds.stop()
