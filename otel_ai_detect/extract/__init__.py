"""Extraction: OTLP spans and log records -> normalized, convention-free views.

Public API (the engine calls these on protobuf messages directly):

- `span_conversation(span)`: the `Conversation` of a GenAI span, None for any other
  span. A GenAI span without captured content still gets a Conversation (no
  messages, but finish reasons / errors / verdicts) so the trace is known to have
  GenAI activity.
- `span_call_info(span)`: operation, model and provider of the call.
- `span_call(span)`: both of the above from one pass over the span's attributes.
- `span_peer(span)`: the caller's addresses and user agent, HTTP SERVER spans only.
- `log_calls(records)`: one `LogCall` per model call found in GenAI log events.

Conventions understood (the ``Conversation.convention`` ids): ``genai-semconv``,
``genai-semconv-events``, ``traceloop-legacy``, ``openinference``,
``genai-v1.26-events``, ``genai-legacy-events``. Extractors never judge content.
"""

from otel_ai_detect.extract.logs import LogCall, log_calls
from otel_ai_detect.extract.peer import span_peer
from otel_ai_detect.extract.span import span_call, span_call_info, span_conversation

__all__ = ["LogCall", "log_calls", "span_call", "span_call_info", "span_conversation",
           "span_peer"]
