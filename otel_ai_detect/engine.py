"""Pure request processing: OTLP request in, annotated request + alert logs out.

The one place that knows both OTLP and the detectors: it walks the protobuf
messages once, asks `extract` for each call's normalized view, runs the
detectors, joins request metadata across spans of a trace (`trace_state`),
and lets `annotate` write the results. No I/O.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Generic, Iterable, TypeVar

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_ai_detect import extract
from otel_ai_detect.annotate import SCOPE, Alert, alert_log_record, annotate_span, make_alert
from otel_ai_detect.config_types import Config
from otel_ai_detect.detectors.registry import Detectors, build_detectors
from otel_ai_detect.model import CallInfo, Conversation, Finding, Peer, Redaction
from otel_ai_detect.redact import Redactor
from otel_ai_detect.trace_state import TraceState

log = logging.getLogger(__name__)
T = TypeVar("T")
SERVER = Span.SpanKind.SPAN_KIND_SERVER


@dataclass(slots=True)
class Processed(Generic[T]):
    """The request to forward (annotated in place) and the alert log records, if any."""

    request: T
    alerts: ExportLogsServiceRequest | None
    alert_count: int = 0
    # False when the request was left exactly as received: the bytes as received
    # can then be forwarded instead of serializing again.
    changed: bool = True


@dataclass
class EngineStats:
    """Detector failures and alerts, counted for the processor's own telemetry."""

    detector_errors: Counter = field(default_factory=Counter)    # by detector
    detector_timeouts: Counter = field(default_factory=Counter)  # by detector
    # Left unannotated: "traces" / "logs" (not understood), "over_request_budget" (calls)
    failures: Counter = field(default_factory=Counter)
    alerts: Counter = field(default_factory=Counter)    # by rule
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, counter: str, key, amount: int = 1) -> None:
        with self._lock:
            getattr(self, counter)[key] += amount


@dataclass(slots=True)
class _TraceBatch:
    """What one request holds of one trace."""

    genai: list = field(default_factory=list)  # (ResourceSpans, Span, Conversation | None, CallInfo)
    peers: list = field(default_factory=list)  # (ResourceSpans, Span, Peer)


class _Output:
    """Collects span annotations and alert log records, grouped by resource."""

    def __init__(self, budget: float) -> None:
        # A request's detection may take `budget` seconds in all; later calls go through
        # unchecked (and counted), so one hostile request cannot hold the handler for minutes.
        self.deadline = time.perf_counter() + budget
        self.unchecked = 0
        self.by_span: dict[int, tuple[Span, list[Alert]]] = {}
        self.logs: dict[int, ResourceLogs] = {}
        self.rules: Counter = Counter()  # fresh alerts, by rule
        self.redacted = 0  # values masked in the request

    def over_budget(self) -> bool:
        if time.perf_counter() <= self.deadline:
            return False
        self.unchecked += 1
        return True

    def add(self, resource_holder, span: Span | None, alerts: list[Alert], fresh: bool) -> None:
        if not alerts:
            return
        if span is not None:
            self.by_span.setdefault(id(span), (span, []))[1].extend(alerts)
        if fresh:
            self._log(resource_holder, alerts, span.end_time_unix_nano if span is not None else 0)

    def _log(self, resource_holder, alerts: list[Alert], when: int) -> None:
        resource_logs = self.logs.get(id(resource_holder))
        if resource_logs is None:
            resource_logs = self.logs[id(resource_holder)] = ResourceLogs(
                resource=resource_holder.resource, schema_url=resource_holder.schema_url)
            resource_logs.scope_logs.add(scope=SCOPE)
        now = time.time_ns()
        records = resource_logs.scope_logs[0].log_records
        records.extend(alert_log_record(alert, when, now) for alert in alerts)
        self.rules.update(alert.finding.rule for alert in alerts)

    def finish(self) -> ExportLogsServiceRequest | None:
        for span, alerts in self.by_span.values():
            annotate_span(span, _unique(alerts))
        if not self.logs:
            return None
        return ExportLogsServiceRequest(resource_logs=list(self.logs.values()))


def _unique(alerts: list[Alert]) -> list[Alert]:
    seen: dict[str, Alert] = {}
    for alert in alerts:
        seen.setdefault(alert.alert_id, alert)
    return list(seen.values())


class Engine:
    def __init__(self, config: Config, detectors: Detectors | None = None) -> None:
        self.detectors = detectors or build_detectors(config.detectors, config.intel)
        # A detector with nothing to look things up in (Tor or phishing without any feed,
        # zone or heuristic) could never find anything: not called at all.
        self._content = tuple(d for d in self.detectors.content if not getattr(d, "idle", False))
        self._request = tuple(d for d in self.detectors.request if not getattr(d, "idle", False))
        self.state = TraceState(config.processor.trace_state.ttl,
                                config.processor.trace_state.max_traces)
        self.stats = EngineStats()
        self._budget = config.processor.detector_timeout
        self._request_budget = config.processor.request_detection_budget
        self.redactor = Redactor(config.processor.redaction)
        # Set by the processor's own metrics (telemetry.py): detector time per detector.
        self.observe_detector: Callable[[str, float], None] | None = None

    # -- traces -----------------------------------------------------------
    def process_traces(self, request: ExportTraceServiceRequest) -> Processed[ExportTraceServiceRequest]:
        out = _Output(self._request_budget)
        for trace_id, batch in self._collect(request).items():
            try:
                self._content_alerts(trace_id, batch, out)
                self._request_alerts(trace_id, batch, out)
            except Exception as error:  # one bad trace never fails the batch
                self.stats.count("failures", "traces")
                log.error("trace %s left unannotated: %s", trace_id.hex(), type(error).__name__)
        return self._finish(request, out)

    def _finish(self, request: T, out: _Output) -> Processed[T]:
        alerts = out.finish()
        for rule, amount in out.rules.items():
            self.stats.count("alerts", rule, amount)
        if out.unchecked:
            self.stats.count("failures", "over_request_budget", out.unchecked)
            log.warning("%d calls of a request left unchecked: its detection budget ran out",
                        out.unchecked)
        return Processed(request, alerts, sum(out.rules.values()),
                         changed=bool(out.by_span) or out.redacted > 0)

    def _collect(self, request: ExportTraceServiceRequest) -> dict[bytes, _TraceBatch]:
        """One pass over the spans: GenAI calls and HTTP server peers, per trace."""
        batches: dict[bytes, _TraceBatch] = {}
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    try:
                        call = extract.span_call(span)
                        peer = extract.span_peer(span) if span.kind == SERVER else None
                    except Exception as error:
                        self.stats.count("failures", "traces")
                        log.error("span %s not understood: %s", span.span_id.hex(),
                                  type(error).__name__)
                        continue
                    if call is None and peer is None and not self.state.has_pending(span.span_id):
                        continue
                    trace_id = span.trace_id
                    batch = batches.get(trace_id)
                    if batch is None:
                        batch = batches[trace_id] = _TraceBatch()
                    if call is not None:
                        batch.genai.append((resource_spans, span, *call))
                    elif peer is None:  # a span a log event's alert waits for
                        batch.genai.append((resource_spans, span, None, CallInfo()))
                    if peer is not None:
                        batch.peers.append((resource_spans, span, peer))
        return batches

    def _content_alerts(self, trace_id: bytes, batch: _TraceBatch, out: _Output) -> None:
        for resource_spans, span, conv, info in batch.genai:
            checked = conv is not None and not out.over_budget()
            findings = self.detect_content(conv) if checked else []
            if checked and self.redactor.enabled:
                out.redacted += self.redactor.redact_span(span, self.redactions(conv, findings))
            pending = self.state.take_pending(trace_id, span.span_id)
            if not findings and not pending:
                continue  # the common case: nothing to claim or write
            fresh, repeated = self._claim(trace_id, span.span_id, findings)
            out.add(resource_spans, span, self._alerts(fresh, span, info), fresh=True)
            out.add(resource_spans, span, self._alerts(repeated + pending, span, info), fresh=False)

    def _request_alerts(self, trace_id: bytes, batch: _TraceBatch, out: _Output) -> None:
        """Request metadata alerts: once per trace and rule, on the span completing the picture."""
        genai_here = next((entry for entry in batch.genai if entry[2] is not None), None)
        peer_here = batch.peers[0] if batch.peers else None
        peer, genai_span_id, info = self.state.join(
            trace_id, peer_here[2] if peer_here else None,
            genai_here[1].span_id if genai_here else None, genai_here[3] if genai_here else None)
        if peer is None or genai_span_id is None or not self._request:
            return
        # Attach to the GenAI span when it is in this request, else to the server span.
        resource_spans, span = genai_here[:2] if genai_here else peer_here[:2]
        findings = self.detect_request(peer)
        fresh, repeated = self._claim(trace_id, span.span_id, findings)
        call = info or CallInfo()
        out.add(resource_spans, span, self._alerts(fresh, span, call), fresh=True)
        out.add(resource_spans, span, self._alerts(repeated, span, call), fresh=False)

    # -- logs -------------------------------------------------------------
    def process_logs(self, request: ExportLogsServiceRequest) -> Processed[ExportLogsServiceRequest]:
        out = _Output(self._request_budget)
        records, holders = [], []
        for resource_logs in request.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                records.extend(scope_logs.log_records)
                holders.extend([resource_logs] * len(scope_logs.log_records))
        try:
            calls = extract.log_calls(records)
        except Exception as error:
            self.stats.count("failures", "logs")
            log.error("log records not understood: %s", type(error).__name__)
            calls = []
        for call in calls:
            if out.over_budget():
                continue
            findings = self.detect_content(call.conversation)
            if self.redactor.enabled:
                redactions = self.redactions(call.conversation, findings)
                for index in call.record_indexes:
                    out.redacted += self.redactor.redact_log(records[index], redactions)
            fresh, _ = self._claim(call.trace_id, call.span_id, findings)
            alerts = [make_alert(f, call.trace_id, call.span_id, call.info) for f in fresh]
            out.add(holders[call.record_indexes[0]], None, alerts, fresh=True)
            if call.trace_id:
                self.state.defer(call.trace_id, call.span_id, fresh)
        return self._finish(request, out)

    # -- detectors --------------------------------------------------------
    def detect_content(self, conv: Conversation) -> list[Finding]:
        return self._run(self._content, "detect", conv)

    def redactions(self, conv: Conversation, findings: list[Finding]) -> list[Redaction]:
        """Every value to mask in this call: from its findings, and from detectors that also
        know values raising no alert (a credential the user pasted and the model repeated)."""
        redactions = [r for finding in findings for r in finding.redactions]
        for detector in self._content:
            extra = getattr(detector, "redactions", None)
            if extra is None:
                continue
            try:
                redactions.extend(extra(conv))
            except Exception as error:
                self.stats.count("detector_errors", detector.name)
                log.error("detector %s failed to list redactions: %s", detector.name,
                          type(error).__name__)
        return redactions

    def detect_request(self, peer: Peer) -> list[Finding]:
        return self._run(self._request, "detect_peer", peer)

    def _run(self, detectors: Iterable, method: str, subject) -> list[Finding]:
        """Every detector on the subject; one that raises or overruns its budget is dropped and counted."""
        findings: list[Finding] = []
        for detector in detectors:
            started = time.perf_counter()
            try:
                found = list(getattr(detector, method)(subject))
            except Exception as error:
                self.stats.count("detector_errors", detector.name)
                log.error("detector %s failed: %s", detector.name, type(error).__name__)
                continue
            elapsed = time.perf_counter() - started
            if self.observe_detector is not None:
                self.observe_detector(detector.name, elapsed)
            if elapsed > self._budget:
                self.stats.count("detector_timeouts", detector.name)
                continue
            findings.extend(found)
        return findings

    def _claim(self, trace_id: bytes, span_id: bytes, findings: list[Finding]):
        if not trace_id:  # no trace context: nothing to de-duplicate against
            return findings, []
        return self.state.claim(trace_id, span_id, findings)

    @staticmethod
    def _alerts(findings: list[Finding], span: Span, info: CallInfo) -> list[Alert]:
        return [make_alert(f, span.trace_id, span.span_id, info) for f in findings]
