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

from _app_common import ENDPOINT, INSECURE, chat_calls, tracer_provider  # noqa: E402
from opentelemetry import _logs  # noqa: E402
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter  # noqa: E402
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider  # noqa: E402
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor  # noqa: E402


def main() -> None:
    provider = tracer_provider("example-openai-v2")
    # The instrumentation's event modes send content as log records: export those too.
    logger_provider = LoggerProvider(resource=provider.resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(
        OTLPLogExporter(endpoint=ENDPOINT, insecure=INSECURE)))
    _logs.set_logger_provider(logger_provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider, logger_provider=logger_provider)
    chat_calls()
    for each in (provider, logger_provider):
        each.force_flush()
        each.shutdown()


if __name__ == "__main__":
    main()
