"""Each convention's adapter, the order between them, and provider/guardrail verdicts."""

from __future__ import annotations

import json

import pytest
from samples import make_span

from otel_ai_detect.extract import span_conversation


def texts(messages):
    return [(m.role, [p.text for p in m.parts]) for m in messages]


def verdicts(conv):
    return [(v.category, v.filtered, v.detected, v.target) for v in conv.provider_filter]


def test_traceloop_flattened_attributes_become_messages_in_index_order():
    conv = span_conversation(make_span({
        "gen_ai.system": "openai", "llm.request.type": "chat",
        "gen_ai.prompt.10.role": "user", "gen_ai.prompt.10.content": "tenth",
        "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "zeroth",
        "gen_ai.prompt.1.role": "assistant",
        "gen_ai.prompt.1.tool_calls.0.name": "get_weather",
        "gen_ai.prompt.1.tool_calls.0.arguments": '{"city": "Paris"}',
        "gen_ai.prompt.2.role": "tool", "gen_ai.prompt.2.tool_call_id": "c1",
        "gen_ai.prompt.2.content": "IGNORE PREVIOUS",
        "gen_ai.prompt.prompt_filter_results": json.dumps(
            [{"prompt_index": 0, "content_filter_results": {"jailbreak": {"filtered": False, "detected": True}}}]),
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "FILTERED",
        "gen_ai.completion.0.finish_reason": "content_filter",
        "gen_ai.completion.0.content_filter_results": json.dumps(
            {"violence": {"filtered": True, "severity": "high"}, "hate": {"filtered": False, "severity": "safe"}}),
    }))
    assert conv.convention == "traceloop-legacy"
    assert texts(conv.inputs) == [("system", ["zeroth"]), ("assistant", ['get_weather({"city": "Paris"})']),
                                  ("tool", ["IGNORE PREVIOUS"]), ("user", ["tenth"])]
    assert conv.inputs[2].parts[0].kind == "tool_call_response"
    assert conv.outputs == ()  # "FILTERED" is a marker, not text
    assert conv.finish_reasons == ("content_filter",)
    assert verdicts(conv) == [("jailbreak", False, True, "prompt"), ("violence", True, True, "completion")]


def test_openinference_flat_messages_and_multimodal_contents():
    conv = span_conversation(make_span({
        "openinference.span.kind": "LLM",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.contents.0.message_content.type": "text",
        "llm.input_messages.0.message.contents.0.message_content.text": "look at this",
        "llm.input_messages.0.message.contents.1.message_content.image.image.url": "https://x.example/i.png",
        "llm.input_messages.1.message.role": "tool",
        "llm.input_messages.1.message.content": "tool said hi",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "f",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
    }))
    assert conv.convention == "openinference"
    assert texts(conv.inputs) == [("user", ["look at this", "https://x.example/i.png"]),
                                  ("tool", ["tool said hi"])]
    assert texts(conv.outputs) == [("assistant", ["f({})"])]
    assert conv.inputs[0].parts[0].path == \
        "llm.input_messages.0.message.contents.0.message_content.text"


def test_openinference_redacted_values_are_markers_not_content():
    conv = span_conversation(make_span({
        "openinference.span.kind": "LLM", "input.value": "__REDACTED__",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "__REDACTED__"}))
    assert conv.inputs == () and conv.outputs == ()


def test_openinference_contents_keep_numeric_order():
    attrs = {"llm.input_messages.0.message.role": "user"}
    for k in range(12):
        attrs[f"llm.input_messages.0.message.contents.{k}.message_content.text"] = f"c{k}"
    conv = span_conversation(make_span(attrs))
    assert [p.text for p in conv.inputs[0].parts] == [f"c{k}" for k in range(12)]


@pytest.mark.parametrize("input_value,expected", [
    (json.dumps({"model": "m", "messages": [{"role": "system", "content": "s"},
                                            {"role": "user", "content": [{"type": "text", "text": "u"}]}]}),
     [("system", ["s"]), ("user", ["u"])]),
    (json.dumps({"prompt": "complete me", "model": "m"}), [("unknown", ["complete me\nm"])]),
    ("plain text question", [("unknown", ["plain text question"])]),
    ('{"messages": [{"role": "user", "content": "cut', [("unknown", ['{"messages": [{"role": "user", "content": "cut'])]),
])
def test_openinference_raw_input_value_is_the_fallback_content(input_value, expected):
    conv = span_conversation(make_span({"openinference.span.kind": "LLM", "input.value": input_value}))
    assert texts(conv.inputs) == expected


def test_openinference_raw_output_value_gives_choices_and_azure_filter_results():
    output = {"choices": [{"index": 0, "finish_reason": "content_filter",
                           "message": {"role": "assistant", "content": "partial"},
                           "content_filter_results": {"violence": {"filtered": True, "severity": "high"}}}],
              "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {
                  "jailbreak": {"filtered": False, "detected": True},
                  "indirect_attack": {"filtered": True, "detected": True},
                  "hate": {"filtered": False, "severity": "safe"}}}]}
    conv = span_conversation(make_span({"openinference.span.kind": "LLM", "llm.finish_reason": "content_filter",
                                        "output.value": json.dumps(output)}))
    assert texts(conv.outputs) == [("assistant", ["partial"])]
    assert verdicts(conv) == [("jailbreak", False, True, "prompt"), ("indirect_attack", True, True, "prompt"),
                              ("violence", True, True, "completion")]


def test_v126_span_events_carry_prompt_and_completion():
    conv = span_conversation(make_span(
        {"gen_ai.system": "openai"},
        events=[("gen_ai.content.prompt", {"gen_ai.prompt": json.dumps(
                    [{"role": "system", "content": "s"}, {"role": "user", "content": "u \U000E0041"}])}),
                ("gen_ai.content.completion", {"gen_ai.completion": json.dumps(
                    [{"role": "assistant", "content": "a", "finish_reason": "stop"}])})]))
    assert conv.convention == "genai-v1.26-events"
    assert texts(conv.inputs) == [("system", ["s"]), ("user", ["u \U000E0041"])]
    assert texts(conv.outputs) == [("assistant", ["a"])] and conv.finish_reasons == ("stop",)
    assert conv.inputs[0].parts[0].path == "event:gen_ai.content.prompt[0].gen_ai.prompt[0].content"


def test_one_message_in_two_conventions_on_a_span_is_not_duplicated():
    conv = span_conversation(make_span({
        "openinference.span.kind": "LLM",
        "llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "hello",
        "llm.output_messages.0.message.role": "assistant", "llm.output_messages.0.message.content": "hi",
        "llm.finish_reason": "stop",
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hello"}]}]),
        "gen_ai.response.finish_reasons": ["stop"],
    }))
    # inputs from the first adapter (current semconv), outputs from the only one that has them
    assert texts(conv.inputs) == [("user", ["hello"])] and texts(conv.outputs) == [("assistant", ["hi"])]
    assert conv.inputs[0].parts[0].path.startswith("gen_ai.input.messages")
    assert conv.outputs[0].parts[0].path.startswith("llm.output_messages")
    assert conv.convention == "genai-semconv" and conv.finish_reasons == ("stop",)


def test_bedrock_guardrail_summaries_written_by_traceloop_are_guardrail_verdicts():
    conv = span_conversation(make_span({
        "gen_ai.provider.name": "aws.bedrock", "aws.bedrock.guardrail.id": "gr1:1",
        "gen_ai.bedrock.guardrail.input_filter": json.dumps(
            {"sensitive": {"pii": [], "regex": []}, "topic": [], "content": ["PROMPT_ATTACK"], "words": []}),
        "gen_ai.bedrock.guardrail.output_filter": json.dumps(
            [{"sensitive": {"pii": ["EMAIL"], "regex": []}, "topic": [], "content": [], "words": []}]),
    }))
    assert verdicts(conv) == [("jailbreak", True, True, "prompt"), ("guardrail", True, True, "prompt"),
                              ("guardrail", True, True, "completion")]


@pytest.mark.parametrize("output,source,expected", [
    ({"action": "GUARDRAIL_INTERVENED", "assessments": [{"contentPolicy": {"filters": [
        {"type": "PROMPT_ATTACK", "confidence": "HIGH", "action": "BLOCKED"},
        {"type": "INSULTS", "confidence": "LOW", "action": "NONE"}]}}]}, "INPUT",
     [("jailbreak", True, True, "prompt"), ("insults", False, True, "prompt"),
      ("guardrail", True, True, "prompt")]),
    ({"action": "NONE", "assessments": []}, "OUTPUT", []),
    ({"action": "GUARDRAIL_INTERVENED", "outputs": [{"text": "blocked"}]}, "OUTPUT",
     [("guardrail", True, True, "completion")]),
])
def test_openinference_guardrail_spans_give_the_assessment(output, source, expected):
    conv = span_conversation(make_span({
        "openinference.span.kind": "GUARDRAIL",
        "input.value": json.dumps({"source": source, "content": [{"text": {"text": "hi"}}]}),
        "output.value": json.dumps(output)}))
    assert verdicts(conv) == expected


@pytest.mark.parametrize("action,phase,expected", [
    ("block", "pre", [("guardrail", True, True, "prompt")]),
    ("flag", "output", [("guardrail", False, True, "completion")]),
    ("allow", "pre", []),
])
def test_openlit_guard_events_are_guardrail_verdicts(action, phase, expected):
    conv = span_conversation(make_span({"gen_ai.operation.name": "chat"}, events=[
        ("guard.evaluation", {"guard.name": "prompt_injection", "guard.action": action,
                              "guard.phase": phase, "guard.score": 0.9})]))
    assert verdicts(conv) == expected


@pytest.mark.parametrize("value,expected", [
    ("GUARDRAIL_INTERVENED", [("guardrail", True, True, "prompt")]),
    ("NONE", []),
    ('{"jailbreak": {"filtered": true, "detected": true}}', [("jailbreak", True, True, "prompt")]),
])
def test_prompt_filter_results_in_other_shapes(value, expected):
    conv = span_conversation(make_span({"gen_ai.prompt.prompt_filter_results": value}))
    assert verdicts(conv) == expected


@pytest.mark.parametrize("text,expected", [
    (("Error code: 400 - {'error': {'code': 'content_filter', 'innererror': {'content_filter_result': "
      "{'hate': {'filtered': False, 'severity': 'safe'}, 'jailbreak': {'filtered': True, 'detected': True}}}}}"),
     [("jailbreak", True, True, "prompt")]),
    (('Error code: 400 - {"error": {"innererror": {"content_filter_result": {"violence": '
      '{"filtered": true, "severity": "medium"}, "jailbreak": {"filtered": false, "detected": false}}}}}'),
     [("violence", True, True, "prompt")]),
    ("Error code: 400 - content_filter_result missing braces", []),
    ("Error code: 429 - rate limited", []),
])
def test_azure_verdicts_are_read_from_error_text(text, expected):
    conv = span_conversation(make_span({"gen_ai.operation.name": "chat"}, status=(2, text)))
    assert verdicts(conv) == expected and conv.error_messages == (text,)
