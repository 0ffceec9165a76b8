"""The service: receivers -> engine -> bounded queues -> exporters, and its lifecycle.

`submit_traces` / `submit_logs` / `submit_metrics` run in the receiver's
handler thread: the engine works there (CPU, like a Collector processor), the
result is serialized ONCE, and the bytes are queued for every exporter that
wants them. Each exporter has its own bounded queue and consumer threads
(its `sending_queue`; `debug` and `file` get one consumer, in order).

Back-pressure: when any queue that would take part of a request is full,
submit raises `Refused` before anything is queued, and the receiver answers
with a retryable status. A queue slot holds one request's worth of items
(e.g. its spans and the alerts found in them), so `queue_size` counts
requests, as in the Collector. Never a silent drop: an engine error forwards
the request unannotated (the original bytes when the receiver had them);
an export that fails for good is counted and logged.

With `sending_queue.enabled: false` the exporter runs in the handler thread;
its failures are counted and logged like queued ones.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass
from typing import TextIO

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_ai_detect.config_types import Config, QueueConfig
from otel_ai_detect.engine import Engine
from otel_ai_detect.exporters import ALERTS, LOGS, METRICS, TRACES, Exporter, build_exporters
from otel_ai_detect.receiver import Refused
from otel_ai_detect.receiver.grpc import GrpcReceiver
from otel_ai_detect.receiver.http import HttpReceiver

__all__ = ["QueueItem", "Refused", "Service", "Stats"]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueueItem:
    signal: str  # traces | logs | metrics | alerts
    payload: bytes  # a serialized Export*ServiceRequest (alerts: ExportLogsServiceRequest)
    count: int  # spans, log records, data points or alert records


class Stats:
    """Thread-safe item counters per signal (and per exporter for the export side).

    received: items that reached submit (alerts: records the engine produced)
    refused:  items refused with back-pressure (the sender keeps and retries them)
    engine_errors: requests the engine failed on (forwarded unannotated)
    exported: items an exporter delivered
    failed:   items in failed send attempts (a retried request counts once per failure)
    dropped:  items an exporter gave up on (not retryable, retries exhausted, shutdown)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()  # (exporter or "", signal, counter)

    def add(self, signal: str, counter: str, n: int = 1, exporter: str = "") -> None:
        with self._lock:
            self._counts[exporter, signal, counter] += n

    def get(self, signal: str, counter: str, exporter: str | None = None) -> int:
        with self._lock:
            return sum(n for (e, s, c), n in self._counts.items()
                       if s == signal and c == counter and exporter in (None, e))

    def snapshot(self) -> dict[str, dict[str, int]]:
        """{signal: {counter: total over exporters}}"""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (_, signal, counter), n in self._counts.items():
                out.setdefault(signal, {}).setdefault(counter, 0)
                out[signal][counter] += n
        return out


class _BoundedQueue:
    """FIFO of request groups; `put` only after `has_room` under the service's admission lock."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._groups: deque[tuple[QueueItem, ...]] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def has_room(self) -> bool:
        return len(self._groups) < self.capacity

    def put(self, group: tuple[QueueItem, ...]) -> None:
        with self._cond:
            self._groups.append(group)
            self._cond.notify()

    def take(self) -> tuple[QueueItem, ...] | None:
        """The next group; None once closed and empty."""
        with self._cond:
            self._cond.wait_for(lambda: self._groups or self._closed)
            return self._groups.popleft() if self._groups else None

    def close(self) -> None:
        """No more puts; consumers finish what is queued, then `take` returns None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abandon(self) -> list[tuple[QueueItem, ...]]:
        """Close and hand back what was never taken."""
        with self._cond:
            self._closed = True
            rest, self._groups = list(self._groups), deque()
            self._cond.notify_all()
        return rest


@dataclass(slots=True)
class _Pipeline:
    exporter: Exporter
    queue: _BoundedQueue | None  # None: sending_queue disabled, export inline
    consumers: list[threading.Thread]
    num_consumers: int


class Service:
    """Receivers, engine, queues and exporters built from one `Config`."""

    def __init__(self, config: Config, *, engine: Engine | None = None, exporters: list[Exporter] | None = None,
                 refused_retry_after: float = 1.0, grpc_handler_threads: int = 1,
                 debug_stream: TextIO | None = None) -> None:
        self.config = config
        self.engine = engine if engine is not None else Engine(config)
        self.stats = Stats()
        self.refused_retry_after = refused_retry_after
        self.exporters = exporters if exporters is not None else build_exporters(config.exporters, debug_stream)
        self._pipelines = [self._pipeline(exporter) for exporter in self.exporters]
        self._admission = threading.Lock()
        self._accepting = False
        self._stop = threading.Event()  # set at the shutdown deadline: no new export attempts
        receiver = config.receiver
        self.grpc_receiver = (GrpcReceiver(receiver.grpc, self, handler_threads=grpc_handler_threads)
                              if receiver.grpc is not None else None)
        self.http_receiver = HttpReceiver(receiver.http, self) if receiver.http is not None else None

    def _pipeline(self, exporter: Exporter) -> _Pipeline:
        otlp = self.config.exporters.otlp
        queue_config = otlp.sending_queue if exporter.name == "otlp" and otlp is not None else QueueConfig(
            num_consumers=1)  # debug/file: one consumer keeps alert lines in order
        queue = _BoundedQueue(queue_config.queue_size) if queue_config.enabled else None
        return _Pipeline(exporter, queue, [], queue_config.num_consumers)

    @property
    def grpc_port(self) -> int:
        return self.grpc_receiver.port if self.grpc_receiver else 0

    @property
    def http_port(self) -> int:
        return self.http_receiver.port if self.http_receiver else 0

    # --- lifecycle -----------------------------------------------------------
    def start(self) -> Service:
        for pipeline in self._pipelines:
            if pipeline.queue is None:
                continue
            for i in range(pipeline.num_consumers):
                thread = threading.Thread(target=self._consume, args=(pipeline,), daemon=True,
                                          name=f"export-{pipeline.exporter.name}-{i}")
                pipeline.consumers.append(thread)
                thread.start()
        self._accepting = True
        for receiver in (self.grpc_receiver, self.http_receiver):
            if receiver is not None:
                receiver.start()
        return self

    def shutdown(self, deadline: float = 10.0) -> bool:
        """Refuse new data, drain the queues for up to `deadline` seconds, stop.

        True when everything accepted was exported or accounted for by an
        exporter in time; False when the deadline cut the drain short (what was
        left is counted as dropped and logged).
        """
        end = time.monotonic() + deadline
        with self._admission:
            self._accepting = False
        for receiver in (self.grpc_receiver, self.http_receiver):
            if receiver is not None:
                receiver.stop(grace=max(0.0, end - time.monotonic()))
        for pipeline in self._pipelines:
            if pipeline.queue is not None:
                pipeline.queue.close()
        drained = _join(self._consumers(), end)
        if not drained:
            self._stop.set()
            for pipeline in self._pipelines:
                left = pipeline.queue.abandon() if pipeline.queue is not None else []
                self._drop_abandoned(pipeline.exporter, left)
        for pipeline in self._pipelines:
            pipeline.exporter.shutdown()  # cuts backoffs short, cancels RPCs in flight
        if not drained:
            _join(self._consumers(), time.monotonic() + 1.0)
        return drained

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def _consumers(self) -> list[threading.Thread]:
        return [thread for pipeline in self._pipelines for thread in pipeline.consumers]

    # --- submit (receiver handler threads) -------------------------------------
    def submit_traces(self, request: ExportTraceServiceRequest, raw: bytes | None = None) -> None:
        count = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        self._submit(TRACES, count, request, raw, self.engine.process_traces)

    def submit_logs(self, request: ExportLogsServiceRequest, raw: bytes | None = None) -> None:
        count = _log_record_count(request)
        self._submit(LOGS, count, request, raw, self.engine.process_logs)

    def submit_metrics(self, request: ExportMetricsServiceRequest, raw: bytes | None = None) -> None:
        """Metrics pass through untouched: the original bytes when there are some."""
        count = sum(len(getattr(m, m.WhichOneof("data")).data_points)
                    for rm in request.resource_metrics for sm in rm.scope_metrics
                    for m in sm.metrics if m.WhichOneof("data"))
        self._submit(METRICS, count, request, raw, None)

    def _submit(self, signal, count, request, raw, process) -> None:
        self.stats.add(signal, "received", count)
        self._check_room(signal, count)  # cheap refusal before spending CPU on the engine
        alerts = None
        if process is None:
            payload = raw if raw is not None else request.SerializeToString()
        else:
            try:
                processed = process(request)
                payload, alerts = processed.request.SerializeToString(), processed.alerts
            except Exception as exc:
                self.stats.add(signal, "engine_errors")
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                # Type and place only: the message could quote the content it choked on.
                log.error("engine failed on a %s request (%s at %s:%d); forwarding it unannotated",
                          signal, type(exc).__name__, frame.filename, frame.lineno)
                payload = raw if raw is not None else request.SerializeToString()
        items = [QueueItem(signal, payload, count)] if count else []
        alert_count = _log_record_count(alerts) if alerts is not None else 0
        if alert_count:
            self.stats.add(ALERTS, "received", alert_count)
            items.append(QueueItem(ALERTS, alerts.SerializeToString(), alert_count))
        if items:
            self._enqueue(items)

    def _check_room(self, signal: str, count: int) -> None:
        if not self._accepting:
            self._refuse([QueueItem(signal, b"", count)], "shutting down")
        for pipeline in self._pipelines:
            if pipeline.queue is not None and signal in pipeline.exporter.signals and not pipeline.queue.has_room():
                self._refuse([QueueItem(signal, b"", count)], f"sending queue of exporter {pipeline.exporter.name} is full")

    def _enqueue(self, items: list[QueueItem]) -> None:
        inline = []
        with self._admission:
            if not self._accepting:
                self._refuse(items, "shutting down")
            plan = [(p, group) for p in self._pipelines
                    if (group := tuple(i for i in items if i.signal in p.exporter.signals))]
            for pipeline, _ in plan:
                if pipeline.queue is not None and not pipeline.queue.has_room():
                    self._refuse(items, f"sending queue of exporter {pipeline.exporter.name} is full")
            for pipeline, group in plan:
                if pipeline.queue is not None:
                    pipeline.queue.put(group)
                else:
                    inline.append((pipeline.exporter, group))
        for exporter, group in inline:
            for item in group:
                self._deliver(exporter, item)

    def _refuse(self, items: list[QueueItem], reason: str) -> None:
        for item in items:
            self.stats.add(item.signal, "refused", item.count)
        raise Refused(self.refused_retry_after, reason)

    # --- consumers ---------------------------------------------------------------
    def _consume(self, pipeline: _Pipeline) -> None:
        while (group := pipeline.queue.take()) is not None:
            for item in group:
                self._deliver(pipeline.exporter, item)

    def _deliver(self, exporter: Exporter, item: QueueItem) -> None:
        if self._stop.is_set():
            result_error, attempts, ok = "shut down before it could be sent", 0, False
        else:
            result = exporter.export(item.signal, item.payload, item.count)
            result_error, attempts, ok = result.error, result.attempts, result.ok
        failed_attempts = attempts - 1 if ok else attempts
        if failed_attempts:
            self.stats.add(item.signal, "failed", item.count * failed_attempts, exporter.name)
        if ok:
            self.stats.add(item.signal, "exported", item.count, exporter.name)
        else:
            self.stats.add(item.signal, "dropped", item.count, exporter.name)
            log.error("exporter %s dropped %d %s: %s", exporter.name, item.count, item.signal, result_error)

    def _drop_abandoned(self, exporter: Exporter, groups: list[tuple[QueueItem, ...]]) -> None:
        dropped: Counter[str] = Counter()
        for group in groups:
            for item in group:
                dropped[item.signal] += item.count
        for signal, n in dropped.items():
            self.stats.add(signal, "dropped", n, exporter.name)
            log.error("exporter %s dropped %d %s still queued at the shutdown deadline", exporter.name, n, signal)


def _log_record_count(request: ExportLogsServiceRequest) -> int:
    return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)


def _join(threads: list[threading.Thread], end: float) -> bool:
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    return not any(thread.is_alive() for thread in threads)
