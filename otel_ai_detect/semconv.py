"""Every attribute, event and scope name the processor reads or writes.

No name literal lives elsewhere: a convention that moves changes one line here.
"""

# --- GenAI semantic conventions (current, v1.37+) -------------------------
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_SYSTEM = "gen_ai.system"  # before v1.37
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"
ERROR_TYPE = "error.type"

# Log-based GenAI events (LogRecord.event_name).
EVENT_INFERENCE_DETAILS = "gen_ai.client.inference.operation.details"
EVENT_OPERATION_EXCEPTION = "gen_ai.client.operation.exception"
EVENT_SYSTEM_MESSAGE = "gen_ai.system.message"
EVENT_USER_MESSAGE = "gen_ai.user.message"
EVENT_ASSISTANT_MESSAGE = "gen_ai.assistant.message"
EVENT_TOOL_MESSAGE = "gen_ai.tool.message"
EVENT_CHOICE = "gen_ai.choice"
EVENT_NAME_ATTR = "event.name"  # deprecated carrier of the event name (semconv <= v1.29)

# v1.26 span events.
SPAN_EVENT_CONTENT_PROMPT = "gen_ai.content.prompt"
SPAN_EVENT_CONTENT_COMPLETION = "gen_ai.content.completion"
GEN_AI_PROMPT = "gen_ai.prompt"
GEN_AI_COMPLETION = "gen_ai.completion"

# --- Traceloop / OpenLLMetry ----------------------------------------------
TRACELOOP_PROMPT_PREFIX = "gen_ai.prompt."          # gen_ai.prompt.{i}.role|content|...
TRACELOOP_COMPLETION_PREFIX = "gen_ai.completion."  # gen_ai.completion.{i}.*
TRACELOOP_PROMPT_FILTER_RESULTS = "gen_ai.prompt.prompt_filter_results"
TRACELOOP_REQUEST_TYPE = "llm.request.type"
BEDROCK_GUARDRAIL_ID = "aws.bedrock.guardrail.id"
BEDROCK_GUARDRAIL_INPUT_FILTER = "gen_ai.bedrock.guardrail.input_filter"
BEDROCK_GUARDRAIL_OUTPUT_FILTER = "gen_ai.bedrock.guardrail.output_filter"

# --- OpenInference ---------------------------------------------------------
OPENINFERENCE_SPAN_KIND = "openinference.span.kind"
OPENINFERENCE_INPUT_VALUE = "input.value"
OPENINFERENCE_OUTPUT_VALUE = "output.value"
OPENINFERENCE_INPUT_MESSAGES_PREFIX = "llm.input_messages."
OPENINFERENCE_OUTPUT_MESSAGES_PREFIX = "llm.output_messages."
OPENINFERENCE_FINISH_REASON = "llm.finish_reason"
OPENINFERENCE_LLM_SYSTEM = "llm.system"
OPENINFERENCE_LLM_PROVIDER = "llm.provider"
OPENINFERENCE_MODEL_NAME = "llm.model_name"

# --- OpenLIT guards --------------------------------------------------------
OPENLIT_GUARD_EVENT = "guard.evaluation"

# --- Exceptions --------------------------------------------------------------
EXCEPTION_EVENT = "exception"
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"

# --- HTTP server spans: who is calling --------------------------------------
CLIENT_ADDRESS = "client.address"
NETWORK_PEER_ADDRESS = "network.peer.address"
NET_PEER_IP = "net.peer.ip"                # old HTTP semconv
NET_SOCK_PEER_ADDR = "net.sock.peer.addr"  # old HTTP semconv
HTTP_CLIENT_IP = "http.client_ip"          # old HTTP semconv
USER_AGENT_ORIGINAL = "user_agent.original"
HTTP_USER_AGENT = "http.user_agent"        # old HTTP semconv
HTTP_REQUEST_HEADER_PREFIX = "http.request.header."
# Request headers as captured; Python normalises dashes to underscores, so both.
HEADER_X_FORWARDED_FOR = ("x-forwarded-for", "x_forwarded_for")
HEADER_FORWARDED = ("forwarded",)
HEADER_X_REAL_IP = ("x-real-ip", "x_real_ip")
HEADER_USER_AGENT = ("user-agent", "user_agent")

# --- What the processor writes (ALERTS.md) ------------------------------------
ALERT_EVENT_NAME = "ai.security.alert"
ALERT_COUNT = "ai.security.alert_count"
ALERT_RULES = "ai.security.alert_rules"

SECURITY_RULE_NAME = "security_rule.name"
SECURITY_RULE_DESCRIPTION = "security_rule.description"
SECURITY_RULE_CATEGORY = "security_rule.category"
SECURITY_RULE_RULESET_NAME = "security_rule.ruleset.name"
SECURITY_RULE_VERSION = "security_rule.version"
ALERT_ID = "ai.alert.id"
ALERT_TITLE = "ai.alert.title"
ALERT_SEVERITY = "ai.alert.severity"
ALERT_MITRE_TACTICS = "ai.alert.mitre_tactics"
ALERT_MITRE_TECHNIQUES = "ai.alert.mitre_techniques"
ALERT_CONFIDENCE = "ai.alert.confidence"
ALERT_SOURCE = "ai.alert.source"
ALERT_EVIDENCE = "ai.alert.evidence"
ALERT_DETECTOR = "ai.alert.detector"

RULE_CATEGORY_VALUE = "ai-workload"
RULESET_NAME_VALUE = "otel-ai-detect"
SCOPE_NAME = "otel-ai-detect"

# --- extract (added by extractors) ---
# Traceloop-bedrock (<= 0.5x) wrote the choice-independent guardrail summary here (no index).
TRACELOOP_COMPLETION_FILTER_RESULTS = "gen_ai.completion.content_filter_results"
TRACELOOP_FILTERED_CONTENT = "FILTERED"  # Traceloop's stand-in for filtered content: not text
# Fields of flattened message keys: Traceloop gen_ai.prompt.{i}.<field>,
# OpenInference llm.input_messages.{i}.message.<field>.
FLAT_ROLE = "role"
FLAT_CONTENT = "content"
FLAT_TOOL_CALL_ID = "tool_call_id"
FLAT_FINISH_REASON = "finish_reason"
FLAT_FILTER_RESULTS = "content_filter_results"
FLAT_TOOL_CALLS = "tool_calls."             # tool_calls.{j}.<tool field>
TRACELOOP_TOOL_NAME = "name"
TRACELOOP_TOOL_ARGUMENTS = "arguments"
OPENINFERENCE_MESSAGE = "message."          # llm.input_messages.{i}.message.*
OPENINFERENCE_CONTENTS = "contents."        # ...message.contents.{k}.message_content.*
OPENINFERENCE_TOOL_NAME = "tool_call.function.name"
OPENINFERENCE_TOOL_ARGUMENTS = "tool_call.function.arguments"
OPENINFERENCE_CONTENT_TEXT = "message_content.text"
OPENINFERENCE_CONTENT_IMAGE_URL = "message_content.image.image.url"
OPENINFERENCE_REDACTED = "__REDACTED__"  # OPENINFERENCE_HIDE_*: a marker, not content
OPENINFERENCE_KIND_LLM = "LLM"
OPENINFERENCE_KIND_GUARDRAIL = "GUARDRAIL"
# OpenLIT guard.evaluation event attributes.
GUARD_NAME = "guard.name"
GUARD_PHASE = "guard.phase"
GUARD_ACTION = "guard.action"
GUARD_CLASSIFICATION = "guard.classification"
