"""Short-lived, bounded per-trace memory.

The end user's IP and user agent sit on the HTTP server span; the model call
sits on a GenAI child span that usually ends, and is exported, first. This
memory keeps, per trace, what each side needs so that request alerts attach to
the trace whichever span arrives first, once per trace and rule. It also
remembers which findings a trace already raised, so that content seen both on
a span and in a log record (openai-v2 SPAN_AND_EVENT) is one alert, not two.

Bounded in time (ttl) and size (max_traces, oldest evicted first); all access
goes through one lock, held only for dictionary work.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from otel_ai_detect.model import CallInfo, Finding, Peer


@dataclass(slots=True)
class TraceMemory:
    # ~100,000 of these are alive at a time: the two dicts are made only when needed
    # (most traces raise nothing), which halves what a trace costs.
    created: float
    peer: Peer | None = None
    genai_span_id: bytes | None = None
    genai_info: CallInfo | None = None
    # (rule, fingerprint) -> span id that first raised it.
    raised: dict[tuple[str, str], bytes] | None = None
    # Findings from log records whose span has not been seen yet: span id -> findings.
    pending: dict[bytes, list[Finding]] | None = None


class TraceState:
    def __init__(self, ttl: float, max_traces: int, clock=time.monotonic) -> None:
        self._ttl = ttl
        self._max = max_traces
        self._clock = clock
        # Insertion order is creation order (a plain dict: ~50 B a trace less than OrderedDict).
        self._traces: dict[bytes, TraceMemory] = {}
        self._lock = threading.Lock()
        # Span ids with deferred findings, readable without the lock: the hot
        # path asks it for every span, and a stale answer only delays a check.
        self._pending_ids: set[bytes] = set()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._traces)

    def _get(self, trace_id: bytes) -> TraceMemory:
        """The memory of a trace, created if new; caller holds the lock."""
        now = self._clock()
        self._expire(now)
        memory = self._traces.get(trace_id)
        if memory is None:
            memory = self._traces[trace_id] = TraceMemory(created=now)
            if len(self._traces) > self._max:
                self._forget(self._traces.pop(next(iter(self._traces))))
                self.evicted += 1
        return memory

    def _forget(self, memory: TraceMemory) -> None:
        if memory.pending:
            self._pending_ids.difference_update(memory.pending)

    def _expire(self, now: float) -> None:
        # Insertion order is creation order, so expired traces sit at the front.
        while self._traces:
            trace_id = next(iter(self._traces))
            if now - self._traces[trace_id].created < self._ttl:
                return
            self._forget(self._traces.pop(trace_id))

    def join(self, trace_id: bytes, peer: Peer | None, genai_span_id: bytes | None,
             genai_info: CallInfo | None) -> tuple[Peer | None, bytes | None, CallInfo | None]:
        """Record what this batch saw of a trace; return the whole picture known so far."""
        with self._lock:
            memory = self._get(trace_id)
            if peer is not None and memory.peer is None:
                memory.peer = peer
            if genai_span_id is not None and memory.genai_span_id is None:
                memory.genai_span_id, memory.genai_info = genai_span_id, genai_info
            return memory.peer, memory.genai_span_id, memory.genai_info

    def claim(self, trace_id: bytes, span_id: bytes,
              findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
        """Split findings into (fresh, repeated) for this trace.

        fresh: never raised in this trace; now marked raised by `span_id`, and
        they get a span event and an alert log record.
        repeated: raised before by this same span id (a sender's retry, or the
        call's log record that came first): the span still gets its event, with
        the same alert id, but no second log record. Findings raised by another
        span of the trace are dropped: one alert per trace and finding.
        """
        fresh: list[Finding] = []
        repeated: list[Finding] = []
        if not findings:
            return fresh, repeated
        with self._lock:
            memory = self._get(trace_id)
            if memory.raised is None:
                memory.raised = {}
            raised = memory.raised
            for finding in findings:
                key = (finding.rule, finding.fingerprint or finding.evidence)
                first = raised.get(key)
                if first is None:
                    raised[key] = span_id
                    fresh.append(finding)
                elif first == span_id:
                    repeated.append(finding)
            return fresh, repeated

    def defer(self, trace_id: bytes, span_id: bytes, findings: list[Finding]) -> None:
        """Remember findings from log records for their span, should it arrive later."""
        if findings:
            with self._lock:
                memory = self._get(trace_id)
                if memory.pending is None:
                    memory.pending = {}
                memory.pending.setdefault(span_id, []).extend(findings)
                self._pending_ids.add(span_id)

    def has_pending(self, span_id: bytes) -> bool:
        return span_id in self._pending_ids

    def take_pending(self, trace_id: bytes, span_id: bytes) -> list[Finding]:
        with self._lock:
            memory = self._traces.get(trace_id)
            if memory is None or not memory.pending or span_id not in memory.pending:
                return []
            self._pending_ids.discard(span_id)
            return memory.pending.pop(span_id)
