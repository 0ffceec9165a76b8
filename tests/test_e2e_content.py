"""Through real OTLP: the real SDK sends model calls as spans and as GenAI log events; the
content alerts arrive downstream and the backend never receives the secrets found."""

from __future__ import annotations

import json

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_ai_detect import semconv as sc
from otel_ai_detect.report import alert_rows
from otel_ai_detect.testing import is_alert

KEY_ID = "AKIAQ3EGRXVNZ5KWPM7B"
SECRET = "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"
ANSWER = f"Use aws_access_key_id={KEY_ID}\naws_secret_access_key={SECRET}"
RESOURCE = Resource.create({"service.name": "billing-assistant"})


def messages(answer: str) -> tuple[str, str]:
    inputs = [{"role": "user", "parts": [{"type": "text", "content": "Show the prod config."}]}]
    outputs = [{"role": "assistant", "parts": [{"type": "text", "content": answer}],
                "finish_reason": "stop"}]
    return json.dumps(inputs), json.dumps(outputs)


def test_a_leaked_key_on_a_span_alerts_and_is_masked_before_the_backend(make_service, sink):
    service = make_service()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"127.0.0.1:{service.grpc_port}", insecure=True)))
    inputs, outputs = messages(ANSWER)
    with provider.get_tracer("app").start_as_current_span("chat gpt-4o-mini", attributes={
            sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            sc.GEN_AI_INPUT_MESSAGES: inputs, sc.GEN_AI_OUTPUT_MESSAGES: outputs}):
        pass
    provider.shutdown()
    assert sink.wait_for(lambda: sink.spans() and len(alert_rows(sink.messages("logs"))) == 2)
    rows = alert_rows(sink.messages("logs"))
    assert {r.rule for r in rows} == {"AI.CredentialTheftAttempt"}
    assert all(r.service == "billing-assistant" for r in rows)
    downstream = str(sink.messages("traces")) + str(sink.messages("logs"))
    assert KEY_ID not in downstream and SECRET not in downstream
    [span] = sink.spans()
    out = next(kv.value.string_value for kv in span.attributes if kv.key == sc.GEN_AI_OUTPUT_MESSAGES)
    text = json.loads(out)[0]["parts"][0]["content"]  # still valid JSON
    assert "[REDACTED:aws-access-key-id:" in text and "[REDACTED:aws-secret-access-key:" in text


def test_a_leak_carried_only_in_a_genai_log_event_alerts_and_is_masked(make_service, sink):
    service = make_service()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(
        OTLPLogExporter(endpoint=f"127.0.0.1:{service.grpc_port}", insecure=True)))
    provider.get_logger("app").emit(
        event_name=sc.EVENT_INFERENCE_DETAILS, severity_number=SeverityNumber.INFO,
        attributes={sc.GEN_AI_OPERATION_NAME: "chat",
                    sc.GEN_AI_OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": [
                        {"type": "text", "content": ANSWER + " Mail jane.doe@example.com."}]}])})
    provider.shutdown()

    def arrived():
        return any(not is_alert(r) for r in sink.log_records()) and len(
            alert_rows(sink.messages("logs"))) == 3
    assert sink.wait_for(arrived)
    rules = sorted(r.rule for r in alert_rows(sink.messages("logs")))
    assert rules == ["AI.CredentialTheftAttempt", "AI.CredentialTheftAttempt",
                     "AI.DataLeakInModelResponse.Sensitive"]
    downstream = str(sink.messages("logs"))
    assert KEY_ID not in downstream and SECRET not in downstream
    assert "jane.doe@example.com" in downstream  # personal data is masked only with secrets_and_pii
