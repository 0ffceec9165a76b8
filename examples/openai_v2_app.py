"""Chat calls traced by the official opentelemetry-instrumentation-openai-v2, sent over OTLP gRPC.

    examples/run.sh openai_v2          # the whole thing: venv, processor, this app, alerts

Content capture is off by default in this instrumentation; this sets
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY when unset (EVENT_ONLY and
SPAN_AND_EVENT also work: the LoggerProvider below exports the events). The model is
examples/fake_model_server.py, started in a thread unless FAKE_MODEL_URL points at one.
"""

import os
import sys

os.environ.setdefault("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from openai import OpenAI  # noqa: E402
from opentelemetry import _logs, trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter  # noqa: E402
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider  # noqa: E402
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402

import fake_model_server  # noqa: E402

ENDPOINT = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")


def main() -> None:
    resource = Resource.create({"service.name": "example-openai-v2"})
    tracer_provider = TracerProvider(resource=resource)
    span_exporter = OTLPSpanExporter(endpoint=ENDPOINT, insecure=ENDPOINT.startswith("http://"))
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(tracer_provider)
    logger_provider = LoggerProvider(resource=resource)
    log_exporter = OTLPLogExporter(endpoint=ENDPOINT, insecure=ENDPOINT.startswith("http://"))
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    _logs.set_logger_provider(logger_provider)
    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider,
                                    logger_provider=logger_provider)

    base_url = os.environ.get("FAKE_MODEL_URL") or fake_model_server.start()[1]
    client = OpenAI(base_url=base_url, api_key="sk-fake-example")
    for label, prompt in fake_model_server.DEMO_PROMPTS:
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": "You are a helpful assistant."},
                      {"role": "user", "content": prompt}])
        choice = response.choices[0]
        print(f"app: {label:15} finish_reason={choice.finish_reason}", flush=True)

    tracer_provider.force_flush()
    logger_provider.force_flush()
    tracer_provider.shutdown()
    logger_provider.shutdown()


if __name__ == "__main__":
    main()
