"""Alert log records -> rows and a plain-text table for people (scan, demo, debug)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from otel_ai_detect import semconv as sc


@dataclass(frozen=True, slots=True)
class AlertRow:
    severity: str
    rule: str
    service: str
    trace_id: str
    span_id: str
    source: str
    evidence: str
    alert_id: str


def _plain(value: AnyValue):
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_plain(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def alert_rows(requests: Iterable[ExportLogsServiceRequest]) -> list[AlertRow]:
    """Every alert record (event name `ai.security.alert`) of the requests, in order."""
    rows = []
    for request in requests:
        for resource_logs in request.resource_logs:
            resource = {kv.key: _plain(kv.value) for kv in resource_logs.resource.attributes}
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    if record.event_name != sc.ALERT_EVENT_NAME:
                        continue
                    attrs = {kv.key: _plain(kv.value) for kv in record.attributes}
                    rows.append(AlertRow(
                        severity=record.severity_text,
                        rule=attrs.get(sc.SECURITY_RULE_NAME, ""),
                        service=str(resource.get("service.name", "")),
                        trace_id=record.trace_id.hex(), span_id=record.span_id.hex(),
                        source=attrs.get(sc.ALERT_SOURCE, ""),
                        evidence=attrs.get(sc.ALERT_EVIDENCE, ""),
                        alert_id=attrs.get(sc.ALERT_ID, "")))
    return rows


def _cell(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(rows: list[AlertRow], evidence_width: int = 70) -> str:
    if not rows:
        return "no alerts"
    header = ("SEVERITY", "RULE", "SERVICE", "TRACE", "SOURCE", "EVIDENCE")
    cells = [(r.severity, r.rule, r.service, r.trace_id[:12], r.source,
              _cell(r.evidence, evidence_width)) for r in rows]
    widths = [max(len(header[i]), *(len(c[i]) for c in cells)) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)
    return "\n".join(lines)
