"""`processor.workers` > 1: a front process that owns the receivers, and N worker processes.

One Python process uses one core (the engine is CPU-bound, the GIL). SO_REUSEPORT
spreads connections, not requests: one upstream connection (the usual Collector)
lands on one process. So with `workers: N` the process `serve` starts is a *front*:

    receivers (gRPC, HTTP, auth, TLS) -> parse -> split by trace id (`shard.py`)
        -> shard i, serialized, over a local socket -> worker i: Service without
           receivers (Engine, sending queues, exporters) -> accepted / refused

The front answers the sender OK only when every shard was accepted; otherwise
with the receivers' usual retryable refusal (UNAVAILABLE + RetryInfo / 503 +
Retry-After). A partial acceptance means the sender's retry delivers the
accepted shards' spans twice: at-least-once, as for the exporters. Metrics
requests go to one worker (round robin), untouched. All spans of a trace reach
the same worker, so its per-trace memory (the HTTP server span joined with its
GenAI spans) works as in one process.

Workers are `multiprocessing` "spawn" children (no forked gRPC state). Each has
an AF_UNIX socketpair to the front; frames are a 13-byte header (length, kind,
request id) and a body, sent with one `sendmsg` (no copy of the payload) by a
writer thread per worker (a slow worker never holds up the shards for another).
A worker handles one frame at a time, in order; the front matches answers to
requests by id, so several front handler threads keep every worker busy. The
front costs ~4 µs/span (parse, split on the wire format, hand-off; shard.py).

A worker that dies (EOF on its socket): every request waiting on it is refused
(retryable) at once and logged, and it is restarted (backoff 1 s doubling to
30 s); until it is back, requests with a shard for it are refused and /ready
answers 503. Workers ignore SIGINT and SIGTERM: the front stops them (each
drains its queues within the shutdown deadline); a front that dies leaves EOF
on their sockets and they drain and exit too.

`sending_queue.storage_dir` gets a subdirectory per worker (`worker-0`, ...).

The front's /metrics: its receivers' counters (accepted, refused, auth), and,
fetched from the workers at each scrape (summed), the exporter counters, queue
sizes, alerts by rule, detector errors and timeouts, engine failures and the
per-trace memory size. Not from workers: the detector duration histogram and
the feed and DNS metrics of the intel detectors.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import gc
import itertools
import logging
import os
import pickle
import signal
import socket
import struct
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing import get_context
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_ai_detect import heap
from otel_ai_detect.config_types import Config, OtlpReceiverConfig
from otel_ai_detect.receiver import Refused
from otel_ai_detect.shard import split_logs, split_traces

__all__ = ["FrontService", "worker_config"]
log = logging.getLogger(__name__)

HEADER = struct.Struct("<IBQ")  # body length, kind, request id
# front -> worker
TRACES, LOGS, METRICS, STATS, STOP = 1, 2, 3, 4, 5
# worker -> front
READY, OK, REFUSED, ERROR, STOPPED = 10, 11, 12, 13, 14
SOCKET_BUFFER = 4 * 1024 * 1024
START_TIMEOUT = 180.0  # a worker builds its detectors (Presidio, spaCy) before it is ready
RESTART_BACKOFF = (1.0, 30.0)
STATS_TIMEOUT = 2.0
RETRY_AFTER = 1.0
ENGINE_COUNTERS = ("alerts", "detector_errors", "detector_timeouts", "failures")


def worker_config(config: Config, index: int) -> Config:
    """What worker `index` runs: no receivers; its own persistent-queue directory."""
    config = dataclasses.replace(config, receiver=OtlpReceiverConfig(grpc=None, http=None))
    otlp = config.exporters.otlp
    if otlp is not None and otlp.sending_queue.storage_dir:
        queue = dataclasses.replace(
            otlp.sending_queue,
            storage_dir=os.path.join(otlp.sending_queue.storage_dir, f"worker-{index}"))
        exporters = dataclasses.replace(
            config.exporters, otlp=dataclasses.replace(otlp, sending_queue=queue))
        config = dataclasses.replace(config, exporters=exporters)
    return config


# --- framing --------------------------------------------------------------------------------


def _send(sock: socket.socket, kind: int, request_id: int, body: bytes = b"") -> None:
    header = HEADER.pack(len(body), kind, request_id)
    sent = sock.sendmsg([header, body])
    total = len(header) + len(body)
    if sent < total:  # rare on a blocking socket (a signal); finish with sendall
        if sent < len(header):
            sock.sendall(header[sent:])
            sent = len(header)
        sock.sendall(memoryview(body)[sent - len(header):])


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    """`size` bytes, or None at EOF (the other side is gone)."""
    if size == 0:
        return b""
    data = sock.recv(size, socket.MSG_WAITALL)
    if len(data) == size:
        return data
    if not data:
        return None
    parts, got = [data], len(data)
    while got < size:
        chunk = sock.recv(size - got)
        if not chunk:
            return None
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _recv_frame(sock: socket.socket) -> tuple[int, int, bytes] | None:
    header = _recv_exact(sock, HEADER.size)
    if header is None:
        return None
    length, kind, request_id = HEADER.unpack(header)
    body = _recv_exact(sock, length)
    return None if body is None else (kind, request_id, body)


# --- the worker process ---------------------------------------------------------------------


def _worker_main(sock: socket.socket, config: Config, index: int, log_level: int) -> None:
    """Entry point of worker `index` (a spawned process)."""
    # The front owns the lifecycle: a Ctrl-C or a SIGTERM to the process group must not
    # cut a worker short; the front's STOP (or its death: EOF) does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=log_level,
        format=f"%(asctime)s %(levelname)s [worker {index}] %(name)s: %(message)s")
    from otel_ai_detect.service import Service

    service = Service(worker_config(config, index)).start()
    gc.freeze()  # as `serve`: start-up objects stay out of full collections (cli.py)
    heap.trim()
    _send(sock, READY, 0, ",".join(e.name for e in service.exporters).encode())
    submit = {
        TRACES: (ExportTraceServiceRequest.FromString, service.submit_traces),
        LOGS: (ExportLogsServiceRequest.FromString, service.submit_logs),
        METRICS: (ExportMetricsServiceRequest.FromString, service.submit_metrics),
    }
    while True:
        frame = _recv_frame(sock)
        if frame is None:  # the front is gone: drain what was accepted and exit
            log.warning("the front closed its connection (it exited); draining and exiting")
            service.shutdown(10.0)
            return
        kind, request_id, body = frame
        if kind == STOP:
            (deadline,) = struct.unpack("<d", body)
            drained = service.shutdown(deadline)
            _send(sock, STOPPED, request_id, b"\x01" if drained else b"\x00")
            return
        if kind == STATS:
            _send(sock, OK, request_id, pickle.dumps(_snapshot(service)))
            continue
        parse, handle = submit[kind]
        try:
            handle(parse(body), body)
        except Refused as refused:
            _send(sock, REFUSED, request_id,
                  struct.pack("<d", refused.retry_after_seconds) + refused.reason.encode())
            continue
        except Exception as exc:  # a bug: type and place only, never content
            log.error("worker %d failed on a request: %s", index, type(exc).__name__)
            _send(sock, ERROR, request_id, type(exc).__name__.encode())
            continue
        _send(sock, OK, request_id)


def _snapshot(service: Any) -> dict:
    """The counters the front's /metrics sums over workers."""
    engine = service.engine
    stats = getattr(engine, "stats", None)
    lock = getattr(stats, "_lock", None) or threading.Lock()
    with lock:
        counters = {name: dict(getattr(stats, name, None) or {}) for name in ENGINE_COUNTERS}
    state = getattr(engine, "state", None)
    return {
        "stats": service.stats.counts(),
        "engine": counters,
        "trace_state": len(state) if state is not None else 0,
        "queues": [(p.exporter.name, _queue_size(p.queue), p.queue.capacity)
                   for p in service._pipelines if p.queue is not None],
    }


def _queue_size(queue: Any) -> int:
    try:
        return len(queue)
    except TypeError:  # queued groups plus reserved slots
        return len(getattr(queue, "_groups", ())) + getattr(queue, "_reserved", 0)


# --- the front's handle on one worker -------------------------------------------------------


class WorkerGone(Exception):
    pass


class _Worker:
    """One worker process, its socket, and the requests waiting for its answers."""

    def __init__(self, index: int, config: Config, log_level: int) -> None:
        self.index = index
        self._config = config
        self._log_level = log_level
        self._lock = threading.Lock()  # state, pending and the outbox
        self._outbox: collections.deque = collections.deque()  # frames for the writer thread
        self._wake = threading.Condition(self._lock)
        self._pending: dict[int, Future] = {}
        self._ids = itertools.count(1)
        self.ready = threading.Event()
        self.alive = False  # started and not seen dead
        self.stopping = False
        self.died = threading.Event()
        self.process = None
        self.sock: socket.socket | None = None
        self.exporters: list[str] = []

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def spawn(self) -> None:
        front_sock, worker_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for sock in (front_sock, worker_sock):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        process = get_context("spawn").Process(
            target=_worker_main, args=(worker_sock, self._config, self.index, self._log_level),
            name=f"otel-ai-detect-worker-{self.index}", daemon=True)
        process.start()
        worker_sock.close()  # else EOF never comes when the worker dies
        with self._lock:
            self.process, self.sock = process, front_sock
            self.alive = True
            self._outbox = outbox = collections.deque()
            self.ready.clear()
            self.died.clear()
        threading.Thread(target=self._read, args=(front_sock,), daemon=True,
                         name=f"worker-{self.index}-reader").start()
        threading.Thread(target=self._write_loop, args=(front_sock, outbox), daemon=True,
                         name=f"worker-{self.index}-writer").start()

    def _write_loop(self, sock: socket.socket, outbox: collections.deque) -> None:
        """Frames to the socket in order. A thread of its own so that a handler thread never
        waits on one worker's full socket before it can hand the next shard to another."""
        while True:
            with self._wake:
                while not outbox:
                    self._wake.wait()
                frame = outbox.popleft()
            if frame is None:  # the worker is gone
                return
            kind, request_id, body = frame
            try:
                _send(sock, kind, request_id, body)
            except OSError:
                with self._lock:
                    lost = self._pending.pop(request_id, None)
                if lost is not None:
                    lost.set_exception(WorkerGone(f"worker {self.index}: cannot send to it"))

    def _read(self, sock: socket.socket) -> None:
        try:
            while (frame := _recv_frame(sock)) is not None:
                kind, request_id, body = frame
                if kind == READY:
                    self.exporters = [n for n in body.decode().split(",") if n]
                    self.ready.set()
                    continue
                with self._lock:
                    future = self._pending.pop(request_id, None)
                if future is not None:
                    future.set_result((kind, body))
        except OSError:
            pass
        with self._lock:
            self.alive = False
            self.ready.clear()
            pending, self._pending = self._pending, {}
            self._outbox.append(None)  # stops this generation's writer
            self._wake.notify_all()
        for future in pending.values():
            future.set_exception(WorkerGone(f"worker {self.index} exited"))
        try:
            sock.close()
        except OSError:
            pass
        if not self.stopping:
            if self.process is not None:
                self.process.join(1.0)
            code = self.process.exitcode if self.process is not None else None
            log.error("worker %d (pid %s) exited unexpectedly (exit code %s); %d requests "
                      "in flight refused (retryable)", self.index, self.pid, code, len(pending))
        self.died.set()

    def request(self, kind: int, body: bytes = b"") -> Future:
        """Send one frame; the Future gets (answer kind, body) or WorkerGone."""
        future: Future = Future()
        with self._lock:
            if not (self.alive and (self.ready.is_set() or kind == STOP)):
                future.set_exception(WorkerGone(
                    f"worker {self.index} is {'starting' if self.alive else 'not running'}"))
                return future
            request_id = next(self._ids)
            self._pending[request_id] = future
            self._outbox.append((kind, request_id, body))
            self._wake.notify()
        return future

    def kill(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join(5.0)


# --- the front ------------------------------------------------------------------------------


@dataclasses.dataclass
class _ExporterView:
    name: str


@dataclasses.dataclass
class _QueueView:
    size: int
    capacity: int

    def __len__(self) -> int:
        return self.size


@dataclasses.dataclass
class _PipelineView:
    exporter: _ExporterView
    queue: _QueueView


class _TraceStateView:
    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size


class _EngineView:
    """What ProcessorMetrics reads from `service.engine`, summed over the workers."""

    detectors = None

    def __init__(self) -> None:
        self.stats = type("EngineStatsView", (), {})()
        for name in ENGINE_COUNTERS:
            setattr(self.stats, name, {})
        self.state = _TraceStateView(0)


class FrontStats:
    """The front's own counters (receivers: received, refused, auth) plus the workers'.

    `get` for exporter-side counters (exported, failed, dropped, engine errors, alerts)
    sums what the workers reported at the last refresh (at most once a second, on read).
    """

    FRONT_COUNTERS = ("received", "refused")

    def __init__(self, front: FrontService) -> None:
        from otel_ai_detect.service import Stats

        self._own = Stats()
        self._front = front
        self._workers: dict[tuple[str, str, str], int] = {}
        self._taken = -1.0
        self._refresh = threading.Lock()

    def add(self, signal: str, counter: str, n: int = 1, exporter: str = "") -> None:
        self._own.add(signal, counter, n, exporter)

    def get(self, signal: str, counter: str, exporter: str | None = None) -> int:
        if counter in self.FRONT_COUNTERS and signal != "alerts" or signal == "auth":
            return self._own.get(signal, counter, exporter)
        self.refresh()
        return sum(n for (e, s, c), n in self._workers.items()
                   if s == signal and c == counter and exporter in (None, e))

    def snapshot(self) -> dict[str, dict[str, int]]:
        return self._own.snapshot()

    def refresh(self, max_age: float = 1.0) -> None:
        with self._refresh:
            if time.monotonic() - self._taken < max_age:
                return
            snapshots = self._front.worker_snapshots()
            counts: dict[tuple[str, str, str], int] = {}
            engine = _EngineView()
            queues: dict[str, list[int]] = {}
            for snap in snapshots:
                for key, n in snap["stats"].items():
                    counts[key] = counts.get(key, 0) + n
                for name, values in snap["engine"].items():
                    merged = getattr(engine.stats, name)
                    for key, n in values.items():
                        merged[key] = merged.get(key, 0) + n
                engine.state.size += snap["trace_state"]
                for name, size, capacity in snap["queues"]:
                    total = queues.setdefault(name, [0, 0])
                    total[0] += size
                    total[1] += capacity
            self._workers = counts
            self._front.engine.stats, self._front.engine.state = engine.stats, engine.state
            self._front._pipelines = [_PipelineView(_ExporterView(name), _QueueView(*sizes))
                                      for name, sizes in queues.items()]
            self._taken = time.monotonic()


class FrontService:
    """Receivers in this process; detection and export in `config.processor.workers` workers.

    The same surface as `Service` for `serve`, the receivers, the health checks and
    ProcessorMetrics: start / shutdown, submit_*, stats, engine, exporters, ports.
    """

    def __init__(self, config: Config, *, refused_retry_after: float = RETRY_AFTER,
                 grpc_handler_threads: int | None = None,
                 log_level: int | None = None) -> None:
        from otel_ai_detect.receiver.grpc import GrpcReceiver
        from otel_ai_detect.receiver.http import HttpReceiver

        self.config = config
        self.n = config.processor.workers
        self.refused_retry_after = refused_retry_after
        self.stats = FrontStats(self)
        self.engine = _EngineView()
        self._pipelines: list[_PipelineView] = []
        level = log_level if log_level is not None else logging.getLogger().getEffectiveLevel()
        self.workers = [_Worker(i, config, level) for i in range(self.n)]
        self.exporters = [_ExporterView(name) for name in _exporter_names(config)]
        self._accepting = False
        self._stopping = threading.Event()
        self._rotate = itertools.count()
        self._supervisor: threading.Thread | None = None
        # Several requests in flight keep every worker busy while the front parses the next.
        threads = grpc_handler_threads or 2 * self.n + 2
        receiver = config.receiver
        self.grpc_receiver = (GrpcReceiver(receiver.grpc, self, handler_threads=threads)
                              if receiver.grpc is not None else None)
        self.http_receiver = (HttpReceiver(receiver.http, self)
                              if receiver.http is not None else None)

    @property
    def grpc_port(self) -> int:
        return self.grpc_receiver.port if self.grpc_receiver else 0

    @property
    def http_port(self) -> int:
        return self.http_receiver.port if self.http_receiver else 0

    @property
    def accepting(self) -> bool:
        """For /ready: accepting and every worker up."""
        return self._accepting and all(w.ready.is_set() for w in self.workers)

    # --- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = START_TIMEOUT) -> FrontService:
        for worker in self.workers:
            worker.spawn()
        # Registered after spawning (which registers multiprocessing's exit handler): atexit
        # is LIFO, so this runs first; multiprocessing's would wait for the workers forever
        # (they ignore SIGTERM and leave at EOF on their socket).
        atexit.register(self._release)
        deadline = time.monotonic() + timeout
        try:
            for worker in self.workers:
                while not worker.ready.wait(0.1):
                    if not worker.alive or time.monotonic() > deadline:
                        raise RuntimeError(f"worker {worker.index} did not start"
                                           f" (exit code {worker.process.exitcode})")
            log.info("%d workers ready (pids %s)", self.n,
                     ", ".join(str(w.pid) for w in self.workers))
            self._accepting = True
            self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                                name="worker-supervisor")
            self._supervisor.start()
            for receiver in (self.grpc_receiver, self.http_receiver):
                if receiver is not None:
                    receiver.start()
        except Exception:
            self.shutdown(deadline=1.0)
            raise
        return self

    def shutdown(self, deadline: float = 10.0) -> bool:
        """Stop the receivers, then each worker drains its queues within the deadline."""
        end = time.monotonic() + deadline
        atexit.unregister(self._release)
        self._accepting = False
        self._stopping.set()
        for receiver in (self.grpc_receiver, self.http_receiver):
            if receiver is not None:
                receiver.stop(grace=max(0.0, end - time.monotonic()))
        for worker in self.workers:
            worker.stopping = True
        left = max(0.0, end - time.monotonic())
        answers = [(w, w.request(STOP, struct.pack("<d", left))) for w in self.workers]
        drained = True
        for worker, answer in answers:
            try:
                kind, body = answer.result(max(0.0, end - time.monotonic()) + 2.0)
                drained = drained and kind == STOPPED and body == b"\x01"
            except (WorkerGone, FutureTimeout):
                drained = drained and worker.process is None
        for worker in self.workers:
            if worker.process is not None:
                worker.process.join(max(0.0, end - time.monotonic()) + 2.0)
                if worker.process.is_alive():
                    log.error("worker %d did not stop in time; killing it", worker.index)
                    worker.kill()
                    drained = False
        return drained

    def _release(self) -> None:
        """At interpreter exit without shutdown(): close the sockets; workers drain and exit."""
        self._accepting = False
        self._stopping.set()
        for worker in self.workers:
            worker.stopping = True
            sock = worker.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self) -> FrontService:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def _supervise(self) -> None:
        """Restart workers that died, with a backoff per worker."""
        backoff = {w.index: RESTART_BACKOFF[0] for w in self.workers}
        while not self._stopping.is_set():
            for worker in self.workers:
                if not worker.died.is_set() or worker.stopping or self._stopping.is_set():
                    continue
                log.warning("restarting worker %d", worker.index)
                worker.spawn()
                deadline = time.monotonic() + START_TIMEOUT
                while not worker.ready.wait(0.1):
                    if not worker.alive or time.monotonic() > deadline or self._stopping.is_set():
                        break
                if worker.ready.is_set():
                    log.warning("worker %d restarted (pid %s)", worker.index, worker.pid)
                    backoff[worker.index] = RESTART_BACKOFF[0]
                else:
                    if worker.alive and not self._stopping.is_set():
                        worker.kill()
                    self._stopping.wait(backoff[worker.index])
                    backoff[worker.index] = min(RESTART_BACKOFF[1], backoff[worker.index] * 2)
            self._stopping.wait(0.05)

    # --- submit (receiver handler threads) ------------------------------------------------
    def submit_traces(self, request: ExportTraceServiceRequest, raw: bytes | None = None) -> None:
        count = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        self.stats.add("traces", "received", count)
        if count:
            self._check_accepting("traces", count)
            self._dispatch("traces", TRACES, split_traces(request, self.n, raw), count)

    def submit_logs(self, request: ExportLogsServiceRequest, raw: bytes | None = None) -> None:
        count = sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
        self.stats.add("logs", "received", count)
        if count:
            self._check_accepting("logs", count)
            shards = split_logs(request, self.n, raw, spare=next(self._rotate))
            self._dispatch("logs", LOGS, shards, count)

    def submit_metrics(self, request: ExportMetricsServiceRequest,
                       raw: bytes | None = None) -> None:
        """Metrics pass through untouched, to one worker (round robin)."""
        count = sum(len(getattr(m, m.WhichOneof("data")).data_points)
                    for rm in request.resource_metrics for sm in rm.scope_metrics
                    for m in sm.metrics if m.WhichOneof("data"))
        self.stats.add("metrics", "received", count)
        if count:
            self._check_accepting("metrics", count)
            shards: list = [None] * self.n
            payload = raw if raw is not None else request.SerializeToString()
            shards[next(self._rotate) % self.n] = (payload, count)
            self._dispatch("metrics", METRICS, shards, count)

    def _check_accepting(self, signal: str, count: int) -> None:
        if not self._accepting:
            self.stats.add(signal, "refused", count)
            raise Refused(self.refused_retry_after, "shutting down")

    def _dispatch(self, signal: str, kind: int, shards: list, count: int) -> None:
        """Each shard to its worker; OK only when every one accepted; else Refused."""
        waiting = [(self.workers[i], self.workers[i].request(kind, shard[0]))
                   for i, shard in enumerate(shards) if shard is not None]
        refusals: list[tuple[float, str]] = []
        error = ""
        for worker, future in waiting:
            try:
                answer, body = future.result()
            except WorkerGone as gone:
                refusals.append((self.refused_retry_after, str(gone)))
                continue
            if answer == REFUSED:
                (retry_after,) = struct.unpack_from("<d", body)
                refusals.append((retry_after, f"worker {worker.index}: "
                                 + body[8:].decode(errors="replace")))
            elif answer == ERROR:
                error = error or body.decode(errors="replace")
        if refusals:
            self.stats.add(signal, "refused", count)
            partial = len(refusals) < len(waiting)
            reason = "; ".join(r for _, r in refusals) + (
                " (other shards accepted: a retry may deliver them twice)" if partial else "")
            raise Refused(max(r for r, _ in refusals), reason)
        if error:
            raise RuntimeError(f"a worker failed on a shard ({error})")

    # --- metrics --------------------------------------------------------------------------
    def worker_snapshots(self) -> list[dict]:
        answers = [w.request(STATS) for w in self.workers]
        snapshots = []
        for answer in answers:
            try:
                kind, body = answer.result(STATS_TIMEOUT)
            except (WorkerGone, FutureTimeout):
                continue
            if kind == OK:
                snapshots.append(pickle.loads(body))
        return snapshots


def _exporter_names(config: Config) -> list[str]:
    exporters = config.exporters
    return [name for name, value in (("otlp", exporters.otlp), ("debug", exporters.debug),
                                     ("file", exporters.file)) if value is not None]
