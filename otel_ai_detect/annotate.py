"""Finding -> span event, span summary attributes and alert LogRecord (ALERTS.md).

The only module that writes OTLP. Everything it writes is named in
semconv.py and laid out as ../shared/ALERTS.md fixes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_ai_detect import __version__, semconv as sc
from otel_ai_detect.model import CATALOG, CallInfo, Finding

SCOPE = InstrumentationScope(name=sc.SCOPE_NAME, version=__version__)


@dataclass(frozen=True, slots=True)
class Alert:
    """A finding placed on a span of a trace, with its stable id."""

    finding: Finding
    trace_id: bytes
    span_id: bytes
    alert_id: str
    info: CallInfo


def alert_id(trace_id: bytes, span_id: bytes, finding: Finding) -> str:
    """Stable: the same span and finding give the same id, on a retry too."""
    digest = hashlib.sha256()
    for piece in (trace_id, span_id, finding.rule.encode(),
                  (finding.fingerprint or finding.evidence).encode("utf-8", "replace")):
        digest.update(len(piece).to_bytes(4, "big"))
        digest.update(piece)
    return digest.hexdigest()[:32]


def make_alert(finding: Finding, trace_id: bytes, span_id: bytes, info: CallInfo) -> Alert:
    return Alert(finding, trace_id, span_id, alert_id(trace_id, span_id, finding), info)


def _kv(key: str, value) -> KeyValue:
    kv = KeyValue(key=key)
    if isinstance(value, str):
        kv.value.string_value = _utf8(value)
    elif isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    else:  # a sequence of strings
        kv.value.array_value.values.extend(AnyValue(string_value=v) for v in value)
    return kv


def _utf8(text: str) -> str:
    """Text protobuf can carry: attacker content may hold lone surrogates, which it refuses."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def alert_attributes(alert: Alert) -> list[KeyValue]:
    finding = alert.finding
    rule = CATALOG[finding.rule]
    return [
        _kv(sc.SECURITY_RULE_NAME, rule.name),
        _kv(sc.SECURITY_RULE_DESCRIPTION, rule.description),
        _kv(sc.SECURITY_RULE_CATEGORY, sc.RULE_CATEGORY_VALUE),
        _kv(sc.SECURITY_RULE_RULESET_NAME, sc.RULESET_NAME_VALUE),
        _kv(sc.SECURITY_RULE_VERSION, rule.version),
        _kv(sc.ALERT_ID, alert.alert_id),
        _kv(sc.ALERT_TITLE, rule.title),
        _kv(sc.ALERT_SEVERITY, rule.severity.text),
        _kv(sc.ALERT_MITRE_TACTICS, rule.tactics),
        _kv(sc.ALERT_MITRE_TECHNIQUES, rule.techniques),
        _kv(sc.ALERT_CONFIDENCE, float(finding.confidence)),
        _kv(sc.ALERT_SOURCE, finding.source),
        _kv(sc.ALERT_EVIDENCE, finding.evidence),
        _kv(sc.ALERT_DETECTOR, finding.detector),
    ]


def annotate_span(span: Span, alerts: list[Alert]) -> None:
    """Append one `ai.security.alert` event per alert and set the summary attributes."""
    if not alerts:
        return
    when = span.end_time_unix_nano or span.start_time_unix_nano
    for alert in alerts:
        event = span.events.add(time_unix_nano=when, name=sc.ALERT_EVENT_NAME)
        event.attributes.extend(alert_attributes(alert))
    # A span annotated before (by an earlier pass of this processor) is counted on.
    count, rules = 0, []
    for index in range(len(span.attributes) - 1, -1, -1):
        kv = span.attributes[index]
        if kv.key == sc.ALERT_COUNT:
            count = kv.value.int_value
            del span.attributes[index]
        elif kv.key == sc.ALERT_RULES:
            rules = [v.string_value for v in kv.value.array_value.values]
            del span.attributes[index]
    for alert in alerts:
        if alert.finding.rule not in rules:
            rules.append(alert.finding.rule)
    span.attributes.extend([_kv(sc.ALERT_COUNT, count + len(alerts)), _kv(sc.ALERT_RULES, rules)])


def alert_log_record(alert: Alert, time_unix_nano: int, observed_unix_nano: int) -> LogRecord:
    finding = alert.finding
    rule = CATALOG[finding.rule]
    record = LogRecord(
        time_unix_nano=time_unix_nano or observed_unix_nano,
        observed_time_unix_nano=observed_unix_nano,
        severity_number=rule.severity.number,
        severity_text=rule.severity.text,
        event_name=sc.ALERT_EVENT_NAME,
        trace_id=alert.trace_id,
        span_id=alert.span_id,
    )
    record.body.string_value = _utf8(_body(alert))
    record.attributes.append(_kv(sc.EVENT_NAME_ATTR, sc.ALERT_EVENT_NAME))
    record.attributes.extend(alert_attributes(alert))
    info = alert.info
    if info.operation:
        record.attributes.append(_kv(sc.GEN_AI_OPERATION_NAME, info.operation))
    if info.model:
        record.attributes.append(_kv(sc.GEN_AI_REQUEST_MODEL, info.model))
    if info.provider:
        # Only the two GenAI names are written; OpenInference's llm.system maps to the current one.
        key = sc.GEN_AI_SYSTEM if info.provider_key == sc.GEN_AI_SYSTEM else sc.GEN_AI_PROVIDER_NAME
        record.attributes.append(_kv(key, info.provider))
    return record


def _body(alert: Alert) -> str:
    rule = CATALOG[alert.finding.rule]
    call = " ".join(part for part in (alert.info.operation, alert.info.model) if part)
    where = f" ({call})" if call else ""
    return (f"[{rule.severity.text}] {rule.title}{where}: "
            f"{alert.finding.source}: {alert.finding.evidence}")
