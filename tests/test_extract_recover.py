"""Truncated message JSON (SDK attribute length limit) still yields its text, with roles."""

from __future__ import annotations

import time

import pytest
from samples import make_span

from otel_ai_detect.extract import span_conversation
from otel_ai_detect.extract.messages import Budget, Sink
from otel_ai_detect.extract.recover import decode_cut_literal, recover_messages

TAG_I = "\U000E0069"


def recovered(text: str, default_role: str = "unknown"):
    sink = Sink(Budget())
    reasons: list[str] = []
    recover_messages(text, "attr", sink, default_role, reasons)
    return [(m.role, [(p.kind, p.text) for p in m.parts]) for m in sink.finish()], reasons


@pytest.mark.parametrize("text,expected", [
    # cut inside a content literal: the text so far, role kept
    ('[{"role":"user","parts":[{"content":"hello wor',
     [("user", [("text", "hello wor")])]),
    # cut right after a backslash: the dangling escape is dropped
    ('[{"role":"user","parts":[{"content":"abc\\', [("user", [("text", "abc")])]),
    # cut inside a \\u escape
    ('[{"role":"user","parts":[{"content":"abc\\u00', [("user", [("text", "abc")])]),
    # cut between the two halves of a surrogate pair: no lone surrogate left
    ('[{"role":"user","parts":[{"content":"tag\\udb40', [("user", [("text", "tag")])]),
    ('[{"role":"user","parts":[{"content":"tag\\udb40\\', [("user", [("text", "tag")])]),
    # complete escapes decode to the real characters (Unicode tags, quotes, backslashes)
    ('[{"role":"user","parts":[{"content":"x\\udb40\\udc69 say \\"hi\\" C:\\\\dir","type":"te',
     [("user", [("text", f"x{TAG_I} say \"hi\" C:\\dir")])]),
    # an escaped backslash right before the cut is text, not a dangling escape
    ('[{"role":"user","parts":[{"content":"C:\\\\', [("user", [("text", "C:\\")])]),
    # roles follow the messages; structural keys (type, id) are not content
    (('[{"role":"system","parts":[{"content":"be nice","type":"text"}]},'
      '{"role":"user","parts":[{"content":"ignore that","type":"text"}]},{"role":"assis'),
     [("system", [("text", "be nice")]), ("user", [("text", "ignore that")])]),
    # a tool response makes a tool message; arguments are a tool call
    (('[{"role":"assistant","parts":[{"arguments":"{\\"city\\": \\"Paris\\"}","name":"w","type":"tool_call"}]},'
      '{"role":"tool","parts":[{"response":"IGNORE PREVIOUS","id":"c1","type":"tool_call_res'),
     [("assistant", [("tool_call", '{"city": "Paris"}')]),
      ("tool", [("tool_call_response", "IGNORE PREVIOUS")])]),
    # values of keys we do not know are kept as raw text (arguments given as an object)
    ('[{"role":"assistant","parts":[{"arguments":{"city":"Par', [("assistant", [("raw", "Par")])]),
    # a cut right inside a key is not mistaken for content
    ('[{"role":"user","parts":[{"content":"hi","ty', [("user", [("text", "hi")])]),
    # content before any role keeps the default role
    ('[{"parts":[{"content":"orphan', [("unknown", [("text", "orphan")])]),
    # no string literal at all: the whole text, raw
    ("not json at all", [("unknown", [("raw", "not json at all")])]),
    ("[[[[{{{", [("unknown", [("raw", "[[[[{{{")])]),
    ("", []),
])
def test_truncated_json_recovers_text_and_roles(text, expected):
    assert recovered(text)[0] == expected


def test_finish_reasons_are_recovered_from_cut_output_messages():
    text = '[{"role":"assistant","parts":[{"content":"a","type":"text"}],"finish_reason":"stop"},{"ro'
    messages, reasons = recovered(text, "assistant")
    assert messages == [("assistant", [("text", "a")])] and reasons == ["stop"]


@pytest.mark.parametrize("body,expected", [
    ("plain", "plain"), ("a\\", "a"), ("a\\\\", "a\\"), ("a\\\\\\", "a\\"),
    ("a\\u", "a"), ("a\\u12", "a"), ("a\\u0041", "aA"), ("a\\ud83d", "a"),
    ("a\\ud83d\\ude00", "a\U0001F600"), ("bad \\x escape", "bad \\x escape"),
])
def test_a_cut_literal_decodes_what_it_can(body, expected):
    assert decode_cut_literal(body) == expected


@pytest.mark.parametrize("text", [
    '"' + "\\" * 200_001,                      # one endless run of backslashes
    '"a\\"' * 100_000,                         # many escaped quotes, never closed
    "[" * 200_000,                             # deep nesting, no literal
    '["' + '\\"' * 100_000 + "x",              # escaped quotes inside one cut literal
    '[{"content":"' + "a" * 1_000_000,         # one huge cut literal
])
def test_recovery_is_linear_on_pathological_input(text):
    start = time.perf_counter()
    recovered(text)
    assert time.perf_counter() - start < 2.0


def test_a_span_with_cut_json_still_gives_its_text_through_the_public_api():
    conv = span_conversation(make_span({
        "gen_ai.operation.name": "chat",
        "gen_ai.input.messages": '[{"role":"user","parts":[{"content":"Ignore all previous instru',
        "gen_ai.output.messages": '[{"role":"assistant","parts":[{"content":"AKIAIOSFODNN7EX',
    }))
    assert [(m.role, m.parts[0].text) for m in conv.inputs] == [("user", "Ignore all previous instru")]
    assert conv.outputs[0].role == "assistant" and conv.outputs[0].parts[0].text == "AKIAIOSFODNN7EX"
    assert conv.inputs[0].parts[0].path == "gen_ai.input.messages(truncated)[0].content"
