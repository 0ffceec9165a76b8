"""The load client of `throughput.py`, run in its own process.

It pre-serializes a pool of distinct GenAI requests once (`genai_traffic`), then,
on the parent's command, either saturates an OTLP/gRPC endpoint with N sender
threads on one channel, or sends paced, open-loop traffic for the latency phase.

Every send carries trace ids never sent before. A request is kept as its
serialized bytes cut at the first 4 bytes of every trace id; a send joins the
pieces with a fresh 4-byte stamp (`stamp.join(pieces)`: one C-level copy, no
protobuf work). Why: the processor remembers traces (`trace_state`) and raises
request alerts once per trace, so replaying a small pool would make the
detector side look cheaper than real traffic, and the latency phase needs a
unique key per request (the first span's trace id).

The parent drives it over a multiprocessing pipe: `run_client(conn)` answers
("pools", ...), ("saturate", ...), ("paced", ...), ("steady", ...) and
("stop",).
"""

from __future__ import annotations

import itertools
import signal
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from genai_traffic import make_request

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
STAMP_BYTES = 4
CHANNEL_OPTIONS = [("grpc.max_send_message_length", -1),
                   ("grpc.max_receive_message_length", -1)]
_stamps = itertools.count(1)  # next() on a count is atomic under the GIL: safe across threads


@dataclass(frozen=True)
class Template:
    """One serialized request, cut where each trace id starts."""

    pieces: tuple[bytes, ...]
    first_trace_suffix: bytes  # the first span's trace id without its stamped prefix
    spans: int
    size: int

    def stamped(self) -> tuple[bytes, bytes]:
        """(payload with fresh trace ids, the first span's new trace id)."""
        stamp = struct.pack(">I", next(_stamps))
        return stamp.join(self.pieces), stamp + self.first_trace_suffix


def make_template(spans: int, seed: int, finding_rate: float) -> Template:
    request = make_request(spans, seed, finding_rate)
    raw = request.SerializeToString()
    all_spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    offsets = sorted(_offsets(raw, {span.trace_id for span in all_spans}))
    # Each span's trace_id field must have been found once: a stray match would corrupt data.
    if len(offsets) != len(all_spans):
        raise RuntimeError(f"seed {seed}: {len(offsets)} trace ids for {len(all_spans)} spans")
    # Cut out each id's first STAMP_BYTES: piece i runs from the end of cut i-1 to cut i.
    starts, ends = [0, *(at + STAMP_BYTES for at in offsets)], [*offsets, len(raw)]
    pieces = [raw[start:end] for start, end in zip(starts, ends)]
    first_suffix = all_spans[0].trace_id[STAMP_BYTES:]
    template = Template(tuple(pieces), first_suffix, len(all_spans), len(raw))
    _check(template, all_spans)
    return template


def _offsets(raw: bytes, trace_ids: set[bytes]) -> list[int]:
    found = []
    for trace_id in trace_ids:
        at = raw.find(trace_id)
        while at != -1:
            found.append(at)
            at = raw.find(trace_id, at + 1)
    return found


def _check(template: Template, spans) -> None:
    """Parse one stamped copy: same spans, ids changed only in their prefix."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    payload, first = template.stamped()
    parsed = [s for rs in ExportTraceServiceRequest.FromString(payload).resource_spans
              for ss in rs.scope_spans for s in ss.spans]
    ok = (len(parsed) == len(spans) and parsed[0].trace_id == first
          and all(p.trace_id[STAMP_BYTES:] == s.trace_id[STAMP_BYTES:]
                  and p.span_id == s.span_id for p, s in zip(parsed, spans)))
    if not ok:
        raise RuntimeError("stamping trace ids corrupted the request")


def retry_delay(error: grpc.RpcError, default: float = 1.0) -> float:
    """The server's google.rpc.RetryInfo delay, else `default`."""
    try:
        status = rpc_status.from_call(error)
    except ValueError:
        return default
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.ToNanoseconds() / 1e9
    return default


@dataclass
class SenderCounts:
    ok_total: int = 0  # OK responses, warm-up and tail included (what the sink must get)
    ok_window: int = 0  # OK responses completed inside [t0, t1)
    refused: int = 0  # UNAVAILABLE back-pressure answers (each retried)
    errors: Counter = field(default_factory=Counter)  # any other status, by code
    first_error: str = ""


def _send_loop(export, pool: list[Template], start: int, t0: float, t1: float,
               timeout: float, counts: SenderCounts) -> None:
    for template in itertools.islice(itertools.cycle(pool), start, None):
        payload, _ = template.stamped()
        while True:  # the same payload until it is accepted (or the window is over)
            if time.monotonic() >= t1:
                return
            try:
                export(payload, timeout=timeout)
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.UNAVAILABLE:
                    counts.refused += 1
                    delay = retry_delay(error)
                    if time.monotonic() + delay >= t1:
                        return  # never accepted, so nothing is lost by stopping here
                    time.sleep(delay)
                    continue
                counts.errors[error.code().name] += 1
                counts.first_error = counts.first_error or f"{error.code().name}: {error.details()}"
                break
            done = time.monotonic()
            counts.ok_total += 1
            counts.ok_window += t0 <= done < t1
            break


def saturate(pool: list[Template], port: int, senders: int, t0: float, t1: float,
             timeout: float = 30.0, channels: int = 1) -> dict:
    """Closed loop, `senders` threads on `channels` channels (round robin), until `t1`.

    channels > 1: each channel its own TCP connection (a local subchannel pool; grpc
    would otherwise share one connection between channels to the same address), so
    SO_REUSEPORT can spread them over processes.
    """
    options = CHANNEL_OPTIONS + ([("grpc.use_local_subchannel_pool", 1)] if channels > 1 else [])
    opened = [grpc.insecure_channel(f"127.0.0.1:{port}", options=options)
              for _ in range(channels)]
    exports = [channel.unary_unary(TRACE_EXPORT, request_serializer=None,
                                   response_deserializer=None) for channel in opened]
    counts = [SenderCounts() for _ in range(senders)]
    # Each thread starts at its own pool entry, so the content mix is spread over time.
    threads = [threading.Thread(target=_send_loop, daemon=True, name=f"sender-{i}",
                                args=(exports[i % channels], pool, i, t0, t1, timeout,
                                      counts[i]))
               for i in range(senders)]
    for thread in threads:
        thread.start()
    cpu = _cpu_over(t0, t1)
    for thread in threads:  # bounded: a send never outlives its RPC timeout
        thread.join(max(0.0, t1 - time.monotonic()) + timeout + 5.0)
    for channel in opened:
        channel.close()
    errors = sum((c.errors for c in counts), Counter())
    return {
        "ok_total": sum(c.ok_total for c in counts),
        "ok_window": sum(c.ok_window for c in counts),
        "refused": sum(c.refused for c in counts),
        "errors": dict(errors),
        "first_error": next((c.first_error for c in counts if c.first_error), ""),
        "spans_per_request": pool[0].spans,
        "client_cpu_seconds": cpu,
        "stuck_senders": sum(thread.is_alive() for thread in threads),
    }


def _cpu_over(t0: float, t1: float) -> float:
    """This process's CPU seconds between monotonic times t0 and t1 (sleeps until each)."""
    time.sleep(max(0.0, t0 - time.monotonic()))
    start = time.process_time()
    time.sleep(max(0.0, t1 - time.monotonic()))
    return time.process_time() - start


def paced(pool: list[Template], port: int, rate: float, count: int,
          timeout: float = 30.0) -> dict:
    """Open loop: request i leaves at start + i/rate whatever the answers; keyed send times."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS)
    export = channel.unary_unary(TRACE_EXPORT, request_serializer=None,
                                 response_deserializer=None)
    grpc.channel_ready_future(channel).result(timeout=10)  # connect outside the measurement
    # Build every payload first so that stamping costs nothing between send times.
    payloads = [pool[i % len(pool)].stamped() for i in range(count)]
    sends, futures = [], []
    start = time.monotonic() + 0.01
    for i, (payload, key) in enumerate(payloads):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        sent = time.monotonic()
        futures.append(export.future(payload, timeout=timeout))
        sends.append((key, sent))
    statuses = Counter()
    for future in futures:  # bounded by the RPC timeout
        try:
            future.result()
            statuses["OK"] += 1
        except grpc.RpcError as error:
            statuses[error.code().name] += 1
    channel.close()
    return {"sends": sends, "statuses": dict(statuses),
            "send_seconds": sends[-1][1] - sends[0][1] if sends else 0.0}


def steady(pools: dict[str, list[Template]], pattern: list[str], port: int, rate: float,
           t0: float, t1: float, timeout: float = 30.0, max_in_flight: int = 64) -> dict:
    """Open loop at `rate` spans/s from monotonic t0 to t1, for long runs (`memory.py`).

    Requests cycle through `pattern` (pool names, e.g. 8 x "small" then 1 x "big"); a
    request leaves when the spans sent before it reach `rate` x elapsed time, stamped
    just before it leaves (nothing is built ahead, so hours of load cost no memory
    here). At most `max_in_flight` RPCs are outstanding: a processor that cannot keep
    up makes the sends late (reported), never piles up requests in this process.
    Refusals (UNAVAILABLE) are counted, not retried: a refused request was never
    accepted, so the sink must not get it.
    """
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS)
    export = channel.unary_unary(TRACE_EXPORT, request_serializer=None,
                                 response_deserializer=None)
    grpc.channel_ready_future(channel).result(timeout=10)
    lock = threading.Lock()
    slots = threading.Semaphore(max_in_flight)
    ok, ok_spans, refused, errors = Counter(), Counter(), Counter(), Counter()
    first_error = []

    def done(future, name: str, spans: int) -> None:
        try:
            future.result()
            with lock:
                ok[name] += 1
                ok_spans[name] += spans
        except grpc.RpcError as error:
            with lock:
                if error.code() == grpc.StatusCode.UNAVAILABLE:
                    refused[name] += 1
                else:
                    errors[error.code().name] += 1
                    if not first_error:
                        first_error.append(f"{error.code().name}: {error.details()}")
        finally:
            slots.release()

    sent, sent_spans, next_index = Counter(), 0, Counter()
    late_max, late_sends, stuck = 0.0, 0, False
    time.sleep(max(0.0, t0 - time.monotonic()))
    for k in itertools.count():
        name = pattern[k % len(pattern)]
        due = t0 + sent_spans / rate
        if due >= t1:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        if not slots.acquire(timeout=timeout):
            stuck = True  # max_in_flight RPCs outstanding for a whole RPC timeout
            break
        pool = pools[name]
        template = pool[next_index[name] % len(pool)]
        next_index[name] += 1
        payload, _ = template.stamped()
        late = time.monotonic() - due
        late_max = max(late_max, late)
        late_sends += late > 1.0
        future = export.future(payload, timeout=timeout)
        future.add_done_callback(lambda f, name=name, spans=template.spans: done(f, name, spans))
        sent[name] += 1
        sent_spans += template.spans
    finished = sum(slots.acquire(timeout=timeout + 5.0) for _ in range(max_in_flight))
    channel.close()
    with lock:
        return {"sent": dict(sent), "sent_spans": sent_spans, "ok": dict(ok),
                "ok_spans": sum(ok_spans.values()), "refused": dict(refused),
                "errors": dict(errors), "first_error": first_error[0] if first_error else "",
                "late_max_s": late_max, "late_sends": late_sends,
                "stuck": stuck or finished < max_in_flight,
                "spans_per_request": {n: pools[n][0].spans for n in set(pattern)}}


def run_client(conn) -> None:
    """Process entry point: serve commands until ("stop",) or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns the lifecycle
    pools: dict[str, list[Template]] = {}
    while True:
        try:
            command, *args = conn.recv()
        except EOFError:
            return
        if command == "stop":
            conn.send(None)
            return
        try:
            conn.send(("ok", _answer(pools, command, args)))
        except Exception as error:  # report, keep serving: the parent decides
            conn.send(("error", f"{type(error).__name__}: {error}"))


def _answer(pools: dict[str, list[Template]], command: str, args: list):
    if command == "pools":  # name -> (requests, spans each, finding_rate, first seed)
        for name, (requests, spans, rate, seed) in args[0].items():
            pools[name] = [make_template(spans, seed + i, rate) for i in range(requests)]
        return {name: sum(t.size for t in pool) // len(pool) for name, pool in pools.items()}
    if command == "saturate":
        name, *rest = args
        return saturate(pools[name], *rest)
    if command == "paced":
        name, *rest = args
        return paced(pools[name], *rest)
    if command == "steady":  # (pattern of pool names, port, rate, t0, t1[, timeout])
        return steady(pools, *args)
    raise ValueError(f"unknown client command {command!r}")
