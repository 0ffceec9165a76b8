"""Engines for service tests: one that finds an alert on every span, one that always fails.

Real `Engine` subclasses (the interface the service consumes), so the service's
routing of alerts and its handling of engine failures can be tested while the
real detectors are still being written.
"""

from __future__ import annotations

from otel_ai_detect import semconv
from otel_ai_detect.config_types import Config
from otel_ai_detect.engine import Engine, Processed
from otel_ai_detect.testing import attributes, log_record, logs_request


def alert_for(span) -> object:
    return log_record(
        f"Jailbreak attempt detected on {span.name}",
        event_name=semconv.ALERT_EVENT_NAME,
        severity_number=13,
        trace_id=span.trace_id,
        span_id=span.span_id,
        extra={
            semconv.SECURITY_RULE_NAME: "AI.Jailbreak.DetectedAttempt",
            semconv.ALERT_SEVERITY: "Medium",
            semconv.ALERT_EVIDENCE: "phrase 'ignore all previous instructions'",
        },
    )


class AlertEveryGenAISpan(Engine):
    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config or Config())

    def process_traces(self, request):
        records = []
        for resource_spans in request.resource_spans:
            for span in (s for ss in resource_spans.scope_spans for s in ss.spans):
                if span.name.startswith("chat"):
                    span.attributes.extend(attributes({semconv.ALERT_COUNT: 1}))
                    records.append(alert_for(span))
        if not records:
            return Processed(request, None)
        alerts = logs_request(*records, service_name="chat-app")
        for record in alerts.resource_logs[0].scope_logs[0].log_records:
            record.severity_text = "Medium"
        return Processed(request, alerts, len(records))


class BrokenEngine(Engine):
    """Fails half-way through, after mutating the request: what goes out must be the original."""

    def __init__(self) -> None:
        super().__init__(Config())

    def process_traces(self, request):
        request.resource_spans[0].scope_spans[0].spans[0].name = "half-annotated"
        raise KeyError("secret prompt text that must not reach the log")

    def process_logs(self, request):
        raise RuntimeError("boom")
