"""What the example apps share: OTLP trace export to the processor, and the chat calls.

Each app differs only in the instrumentation it installs between these two steps.
"""

import os

from openai import OpenAI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import fake_model_server

ENDPOINT = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
INSECURE = ENDPOINT.startswith("http://")


def tracer_provider(service_name: str) -> TracerProvider:
    """A global TracerProvider exporting over OTLP gRPC to the processor."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=ENDPOINT,
                                                                    insecure=INSECURE)))
    trace.set_tracer_provider(provider)
    return provider


def chat_calls(**extra) -> None:
    """The demo prompts against the fake model server (started here unless FAKE_MODEL_URL)."""
    base_url = os.environ.get("FAKE_MODEL_URL") or fake_model_server.start()[1]
    client = OpenAI(base_url=base_url, api_key="sk-fake-example")
    for label, prompt in fake_model_server.DEMO_PROMPTS:
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": "You are a helpful assistant."},
                      {"role": "user", "content": prompt}], **extra)
        print(f"app: {label:15} finish_reason={response.choices[0].finish_reason}", flush=True)
