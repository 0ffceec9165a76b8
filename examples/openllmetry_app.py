"""Chat calls traced by OpenLLMetry (Traceloop's opentelemetry-instrumentation-openai), OTLP gRPC.

    examples/run.sh openllmetry        # the whole thing: venv, processor, this app, alerts

Content is on by default here (TRACELOOP_TRACE_CONTENT=true); messages go on the span as
gen_ai.input.messages / gen_ai.output.messages (use_attributes=True, the default). The model is
examples/fake_model_server.py, started in a thread unless FAKE_MODEL_URL points at one.
"""

import os
import sys

os.environ.setdefault("TRACELOOP_TRACE_CONTENT", "true")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from openai import OpenAI  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.instrumentation.openai import OpenAIInstrumentor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402

import fake_model_server  # noqa: E402

ENDPOINT = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")


def main() -> None:
    resource = Resource.create({"service.name": "example-openllmetry"})
    tracer_provider = TracerProvider(resource=resource)
    span_exporter = OTLPSpanExporter(endpoint=ENDPOINT, insecure=ENDPOINT.startswith("http://"))
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(tracer_provider)
    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)

    base_url = os.environ.get("FAKE_MODEL_URL") or fake_model_server.start()[1]
    client = OpenAI(base_url=base_url, api_key="sk-fake-example")
    for label, prompt in fake_model_server.DEMO_PROMPTS:
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": "You are a helpful assistant."},
                      {"role": "user", "content": prompt}],
            user="end-user-42")
        print(f"app: {label:15} finish_reason={response.choices[0].finish_reason}", flush=True)

    tracer_provider.force_flush()
    tracer_provider.shutdown()


if __name__ == "__main__":
    main()
