"""End-to-end throughput and added latency of `otel-ai-detect serve` over OTLP/gRPC.

The baseline later work must beat. In one run, against the same processor:

  A  every default detector on;
  B  every detector off (`enabled: false` for each key of `DetectorsConfig`),

interleaved A B A B ... (`--reps` each) so that a noisy machine hits both
alike. For each repetition a fresh `otel-ai-detect serve` subprocess (glibc
malloc env, gRPC receiver on a free port, `otlp` gRPC exporter without
compression to the sink) takes realistic GenAI traffic (`genai_traffic.py`:
512-span requests, 1-2 KB prompts, ~1 KB completions, ~3 % with something to
find) from N sender threads for a warm-up and then a measured window.
Throughput is spans accepted (OK answers) per second in the window; refusals
(UNAVAILABLE, back-pressure) are retried after the server's hint and counted.
After the window the downstream sink must have received exactly as many trace
requests as were accepted: nothing lost.

Then added latency: 64-span requests, paced open loop at half of A's measured
throughput, through a fresh A processor and then straight to the sink; latency
is sink arrival minus client send (CLOCK_MONOTONIC is system-wide on Linux).

Processes: this one orchestrates; the sink (`_bench_sink.py`) and the load
client (`_bench_load.py`) run in their own processes; the processor is a
subprocess (`_bench_procs.py`); `_bench_report.py` prints. All are stopped on
exit, Ctrl-C, SIGTERM or error.

    .venv/bin/python benchmarks/throughput.py            # ~70 s on 2 vCPUs
    .venv/bin/python benchmarks/throughput.py --quick    # smoke run, ~15 s
    .venv/bin/python benchmarks/throughput.py --json out.json

Exit status 1 only on errors (a processor that dies, RPC errors, lost or
duplicated data), never on how fast it is.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _bench_procs import (
    MALLOC_ENV, Client, Helper, Processor, detector_names, free_port, psutil,
    start_sink_and_client, write_config,
)
from _bench_report import (
    latency_summary, machine_info, print_errors, print_header, print_latency, print_rep,
    print_results, print_throughput_targets,
)

CONFIGS = ("A", "B")  # A: default detectors on; B: every detector off
BIG_SPANS, SMALL_SPANS = 512, 64
RPC_TIMEOUT = 30.0
DRAIN_TIMEOUT = 20.0  # how long the sink may take to get everything the processor accepted


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions per config (default 3)")
    parser.add_argument("--senders", type=int, default=8, help="sender threads (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before the window")
    parser.add_argument("--window", type=float, default=6.0, help="measured seconds per rep")
    parser.add_argument("--pool", type=int, default=16, help="distinct 512-span requests")
    parser.add_argument("--finding-rate", type=float, default=0.03)
    parser.add_argument("--latency-requests", type=int, default=400)
    parser.add_argument("--latency-warmup", type=int, default=50,
                        help="paced requests sent and discarded before each latency path")
    parser.add_argument("--workers", type=int, default=1,
                        help="processor.workers of A and B (default 1; >1: the front and N "
                             "worker processes, README 'Scaling out')")
    parser.add_argument("--json", help="also write the figures as JSON to this path")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 rep, 0.5 s warm-up, 2 s window, 100 latency requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.warmup, args.window = 1, 0.5, 2.0
        args.latency_requests, args.latency_warmup, args.pool = 100, 20, 8
    if min(args.reps, args.senders, args.pool, args.latency_requests) < 1 or args.window <= 0:
        parser.error("--reps, --senders, --pool, --latency-requests and --window must be > 0")
    return args


# --- phases -------------------------------------------------------------------------


class Bench:
    """Holds the helpers, the temp directory and the errors of one run."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.errors: list[str] = []
        self.processor: Processor | None = None
        self.sink: Helper | None = None
        self.client: Client | None = None
        self.sink_port = 0
        self.request_bytes: dict[str, int] = {}

    def start(self) -> None:
        """Start the sink and the client, and build the client's request pools."""
        args = self.args
        pools = {"big": (args.pool, BIG_SPANS, args.finding_rate, 1),
                 "small": (min(args.pool, 16), SMALL_SPANS, args.finding_rate, 10_000)}
        # With workers, one accepted request reaches the sink as one request per worker (its
        # shards): delivery is then checked by counting spans.
        self.sink, self.client, self.sink_port, self.request_bytes = start_sink_and_client(
            pools, count_spans=args.workers > 1)

    def start_processor(self, name: str) -> Processor:
        port = free_port()
        extra = {"processor": {"workers": self.args.workers}} if self.args.workers > 1 else None
        config = write_config(self.workdir, name, port, self.sink_port, extra=extra)
        self.processor = Processor(config, port, self.workdir / f"processor-{name}.log")
        self.processor.wait_ready()
        return self.processor

    def stop_processor(self) -> int | None:
        processor, self.processor = self.processor, None
        return processor.stop() if processor is not None else None

    def saturation_rep(self, name: str, rep: int) -> dict:
        args = self.args
        self.sink.call("reset")
        processor = self.start_processor(name)
        t0 = time.monotonic() + args.warmup
        t1 = t0 + args.window
        # The client runs the load on its own clock; meanwhile we sample CPU over [t0, t1).
        self.client.send("saturate", "big", processor.port, args.senders, t0, t1, RPC_TIMEOUT)
        cpu = self._cpu_over(processor, t0, t1)
        load = self.client.receive(max(0.0, t1 - time.monotonic()) + RPC_TIMEOUT + 15.0)
        load["client_cores"] = load.pop("client_cpu_seconds") / args.window
        delivery = self._check_delivery(name, rep, load["ok_total"])
        result = {"config": name, "rep": rep, **load, **cpu, **delivery,
                  "window": args.window,
                  "spans_per_second": load["ok_window"] * load["spans_per_request"] / args.window}
        self._note_load_errors(name, rep, load)
        return result

    def _cpu_over(self, processor: Processor, t0: float, t1: float) -> dict:
        """Processor (psutil) and sink CPU cores used between t0 and t1."""
        time.sleep(max(0.0, t0 - time.monotonic()))
        start = (processor.cpu_seconds(), self.sink.call("cpu"))
        time.sleep(max(0.0, t1 - time.monotonic()))
        end = (processor.cpu_seconds(), self.sink.call("cpu"))
        span = t1 - t0
        return {"processor_cores": None if start[0] is None or end[0] is None
                else (end[0] - start[0]) / span,
                "sink_cores": (end[1] - start[1]) / span}

    def _check_delivery(self, name: str, rep: int, accepted: int) -> dict:
        """Wait for the sink to get all accepted requests; stop the processor; compare exactly."""
        processor = self.processor
        workers = self.args.workers
        if processor.process.poll() is None:  # a dead processor will not deliver the rest
            self.sink.call("wait", accepted * workers, DRAIN_TIMEOUT, timeout=DRAIN_TIMEOUT + 10)
        alive = processor.process.poll() is None
        exit_code = self.stop_processor()  # SIGTERM drains whatever is still queued
        stats = self.sink.call("stats")
        delivered = stats["requests"].get("traces", 0)
        if not alive:
            self.errors.append(f"{name}{rep}: the processor died during the run")
        if not alive or exit_code != 0:
            self.errors.append(f"{name}{rep}: processor log tail:\n{processor.log_tail()}")
        if workers == 1 and delivered != accepted:
            self.errors.append(f"{name}{rep}: sink got {delivered} trace requests, "
                               f"processor accepted {accepted}")
        if workers > 1 and not stats["spans"] == stats["unique_spans"] == accepted * BIG_SPANS:
            self.errors.append(f"{name}{rep}: sink got {stats['spans']} spans "
                               f"({stats['unique_spans']} distinct), processor accepted "
                               f"{accepted * BIG_SPANS}")
        if exit_code != 0:
            self.errors.append(f"{name}{rep}: processor exit code {exit_code}")
        delivered_ok = (delivered == accepted if workers == 1
                        else stats["spans"] == stats["unique_spans"] == accepted * BIG_SPANS)
        return {"delivered": delivered, "delivered_ok": delivered_ok, "workers": workers,
                "delivered_spans": stats.get("spans", 0),
                "alert_requests": stats["requests"].get("logs", 0),
                "delivered_bytes": stats["bytes"].get("traces", 0), "exit_code": exit_code}

    def _note_load_errors(self, name: str, rep: int, load: dict) -> None:
        if load["errors"]:
            self.errors.append(f"{name}{rep}: RPC errors {load['errors']} "
                               f"(first: {load['first_error']})")
        if load["stuck_senders"]:
            self.errors.append(f"{name}{rep}: {load['stuck_senders']} sender threads stuck")

    def latency(self, throughput_a: float) -> dict:
        """Paced 64-span requests at half of A's throughput: via the processor, then direct."""
        rate = max(1.0, throughput_a / 2 / SMALL_SPANS)  # requests per second
        self.sink.call("latency", True)
        try:
            processor = self.start_processor("A")
            via = self._paced_path("processor", processor.port, rate)
            exit_code = self.stop_processor()
            if exit_code != 0:
                self.errors.append(f"latency: processor exit code {exit_code}")
            direct = self._paced_path("direct", self.sink_port, rate)
        finally:
            self.sink.call("latency", False)
        return {"rate_requests": rate, "rate_spans": rate * SMALL_SPANS,
                "spans_per_request": SMALL_SPANS, "requests": self.args.latency_requests,
                "processor": via, "direct": direct}

    def _paced_path(self, name: str, port: int, rate: float) -> dict:
        count = self.args.latency_requests
        if self.args.latency_warmup:  # first connections, lazy imports, caches: not measured
            self._paced(port, rate, self.args.latency_warmup)
        sends, arrivals, statuses = self._paced(port, rate, count)
        summary = latency_summary(sends, arrivals)
        summary["statuses"] = statuses
        if statuses.get("OK", 0) != count or summary["missing"]:
            self.errors.append(f"latency {name}: statuses {statuses}, "
                               f"{summary['missing']} requests never reached the sink")
        return summary

    def _paced(self, port: int, rate: float, count: int):
        self.sink.call("reset")
        budget = count / rate + RPC_TIMEOUT + 15.0
        result = self.client.call("paced", "small", port, rate, count, RPC_TIMEOUT, timeout=budget)
        wanted = result["statuses"].get("OK", 0) * (self.args.workers if port != self.sink_port
                                                   else 1)
        self.sink.call("wait", wanted, DRAIN_TIMEOUT, timeout=DRAIN_TIMEOUT + 10)
        return result["sends"], self.sink.call("arrivals"), result["statuses"]

    def close(self) -> None:
        """Stop everything still running; safe to call at any point, more than once."""
        self.stop_processor()
        helpers, self.client, self.sink = (self.client, self.sink), None, None
        for helper in helpers:
            if helper is not None:
                helper.stop()


# --- main ---------------------------------------------------------------------------


def run(args: argparse.Namespace, bench: Bench) -> dict:
    order = [name for _ in range(args.reps) for name in CONFIGS]  # A B A B ...
    reps = []
    for index, name in enumerate(order):
        result = bench.saturation_rep(name, index // len(CONFIGS) + 1)
        print_rep(result)
        reps.append(result)
    median_a = statistics.median(r["spans_per_second"] for r in reps if r["config"] == "A")
    latency = bench.latency(median_a) if median_a > 0 else None
    return {"reps": reps, "latency": latency}


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM takes the same way out as Ctrl-C, so the finally below stops everything.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    info = machine_info(psutil is not None)
    params = {k: v for k, v in vars(args).items() if k != "json"} | {
        "spans_per_request": BIG_SPANS, "latency_spans_per_request": SMALL_SPANS,
        "detectors": detector_names(), "malloc_env": MALLOC_ENV,
        "exporter": "otlp grpc, compression none, default sending_queue and retry"}
    with tempfile.TemporaryDirectory(prefix="otel-ai-detect-bench-") as workdir:
        bench = Bench(args, Path(workdir))
        try:
            bench.start()
            params["request_bytes"] = bench.request_bytes
            print_header(info, params)
            figures = run(args, bench)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the processor, client and sink", file=sys.stderr)
            return 130
        except Exception as error:
            print(f"\nerror: {error}", file=sys.stderr)
            return 1
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a 2nd Ctrl-C must not skip the cleanup
            bench.close()
    summary = print_results(figures)
    print_latency(figures["latency"])
    targets = print_throughput_targets(summary, figures["latency"], args.workers)
    print_errors(bench.errors)
    print(f"\nrun time {time.monotonic() - started:.0f} s")
    if args.json:
        document = {"machine": info, "parameters": params, **figures, "summary": summary,
                    "targets": targets, "errors": bench.errors}
        Path(args.json).write_text(json.dumps(document, indent=2, default=str))
        print(f"\nwrote {args.json}")
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
