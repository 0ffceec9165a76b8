"""Chat calls traced by Arize OpenInference (openinference-instrumentation-openai), over OTLP gRPC.

    examples/run.sh openinference      # the whole thing: venv, processor, this app, alerts

Content is on by default here (OPENINFERENCE_HIDE_* redact it): llm.input_messages.*,
llm.output_messages.*, input.value / output.value (full request and response JSON) on a
ChatCompletion span of kind INTERNAL. The model is examples/fake_model_server.py, started in a
thread unless FAKE_MODEL_URL points at one.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _app_common import chat_calls, tracer_provider  # noqa: E402
from openinference.instrumentation.openai import OpenAIInstrumentor  # noqa: E402


def main() -> None:
    provider = tracer_provider("example-openinference")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    chat_calls(user="end-user-42")
    provider.force_flush()
    provider.shutdown()


if __name__ == "__main__":
    main()
