"""The span adapters, one module per convention, in the order they are tried.

Order (messages of each side come from the first adapter that yields any):
1. ``genai_semconv``     current semconv: gen_ai.input/output.messages, system_instructions
2. ``traceloop_legacy``  Traceloop <= 0.54 flattened gen_ai.prompt.{i}.* / gen_ai.completion.{i}.*
3. ``openinference``     llm.input/output_messages.{i}.message.*, else raw input/output.value
4. ``v126_events``       semconv v1.26 span events gen_ai.content.prompt / .completion

Current semconv goes first because it is the spec shape (typed parts, system
instructions) and, when a library writes it beside its own keys (OpenInference with
ENABLE_GENAI_SEMCONV), it holds the same messages. Finish reasons, errors and
verdicts are gathered from every adapter that matches, whatever the order.

Each adapter module has:
    CONVENTION: str
    matches(view) -> bool
    extract(view, inputs: Sink | None, outputs: Sink | None, facts) -> None
where a side's sink is None once an earlier adapter filled that side.
"""

from __future__ import annotations

from typing import Any, Protocol

from otel_ai_detect.extract.adapters import (
    genai_semconv,
    openinference,
    traceloop_legacy,
    v126_events,
)


class Adapter(Protocol):
    CONVENTION: str

    def matches(self, view: Any) -> bool: ...

    def extract(self, view: Any, inputs: Any, outputs: Any, facts: Any) -> None: ...


ADAPTERS: tuple[Adapter, ...] = (genai_semconv, traceloop_legacy, openinference, v126_events)
