"""Semconv v1.26/v1.27 content span events.

``gen_ai.content.prompt`` (attribute ``gen_ai.prompt``) and ``gen_ai.content.completion``
(attribute ``gen_ai.completion``): JSON strings of OpenAI-style ``[{role, content}]``.
The same attributes set directly on the span are read the same way.
"""

from __future__ import annotations

from typing import Any

from otel_ai_detect.extract.facts import Facts
from otel_ai_detect.extract.jsontext import decode_any_value
from otel_ai_detect.extract.messages import Sink, openai_messages
from otel_ai_detect.extract.recover import recover_messages
from otel_ai_detect.model import ASSISTANT, UNKNOWN

CONVENTION = "genai-v1.26-events"


def matches(view: Any) -> bool:
    return bool(view.prompt_events or view.completion_events)


def extract(view: Any, inputs: Sink | None, outputs: Sink | None, facts: Facts) -> None:
    if inputs is not None:
        for path, value in view.prompt_events:
            _add(value, path, inputs, UNKNOWN, None)
    for path, value in view.completion_events:
        _add(value, path, outputs, ASSISTANT, facts.reasons)


def _add(value: Any, path: str, sink: Sink | None, default_role: str,
         reasons: list[str] | None) -> None:
    decoded = decode_any_value(value)
    if not decoded.ok:
        if sink is not None:
            recover_messages(decoded.text, path, sink, default_role, reasons)
        return
    items = decoded.value
    if isinstance(items, str):  # plain text rather than JSON
        items = [{"content": items}]
    if sink is not None and items is not None:
        openai_messages(items, path, sink, default_role)
    if reasons is not None and isinstance(items, list):
        reasons.extend(i["finish_reason"] for i in items
                       if isinstance(i, dict) and isinstance(i.get("finish_reason"), str))
