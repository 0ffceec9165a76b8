"""The downstream OTLP sink of `throughput.py`, run in its own process.

A grpcio server with generic handlers for the Trace/Logs/Metrics `Export`
methods. They take the request as raw bytes (no protobuf parse), so the sink
costs next to nothing and the processor, not the sink, sets the pace. The sink
counts requests and bytes per method.

In latency mode it also parses trace requests just enough to read the first
span's trace id and records `time.monotonic()` at arrival, keyed by that id.
CLOCK_MONOTONIC is system-wide on Linux, so the client process can subtract
its own send times.

In span mode it parses trace requests to count spans and distinct (trace id,
span id) pairs: what a processor that re-splits requests (`processor.workers`)
delivered, and whether anything arrived twice.

The parent drives it over a multiprocessing pipe: `run_sink(conn)` answers
("port",), ("reset",), ("latency", on), ("spans", on), ("wait", min_trace_requests, timeout),
("stats",), ("arrivals",), ("cpu",) and ("stop",).
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SERVICES = {
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
}
# An empty Export*ServiceResponse serializes to b"" for all three signals.
EMPTY_RESPONSE = b""


class SinkState:
    """Counters and arrival times, shared by the handler threads and the control loop."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.requests: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.latency_mode = False
        self.span_mode = False  # count spans and duplicates (parses every trace request)
        self.spans = 0
        self.span_keys: set[bytes] = set()
        self.arrivals: dict[bytes, float] = {}
        self.unreadable = 0  # latency mode: trace requests without a span to key on

    def record(self, signal_name: str, raw: bytes) -> None:
        arrived = time.monotonic()  # first thing: the handler just got the bytes
        key = _first_trace_id(raw) if self.latency_mode and signal_name == "traces" else None
        keys = _span_keys(raw) if self.span_mode and signal_name == "traces" else None
        with self.cond:
            if keys is not None:
                self.spans += len(keys)
                self.span_keys.update(keys)
            self.requests[signal_name] += 1
            self.bytes[signal_name] += len(raw)
            if self.latency_mode and signal_name == "traces":
                if key is None:
                    self.unreadable += 1
                else:
                    self.arrivals.setdefault(key, arrived)
            self.cond.notify_all()

    def reset(self) -> None:
        with self.cond:
            self.requests.clear()
            self.bytes.clear()
            self.arrivals.clear()
            self.unreadable = 0
            self.spans = 0
            self.span_keys = set()

    def snapshot(self) -> dict:
        with self.cond:
            return {"requests": dict(self.requests), "bytes": dict(self.bytes),
                    "unreadable": self.unreadable, "spans": self.spans,
                    "unique_spans": len(self.span_keys)}

    def wait_for_traces(self, count: int, timeout: float) -> dict:
        """Block until `count` trace requests arrived or `timeout` passed; then the stats."""
        with self.cond:
            self.cond.wait_for(lambda: self.requests["traces"] >= count, timeout)
        return self.snapshot()


def _first_trace_id(raw: bytes) -> bytes | None:
    request = ExportTraceServiceRequest.FromString(raw)
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                return span.trace_id
    return None


def _span_keys(raw: bytes) -> list[bytes]:
    """trace id + span id of every span: a span delivered twice shows up twice."""
    request = ExportTraceServiceRequest.FromString(raw)
    return [span.trace_id + span.span_id for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans for span in scope_spans.spans]


def _handlers(state: SinkState) -> list[grpc.GenericRpcHandler]:
    handlers = []
    for signal_name, service in SERVICES.items():
        def export(raw: bytes, context, signal_name=signal_name) -> bytes:
            state.record(signal_name, raw)
            return EMPTY_RESPONSE

        method = grpc.unary_unary_rpc_method_handler(
            export, request_deserializer=None, response_serializer=None)
        handlers.append(grpc.method_handlers_generic_handler(service, {"Export": method}))
    return handlers


def start_server(state: SinkState, threads: int = 4) -> tuple[grpc.Server, int]:
    # A few threads: the processor exports with `num_consumers` (2) RPCs in flight,
    # and the direct latency path sends open loop.
    server = grpc.server(ThreadPoolExecutor(threads, thread_name_prefix="sink"),
                         options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    server.add_generic_rpc_handlers(_handlers(state))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def run_sink(conn) -> None:
    """Process entry point: serve until ("stop",) or the parent goes away."""
    # The parent owns the lifecycle: Ctrl-C in the terminal must not kill us mid-answer.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    state = SinkState()
    server, port = start_server(state)
    try:
        while True:
            try:
                command, *args = conn.recv()
            except EOFError:  # the parent died: nothing left to serve
                return
            if command == "stop":
                conn.send(None)
                return
            conn.send(_answer(state, port, command, args))
    finally:
        server.stop(0)


def _answer(state: SinkState, port: int, command: str, args: list):
    if command == "port":
        return port
    if command == "reset":
        state.reset()
        return None
    if command == "latency":
        state.latency_mode = bool(args[0])
        return None
    if command == "spans":
        state.span_mode = bool(args[0])
        return None
    if command == "wait":
        return state.wait_for_traces(*args)
    if command == "stats":
        return state.snapshot()
    if command == "arrivals":
        with state.cond:
            return dict(state.arrivals)
    if command == "cpu":
        return time.process_time()
    raise ValueError(f"unknown sink command {command!r}")
