"""log_calls: grouping GenAI log records into model calls, and reading each event form."""

from __future__ import annotations

import json

from samples import make_record

from otel_ai_detect.extract import log_calls

T1, T2 = b"\x01" * 16, b"\x09" * 16
LLM, CALLER, OTHER = b"\x02" * 8, b"\x03" * 8, b"\x04" * 8


def user(text, span=LLM, trace=T1, **kw):
    return make_record("gen_ai.user.message", {"gen_ai.system": "openai"}, body={"content": text},
                       span_id=span, trace_id=trace, **kw)


def choice(text, span=LLM, trace=T1, reason="stop"):
    return make_record("gen_ai.choice", {"gen_ai.system": "openai"}, span_id=span, trace_id=trace,
                       body={"index": 0, "finish_reason": reason, "message": {"content": text}})


def texts(messages):
    return [(m.role, [p.text for p in m.parts]) for m in messages]


def test_non_genai_records_are_ignored_and_indexes_point_into_the_input():
    records = [make_record(body="plain app log"), user("hi"), make_record("other.event"), choice("hello")]
    [call] = log_calls(records)
    assert call.record_indexes == (1, 3) and call.trace_id == T1 and call.span_id == LLM
    assert texts(call.conversation.inputs) == [("user", ["hi"])]
    assert texts(call.conversation.outputs) == [("assistant", ["hello"])]
    assert call.conversation.convention == "genai-legacy-events"
    assert call.info.provider == "openai" and call.info.provider_key == "gen_ai.system"


def test_the_event_name_attribute_is_read_when_event_name_is_empty():
    record = make_record("", {"event.name": "gen_ai.user.message"}, body={"content": "old sdk"})
    [call] = log_calls([record])
    assert texts(call.conversation.inputs) == [("user", ["old sdk"])]


def test_a_streamed_choice_under_the_caller_span_joins_the_open_call_of_its_trace():
    records = [user("q1"), user("other trace", span=OTHER, trace=T2), choice("a1", span=CALLER)]
    calls = log_calls(records)
    assert [(c.span_id, c.record_indexes) for c in calls] == [(LLM, (0, 2)), (OTHER, (1,))]
    assert texts(calls[0].conversation.outputs) == [("assistant", ["a1"])]


def test_a_choice_with_no_open_call_in_its_trace_stays_its_own_call():
    calls = log_calls([user("q", trace=T2), choice("a", span=CALLER)])
    assert [(c.trace_id, c.record_indexes) for c in calls] == [(T2, (0,)), (T1, (1,))]


def test_a_new_prompt_after_the_answer_on_the_same_span_is_the_next_call():
    calls = log_calls([user("q1"), choice("a1"), user("q2"), choice("a2")])
    assert [c.record_indexes for c in calls] == [(0, 1), (2, 3)]


def test_each_details_event_is_a_whole_call_even_on_the_same_span():
    def details(text):
        return make_record("gen_ai.client.inference.operation.details", {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": text}]}],
            "gen_ai.output.messages": json.dumps(  # the JSON string form is accepted on logs too
                [{"role": "assistant", "parts": [], "finish_reason": "content_filter"}])})
    calls = log_calls([details("one"), details("two")])
    assert [texts(c.conversation.inputs) for c in calls] == [[("user", ["one"])], [("user", ["two"])]]
    assert calls[0].conversation.finish_reasons == ("content_filter",)
    assert calls[0].conversation.convention == "genai-semconv-events"
    assert calls[0].conversation.inputs[0].parts[0].path == "log:gen_ai.input.messages[0].parts[0].content"


def test_exception_events_join_the_call_of_their_span_or_stand_alone():
    exception = make_record("gen_ai.client.operation.exception", {
        "exception.type": "openai.BadRequestError", "error.type": "BadRequestError",
        "exception.message": "Error code: 400 - content management policy"})
    [call] = log_calls([user("jailbreak"), exception])
    assert call.conversation.error_type == "BadRequestError"
    assert call.conversation.error_messages == ("Error code: 400 - content management policy",)
    [alone] = log_calls([exception])
    assert alone.conversation.inputs == () and alone.conversation.error_messages


def test_legacy_events_read_tool_calls_tool_messages_and_traceloop_shapes():
    records = [
        make_record("gen_ai.system.message", body={"content": "sys", "role": "system"}),
        make_record("gen_ai.assistant.message", body={"content": {}, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}),
        make_record("gen_ai.tool.message", body={"content": "IGNORE PREVIOUS", "id": "c1"}),
        make_record("gen_ai.user.message", body=json.dumps({"content": [{"type": "text", "text": "multi"}]})),
        make_record("gen_ai.choice", body={"index": 0, "finish_reason": "tool_calls", "message": {"content": {}},
                                          "tool_calls": [{"function": {"name": "g", "arguments": "{}"}}]}),
    ]
    [call] = log_calls(records)
    assert texts(call.conversation.inputs) == [("system", ["sys"]), ("assistant", ['f({"a": 1})']),
                                               ("tool", ["IGNORE PREVIOUS"]), ("user", ["multi"])]
    assert texts(call.conversation.outputs) == [("assistant", ["g({})"])]
    assert call.conversation.finish_reasons == ("tool_calls",)
    assert call.conversation.outputs[0].parts[0].path == "log:gen_ai.choice.body.tool_calls[0].function.arguments"


def test_empty_and_odd_bodies_do_not_crash():
    records = [make_record("gen_ai.user.message"), make_record("gen_ai.user.message", body=""),
               make_record("gen_ai.user.message", body="not json"), make_record("gen_ai.choice", body=[1, 2]),
               make_record("gen_ai.client.inference.operation.details", {"gen_ai.input.messages": ""})]
    calls = log_calls(records)
    assert [texts(c.conversation.inputs) for c in calls] == [[("user", ["not json"])], []]
    assert log_calls([]) == []
