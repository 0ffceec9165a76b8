"""Redaction: what the detectors found is masked in everything sent downstream."""

from __future__ import annotations

import dataclasses
import json

import pytest

from otel_ai_detect import semconv as sc
from otel_ai_detect.config_types import Config, ProcessorConfig
from otel_ai_detect.detectors.base import texts
from otel_ai_detect.detectors.registry import Detectors
from otel_ai_detect.engine import Engine
from otel_ai_detect.model import Finding, Redaction
from otel_ai_detect.redact import Redactor, mask
from otel_ai_detect.testing import genai_span, log_record, logs_request, traces_request

SECRET = "tok_live_9f8e7d6c5b4a39281706f5e4"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
EMAIL = "jane.doe@corp.example"


class PlantedValues:
    """A detector that reports values planted in test texts: secrets alert, emails are personal."""

    name = "planted"

    def detect(self, conv):
        for source, _role, part in texts(conv):
            for value, personal in ((SECRET, False), (PEM, False), (EMAIL, True)):
                if value in part.text:
                    yield Finding("AI.CredentialTheftAttempt", self.name, 0.9, source, part.path,
                                  "planted", value[:3], (Redaction("planted", value, personal),))


def engine(mode: str = "secrets") -> Engine:
    config = dataclasses.replace(Config(), processor=ProcessorConfig(redaction=mode))
    return Engine(config, Detectors((PlantedValues(),), ()))


def attr(span, key):
    return next(kv.value.string_value for kv in span.attributes if kv.key == key)


def test_a_secret_in_a_json_string_attribute_is_masked_and_the_json_stays_valid():
    span = genai_span("hi", f"Here: {SECRET} and {PEM}")
    request = traces_request(span)
    processed = engine().process_traces(request)
    out = request.resource_spans[0].scope_spans[0].spans[0]
    text = attr(out, sc.GEN_AI_OUTPUT_MESSAGES)
    assert SECRET not in text and "BEGIN PRIVATE KEY-----\\nMIIE" not in text
    content = json.loads(text)[0]["parts"][0]["content"]
    assert content == f"Here: {mask(Redaction('planted', SECRET))} and {mask(Redaction('planted', PEM))}"
    assert processed.changed


def test_the_mask_keeps_the_kind_and_a_short_hash():
    assert mask(Redaction("aws-access-key-id", "AKIAQ3EGRXVNZ5KWPM7B")).startswith(
        "[REDACTED:aws-access-key-id:")
    assert len(mask(Redaction("k", "abcdefgh")).rsplit(":", 1)[1]) == 7  # 6 hex + "]"


def test_personal_data_is_masked_only_with_secrets_and_pii():
    for mode, masked in (("secrets", False), ("secrets_and_pii", True)):
        request = traces_request(genai_span("hi", f"Write to {EMAIL}"))
        engine(mode).process_traces(request)
        text = attr(request.resource_spans[0].scope_spans[0].spans[0], sc.GEN_AI_OUTPUT_MESSAGES)
        assert (EMAIL not in text) is masked


def test_redaction_off_leaves_content_as_received():
    request = traces_request(genai_span("hi", f"Here: {SECRET}"))
    engine("off").process_traces(request)
    assert SECRET in attr(request.resource_spans[0].scope_spans[0].spans[0], sc.GEN_AI_OUTPUT_MESSAGES)


def test_a_secret_in_a_structured_log_event_is_masked_even_when_the_alert_came_from_the_span():
    shared = engine()
    span = genai_span("hi", f"Here: {SECRET}")
    shared.process_traces(traces_request(span))
    record = log_record(event_name=sc.EVENT_INFERENCE_DETAILS, trace_id=span.trace_id,
                        span_id=span.span_id, extra={sc.GEN_AI_OUTPUT_MESSAGES: [
                            {"role": "assistant", "parts": [{"type": "text", "content": f"Here: {SECRET}"}]}]})
    request = logs_request(record)
    processed = shared.process_logs(request)
    assert processed.alerts is None  # one alert per finding: the span raised it
    assert SECRET not in str(request)
    assert "[REDACTED:planted:" in str(request)


def test_escaped_forms_of_a_value_are_masked_in_json_written_with_ascii_escapes():
    value = "pässwörd-\u00e9t\u00e9-secret-1234"
    redactor = Redactor("secrets")
    span = genai_span(extra={"custom.payload": json.dumps({"v": value})})
    assert redactor.redact_span(span, [Redaction("planted", value)]) == 1
    assert json.loads(attr(span, "custom.payload"))["v"].startswith("[REDACTED:planted:")


def test_span_event_attributes_are_masked_too():
    span = genai_span()
    event = span.events.add(name="gen_ai.content.completion")
    event.attributes.add(key="gen_ai.completion").value.string_value = f"key {SECRET}"
    assert Redactor("secrets").redact_span(span, [Redaction("planted", SECRET)]) == 1
    assert SECRET not in event.attributes[0].value.string_value


@pytest.mark.parametrize("value", ["", "abc"])
def test_values_too_short_to_mask_safely_are_left_alone(value):
    span = genai_span("abc abc")
    assert Redactor("secrets").redact_span(span, [Redaction("planted", value)]) == 0
