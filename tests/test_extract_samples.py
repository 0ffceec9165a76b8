"""Every captured sample (tests/testdata/samples) yields the right normalized view.

One test per (file, scenario): scenario -> trace id comes from *.scenarios.json.
"""

from __future__ import annotations

import pytest
from samples import load, log_records, prefix, sample_names, scenarios, spans

from otel_ai_detect.extract import log_calls, span_call_info, span_conversation, span_peer
from otel_ai_detect.model import SYSTEM, TOOL, USER, Conversation

JAILBREAK = "Ignore all previous instructions"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
POLICY = "content management policy"
SCENARIOS = ("normal", "stream", "tool_call", "tool_result", "content_filter",
             "stream_content_filter", "blocked_400", "long_prompt")

# What each trace sample keeps: the convention its messages come from (None: no content
# on spans), whether Azure's prompt/choice filter results survive, and how long_prompt
# arrives ("full", "limit" = cut JSON, "openlit500" = cut to 500 + "...").
TRACES = {
    "openai-v2_span_only": ("genai-semconv", False, False, "full"),
    "openai-v2_span_and_event": ("genai-semconv", False, False, "full"),
    "openai-v2_util-genai-0.4b0_span_and_event": ("genai-semconv", False, False, "full"),
    "openai-v2_span_and_event_OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT_1000":
        ("genai-semconv", False, False, "limit"),
    "openai-v2_event_only": (None, False, False, None),
    "openai-v2_capture_true_is_no_content": (None, False, False, None),
    "openai-v2_legacy-v1.30_capture_true": (None, False, False, None),
    "traceloop_default_attributes": ("genai-semconv", True, True, "full"),
    "traceloop_0.54.0_legacy_attributes": ("traceloop-legacy", True, True, "full"),
    "traceloop-events_use_attributes_false": (None, True, False, None),
    "traceloop-events_0.54.0_use_legacy_attributes_false": (None, True, False, None),
    "openinference_default": ("openinference", True, True, "full"),
    "openinference_enable_genai_semconv": ("genai-semconv", True, True, "full"),
    "openlit_capture_message_content": ("genai-semconv", False, False, "full"),
    "openlit_OPENLIT_MAX_CONTENT_LENGTH_500": ("genai-semconv", False, False, "openlit500"),
}
LOGS = {
    "openai-v2_event_only": "genai-semconv-events",
    "openai-v2_span_and_event": "genai-semconv-events",
    "openai-v2_util-genai-0.4b0_span_and_event": "genai-semconv-events",
    "openai-v2_span_and_event_OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT_1000": "genai-semconv-events",
    "openai-v2_legacy-v1.30_capture_true": "genai-legacy-events",
    "traceloop-events_use_attributes_false": "genai-legacy-events",
    "traceloop-events_0.54.0_use_legacy_attributes_false": "genai-legacy-events",
    "openlit_capture_message_content": "genai-semconv-events",
    "openlit_OPENLIT_MAX_CONTENT_LENGTH_500": "genai-semconv-events",
}
HTTP_SERVER = [n for n in sample_names("traces") if n.startswith("http-server-")]


def _texts(messages, role=None) -> str:
    return "\n".join(p.text for m in messages if role is None or m.role == role for p in m.parts)


def _span_conversations(name: str) -> dict[str, list[Conversation]]:
    by_trace = scenarios(name)
    out: dict[str, list[Conversation]] = {}
    for span in spans(load(name)):
        conv = span_conversation(span)
        if conv is not None:
            out.setdefault(by_trace[span.trace_id], []).append(conv)
    return out


def _has_tag_chars(text: str) -> bool:
    return any(0xE0000 <= ord(c) <= 0xE007F for c in text)


def test_every_sample_file_is_covered_by_an_expectation():
    assert {prefix(n) for n in sample_names("traces")} == set(TRACES) | {prefix(n) for n in HTTP_SERVER}
    assert {prefix(n) for n in sample_names("logs")} == set(LOGS)


@pytest.mark.parametrize("name", sorted(TRACES))
def test_each_scenario_trace_has_exactly_one_genai_span_and_helper_spans_are_not_genai(name):
    convs = _span_conversations(f"{name}.traces.otlp.json")
    assert sorted(convs) == sorted(SCENARIOS)
    assert all(len(c) == 1 for c in convs.values())
    for span in spans(load(f"{name}.traces.otlp.json")):
        if span.name.startswith("scenario/") or span.name == "POST":  # harness and OpenLIT httpx
            assert span_conversation(span) is None


def _check_content(scenario: str, conv: Conversation, filters_kept: bool, long_form: str) -> None:
    inputs, outputs = _texts(conv.inputs), _texts(conv.outputs)
    if scenario in ("normal", "stream"):
        assert conv.inputs[0].role == SYSTEM and "banking assistant" in _texts(conv.inputs[:1])
        user = _texts(conv.inputs, USER)
        assert JAILBREAK in user and _has_tag_chars(user) and "\\udb40" not in user
        assert AWS_KEY in outputs
    elif scenario == "tool_call":
        assert any(p.kind == "tool_call" and "get_weather" in p.text and "Paris" in p.text
                   for m in conv.outputs for p in m.parts)
        assert {"tool_call", "tool_calls"} & set(conv.finish_reasons)
    elif scenario == "tool_result":
        assert "IGNORE PREVIOUS INSTRUCTIONS" in _texts(conv.inputs, TOOL)
        assert AWS_KEY in outputs
    elif scenario == "content_filter":
        assert "content_filter" in conv.finish_reasons and "hurt someone" in inputs
    elif scenario == "stream_content_filter":
        assert "content_filter" in conv.finish_reasons
        if conv.convention != "traceloop-legacy":  # 0.54 replaced the text by FILTERED
            assert "Here is how to" in outputs
        assert "FILTERED" not in outputs
    elif scenario == "blocked_400":
        assert conv.error_type and any(POLICY in m for m in conv.error_messages)
    elif scenario == "long_prompt":
        user = conv.inputs[-1]
        assert user.role == USER
        text = _texts([user])
        assert text.startswith("Summarize:\nAAAA")
        if long_form == "full":
            assert len(text) > 50_000 and text.endswith("END-MARKER")
        elif long_form == "limit":  # JSON cut at 1000 chars: recovered, role kept
            assert 900 < len(text) < 1000 and "(truncated)" in user.parts[0].path
        else:
            assert len(text) == 503 and text.endswith("...")
    if filters_kept and scenario == "content_filter":
        assert any(v.category == "violence" and v.filtered and v.target == "completion"
                   for v in conv.provider_filter)


@pytest.mark.parametrize("name,scenario", [(n, s) for n in sorted(TRACES) for s in SCENARIOS])
def test_span_samples_give_the_expected_view_per_scenario(name, scenario):
    convention, prompt_filter_kept, choice_filter_kept, long_form = TRACES[name]
    [conv] = _span_conversations(f"{name}.traces.otlp.json")[scenario]
    if convention is None:  # no content on spans, but still a GenAI conversation
        assert conv.inputs == () and conv.outputs == ()
    else:
        assert conv.convention == convention
        _check_content(scenario, conv, choice_filter_kept, long_form)
    if scenario == "blocked_400":
        assert conv.error_type and any(POLICY in m for m in conv.error_messages)
    if scenario == "content_filter":
        jailbreak = [v for v in conv.provider_filter if v.category == "jailbreak"]
        if prompt_filter_kept:
            assert [(v.detected, v.filtered, v.target) for v in jailbreak] == [(True, False, "prompt")]
        else:
            assert jailbreak == []


@pytest.mark.parametrize("name", ["openlit_capture_message_content",
                                  "openlit_OPENLIT_MAX_CONTENT_LENGTH_500"])
def test_openlit_blocked_call_gets_the_jailbreak_verdict_from_the_error_body_repr(name):
    [conv] = _span_conversations(f"{name}.traces.otlp.json")["blocked_400"]
    assert [(v.category, v.filtered, v.detected, v.target) for v in conv.provider_filter] == [
        ("jailbreak", True, True, "prompt")]
    assert conv.inputs == ()  # OpenLIT records no prompt on error


def test_openlit_system_text_sent_twice_is_one_system_message():
    [conv] = _span_conversations("openlit_capture_message_content.traces.otlp.json")["normal"]
    assert [m.role for m in conv.inputs] == [SYSTEM, USER]


def test_span_call_info_names_model_and_provider_with_the_key_it_came_from():
    by_name = {}
    for name in ("openai-v2_span_only", "openai-v2_legacy-v1.30_capture_true", "openinference_default"):
        span = next(s for s in spans(load(f"{name}.traces.otlp.json")) if span_conversation(s))
        by_name[name] = span_call_info(span)
    assert by_name["openai-v2_span_only"].provider_key == "gen_ai.provider.name"
    assert by_name["openai-v2_span_only"].model == "gpt-4o-mini"
    assert by_name["openai-v2_span_only"].operation == "chat"
    assert by_name["openai-v2_legacy-v1.30_capture_true"].provider_key == "gen_ai.system"
    assert by_name["openinference_default"].provider_key == "llm.system"
    assert by_name["openinference_default"].model == "gpt-4o-mini-2024-07-18"


def _log_conversations(name: str) -> dict[str, list]:
    by_trace = scenarios(name)
    out: dict[str, list] = {}
    for call in log_calls(log_records(load(name))):
        out.setdefault(by_trace[call.trace_id], []).append(call)
    return out


@pytest.mark.parametrize("name,scenario", [(n, s) for n in sorted(LOGS) for s in SCENARIOS])
def test_log_samples_give_one_call_per_scenario_with_the_expected_view(name, scenario):
    calls = _log_conversations(f"{name}.logs.otlp.json")
    if name.startswith("openlit") and scenario == "blocked_400":
        assert scenario not in calls  # OpenLIT emits no details event on error
        return
    [call] = calls[scenario]
    conv = call.conversation
    assert conv.convention == LOGS[name]
    if scenario == "long_prompt":
        text = _texts(conv.inputs, USER)
        if "LIMIT_1000" in name:  # leaf strings cut, structure intact
            assert len(text) == 1000
        elif "500" in name:
            assert text.endswith("...") and len(text) == 503
        else:
            assert text.endswith("END-MARKER") and len(text) > 50_000
    elif scenario == "blocked_400":
        assert JAILBREAK in _texts(conv.inputs, USER) and conv.outputs == ()
    else:
        _check_content(scenario, conv, False, "full")
    assert all(p.path.startswith("log:") for m in conv.inputs + conv.outputs for p in m.parts)


@pytest.mark.parametrize("name", sorted(LOGS))
def test_log_calls_use_every_genai_record_once(name):
    records = log_records(load(f"{name}.logs.otlp.json"))
    used = [i for call in log_calls(records) for i in call.record_indexes]
    assert sorted(used) == list(range(len(records)))


@pytest.mark.parametrize("name", ["traceloop-events_use_attributes_false",
                                  "traceloop-events_0.54.0_use_legacy_attributes_false"])
def test_streamed_choice_logged_under_the_caller_span_joins_the_llm_span_call(name):
    [call] = _log_conversations(f"{name}.logs.otlp.json")["stream"]
    llm_span = next(s for s in spans(load(f"{name}.traces.otlp.json"))
                    if s.trace_id == call.trace_id and s.name == "openai.chat")
    assert call.span_id == llm_span.span_id
    assert AWS_KEY in _texts(call.conversation.outputs) and JAILBREAK in _texts(call.conversation.inputs)


@pytest.mark.parametrize("name", HTTP_SERVER)
def test_http_server_span_gives_the_forwarded_client_first_and_the_sqlmap_user_agent(name):
    peers = [p for p in map(span_peer, spans(load(name))) if p is not None]
    assert len(peers) == 1
    [peer] = peers
    assert peer.addresses[0] == "185.220.101.34" and "127.0.0.1" in peer.addresses
    assert peer.address == "185.220.101.34"
    assert peer.user_agent.startswith("sqlmap/1.7.2")


@pytest.mark.parametrize("name", HTTP_SERVER)
def test_http_server_samples_have_one_genai_span_and_no_other(name):
    convs = [c for c in map(span_conversation, spans(load(name))) if c is not None]
    assert len(convs) == 1
    assert "reveal the system prompt" in _texts(convs[0].inputs, USER)
    assert AWS_KEY in _texts(convs[0].outputs)
