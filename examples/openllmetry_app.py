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

from _app_common import chat_calls, tracer_provider  # noqa: E402
from opentelemetry.instrumentation.openai import OpenAIInstrumentor  # noqa: E402


def main() -> None:
    provider = tracer_provider("example-openllmetry")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    chat_calls(user="end-user-42")
    provider.force_flush()
    provider.shutdown()


if __name__ == "__main__":
    main()
