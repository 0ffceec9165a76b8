"""Current GenAI semconv (v1.37+): gen_ai.input.messages, gen_ai.output.messages,
gen_ai.system_instructions.

The same function serves spans (JSON strings: openai-v2 SPAN_*, Traceloop >= 0.55,
OpenLIT, OpenInference with ENABLE_GENAI_SEMCONV) and the log event
gen_ai.client.inference.operation.details (structured values); either form is
accepted on either signal. JSON that does not decode is recovered (recover.py).
"""

from __future__ import annotations

from typing import Any

from otel_ai_detect import semconv as sc
from otel_ai_detect.extract import filters
from otel_ai_detect.extract.facts import Facts
from otel_ai_detect.extract.jsontext import Decoded
from otel_ai_detect.extract.messages import Budget, Sink, semconv_messages, semconv_system
from otel_ai_detect.extract.recover import recover_messages
from otel_ai_detect.model import ASSISTANT, SYSTEM, UNKNOWN

CONVENTION = "genai-semconv"
CONTENT_KEYS = (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS)


def matches(view: Any) -> bool:
    return any(key in view.attrs for key in CONTENT_KEYS)


def extract(view: Any, inputs: Sink | None, outputs: Sink | None, facts: Facts) -> None:
    extract_decoded(view.decoded(sc.GEN_AI_INPUT_MESSAGES), view.decoded(sc.GEN_AI_OUTPUT_MESSAGES),
                    view.decoded(sc.GEN_AI_SYSTEM_INSTRUCTIONS), "", inputs, outputs, facts)


def extract_decoded(inputs_value: Decoded | None, outputs_value: Decoded | None,
                    system_value: Decoded | None, prefix: str,
                    inputs: Sink | None, outputs: Sink | None, facts: Facts) -> None:
    """Messages, finish reasons and choice filter results from decoded semconv values.

    ``prefix`` starts every part path (``log:`` for log records).
    """
    if inputs is not None:
        _messages(inputs_value, prefix + sc.GEN_AI_INPUT_MESSAGES, inputs, UNKNOWN, None)
        if system_value is not None:
            _system(system_value, prefix + sc.GEN_AI_SYSTEM_INSTRUCTIONS, inputs)
    if outputs_value is None:
        return
    path = prefix + sc.GEN_AI_OUTPUT_MESSAGES
    if outputs is not None:
        _messages(outputs_value, path, outputs, ASSISTANT, facts.reasons)
    elif outputs_value.ok and isinstance(outputs_value.value, list):
        facts.reasons.extend(m["finish_reason"] for m in outputs_value.value
                             if isinstance(m, dict) and isinstance(m.get("finish_reason"), str))
    if outputs_value.ok and isinstance(outputs_value.value, list):
        # Traceloop keeps Azure's per-choice results inside the output message object.
        for i, message in enumerate(outputs_value.value):
            if isinstance(message, dict) and "content_filter_results" in message:
                filters.azure_results(message["content_filter_results"], filters.COMPLETION,
                                      f"{path}[{i}].content_filter_results", facts.verdicts)


def _messages(value: Decoded | None, path: str, sink: Sink, default_role: str,
              reasons: list[str] | None) -> None:
    if value is None:
        return
    if value.ok:
        if value.value is not None:
            semconv_messages(value.value, path, sink, default_role, reasons)
    else:
        recover_messages(value.text, path, sink, default_role, reasons)


def _system(value: Decoded, path: str, sink: Sink) -> None:
    if value.ok:
        if value.value is not None:
            semconv_system(value.value, path, sink)
        return
    # Truncated: recover into a scratch sink, then place its text as the system message.
    scratch = Sink(Budget())
    recover_messages(value.text, path, scratch, SYSTEM)
    sink.first_system([part for message in scratch.finish() for part in message.parts])
