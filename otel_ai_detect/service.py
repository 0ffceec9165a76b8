"""The service: receivers -> engine -> bounded queues -> exporters, and its lifecycle.

`submit_traces` / `submit_logs` / `submit_metrics` run in the receiver's
handler thread: the engine works there (CPU, like a Collector processor), the
result is serialized ONCE, and the bytes are queued for every exporter that
wants them. Each exporter has its own bounded queue and consumer threads
(its `sending_queue`; `debug` and `file` get one consumer, in order).

Back-pressure: a submit first reserves a slot in every queue that may get
part of the request; if one is full it raises `Refused` before the engine
runs or anything is queued, and the receiver answers with a retryable status.

Never a silent drop: an engine error forwards the request unannotated (the
original bytes when the receiver had them); an export that fails for good is
counted and logged.

With `sending_queue.enabled: false` the exporter runs in the handler thread;
its failures are counted and logged like queued ones.

With `sending_queue.storage_dir` the queue is on disk (`PersistentQueue`):
a request is stored and fsynced before the receiver answers OK, deleted once
its exporter is done with it, and what a crash left is delivered at the next
start (at-least-once). Storing failing refuses the request (retryable).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import TextIO

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_ai_detect.config_types import Config, QueueConfig
from otel_ai_detect.engine import Engine
from otel_ai_detect.exporters import ALERTS, LOGS, METRICS, TRACES, Exporter, build_exporters
from otel_ai_detect.exporters.persistent_queue import PersistentQueue
from otel_ai_detect.exporters.queue import QueueItem, SendingQueue
from otel_ai_detect.receiver import Refused
from otel_ai_detect.receiver.grpc import GrpcReceiver
from otel_ai_detect.receiver.http import HttpReceiver

__all__ = ["QueueItem", "Refused", "Service", "Stats"]
log = logging.getLogger(__name__)


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
            return sum(
                n
                for (e, s, c), n in self._counts.items()
                if s == signal and c == counter and exporter in (None, e)
            )

    def counts(self) -> dict[tuple[str, str, str], int]:
        """Every counter by (exporter or "", signal, counter): what a worker reports."""
        with self._lock:
            return dict(self._counts)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """{signal: {counter: total over exporters}}"""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (_, signal, counter), n in self._counts.items():
                out.setdefault(signal, {}).setdefault(counter, 0)
                out[signal][counter] += n
        return out


@dataclass(slots=True)
class _Pipeline:
    exporter: Exporter
    queue: SendingQueue | PersistentQueue | None  # None: sending_queue disabled, export inline
    consumers: list[threading.Thread]
    num_consumers: int


class Service:
    """Receivers, engine, queues and exporters built from one `Config`."""

    def __init__(
        self,
        config: Config,
        *,
        engine: Engine | None = None,
        exporters: list[Exporter] | None = None,
        refused_retry_after: float = 1.0,
        grpc_handler_threads: int = 1,
        debug_stream: TextIO | None = None,
    ) -> None:
        self.config = config
        self.engine = engine if engine is not None else Engine(config)
        self.stats = Stats()
        self.refused_retry_after = refused_retry_after
        self.exporters = (
            exporters if exporters is not None else build_exporters(config.exporters, debug_stream)
        )
        self._pipelines = [self._pipeline(exporter) for exporter in self.exporters]
        self._admission = threading.Lock()
        self._accepting = False
        receiver = config.receiver
        self.grpc_receiver = (
            GrpcReceiver(receiver.grpc, self, handler_threads=grpc_handler_threads)
            if receiver.grpc is not None
            else None
        )
        self.http_receiver = (
            HttpReceiver(receiver.http, self) if receiver.http is not None else None
        )

    def _pipeline(self, exporter: Exporter) -> _Pipeline:
        otlp = self.config.exporters.otlp
        queue_config = (
            otlp.sending_queue
            if exporter.name == "otlp" and otlp is not None
            else QueueConfig(num_consumers=1)
        )  # debug/file: one consumer keeps alert lines in order
        queue: SendingQueue | PersistentQueue | None = None
        if queue_config.enabled and queue_config.storage_dir:
            queue = PersistentQueue(queue_config.queue_size, queue_config.storage_dir)
        elif queue_config.enabled:
            queue = SendingQueue(queue_config.queue_size)
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
                thread = threading.Thread(
                    target=self._consume,
                    args=(pipeline,),
                    daemon=True,
                    name=f"export-{pipeline.exporter.name}-{i}",
                )
                pipeline.consumers.append(thread)
                thread.start()
        self._accepting = True
        try:
            for receiver in (self.grpc_receiver, self.http_receiver):
                if receiver is not None:
                    receiver.start()
        except Exception:  # e.g. the port is taken: do not leave threads and a bound port behind
            self.shutdown(deadline=1.0)
            raise
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
            for pipeline in self._pipelines:
                left = pipeline.queue.abandon() if pipeline.queue is not None else []
                self._drop_abandoned(pipeline.exporter, left)
        for pipeline in self._pipelines:
            pipeline.exporter.shutdown()  # cuts backoffs short, cancels RPCs in flight
        if not drained:
            _join(self._consumers(), time.monotonic() + 1.0)
        for pipeline in self._pipelines:
            if pipeline.queue is not None:
                pipeline.queue.release()  # a persistent queue's directory lock
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

    def submit_metrics(
        self, request: ExportMetricsServiceRequest, raw: bytes | None = None
    ) -> None:
        """Metrics pass through untouched: the original bytes when there are some."""
        count = sum(
            len(getattr(m, m.WhichOneof("data")).data_points)
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if m.WhichOneof("data")
        )
        self._submit(METRICS, count, request, raw, None)

    def _submit(self, signal, count, request, raw, process) -> None:
        self.stats.add(signal, "received", count)
        if not count:
            return  # nothing to process or forward
        # The engine may produce alerts: reserve room for them too, before it runs.
        wanted = {signal, ALERTS} if process is not None else {signal}
        reserved = self._reserve(signal, count, wanted)
        items: list[QueueItem] = []
        try:
            items = self._process(signal, count, request, raw, process)
        finally:
            self._fill(reserved, items, signal, count)

    def _process(self, signal, count, request, raw, process) -> list[QueueItem]:
        """Engine, then serialize once. Any failure: forward the original, unannotated."""
        if process is not None:
            try:
                processed = process(request)
                unchanged = raw is not None and not processed.changed
                payload = raw if unchanged else processed.request.SerializeToString()
                items = [QueueItem(signal, payload, count)]
                alert_count = (
                    _log_record_count(processed.alerts) if processed.alerts is not None else 0
                )
                if alert_count:
                    items.append(
                        QueueItem(ALERTS, processed.alerts.SerializeToString(), alert_count)
                    )
                    self.stats.add(ALERTS, "received", alert_count)
                return items
            except Exception as exc:
                self.stats.add(signal, "engine_errors")
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                # Type and place only: the message could quote the content it choked on.
                log.error(
                    "engine failed on a %s request (%s at %s:%d); forwarding it unannotated",
                    signal,
                    type(exc).__name__,
                    frame.filename,
                    frame.lineno,
                )
        # raw: the bytes as received; but after an engine failure `request` may be half-annotated.
        return [QueueItem(signal, raw if raw is not None else request.SerializeToString(), count)]

    def _reserve(self, signal: str, count: int, wanted: set[str]) -> list[_Pipeline]:
        """A slot in every queue that may get part of this request; else Refused, none reserved."""
        reserved: list[_Pipeline] = []
        with self._admission:
            reason = "shutting down" if not self._accepting else ""
            for pipeline in self._pipelines:
                if reason or not (wanted & pipeline.exporter.signals):
                    continue
                if pipeline.queue is None or pipeline.queue.try_reserve():
                    reserved.append(pipeline)
                else:
                    reason = f"sending queue of exporter {pipeline.exporter.name} is full"
            if reason:
                self._fill(reserved, [])
                self.stats.add(signal, "refused", count)
                raise Refused(self.refused_retry_after, reason)
        return reserved

    def _fill(
        self, reserved: list[_Pipeline], items: list[QueueItem], signal: str = "", count: int = 0
    ) -> None:
        not_stored: list[str] = []
        for pipeline in reserved:
            group = tuple(item for item in items if item.signal in pipeline.exporter.signals)
            if pipeline.queue is None:  # sending_queue disabled: export here, in the handler thread
                for item in group:
                    self._deliver(pipeline.exporter, item)
                continue
            try:
                kept = pipeline.queue.fill(group or None)
            except OSError as exc:  # a persistent queue could not store it (disk full, I/O error)
                log.error("exporter %s: cannot store a request: %s", pipeline.exporter.name, exc)
                not_stored.append(pipeline.exporter.name)
                continue  # the other queues still get their group (or their slot back)
            if not kept and group:
                self._drop_abandoned(pipeline.exporter, [group])
        if not_stored:
            # The sender retries: better a duplicate in the other exporters than a loss here.
            self.stats.add(signal, "refused", count)
            raise Refused(self.refused_retry_after, f"cannot store for {', '.join(not_stored)}")

    # --- consumers ---------------------------------------------------------------
    def _consume(self, pipeline: _Pipeline) -> None:
        while (group := pipeline.queue.take()) is not None:
            delivered = [self._deliver(pipeline.exporter, item) for item in group]
            # Delivered or given up for good: a persistent queue deletes the group's file.
            pipeline.queue.done(group, all(delivered))

    def _deliver(self, exporter: Exporter, item: QueueItem) -> bool:
        result = exporter.export(item.signal, item.payload, item.count)
        failed_attempts = result.attempts - 1 if result.ok else result.attempts
        if failed_attempts:
            self.stats.add(item.signal, "failed", item.count * failed_attempts, exporter.name)
        if result.ok:
            self.stats.add(item.signal, "exported", item.count, exporter.name)
            return True
        self.stats.add(item.signal, "dropped", item.count, exporter.name)
        log.error(
            "exporter %s dropped %d %s: %s",
            exporter.name,
            item.count,
            item.signal,
            result.error,
        )
        return False

    def _drop_abandoned(self, exporter: Exporter, groups: list[tuple[QueueItem, ...]]) -> None:
        dropped: Counter[str] = Counter()
        for group in groups:
            for item in group:
                dropped[item.signal] += item.count
        for signal, n in dropped.items():
            self.stats.add(signal, "dropped", n, exporter.name)
            log.error(
                "exporter %s dropped %d %s still queued at the shutdown deadline",
                exporter.name,
                n,
                signal,
            )


def _log_record_count(request: ExportLogsServiceRequest) -> int:
    return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)


def _join(threads: list[threading.Thread], end: float) -> bool:
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    return not any(thread.is_alive() for thread in threads)
