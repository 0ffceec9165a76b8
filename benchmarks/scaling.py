"""Saturation throughput of one processor process against two, in each topology.

In one run, interleaved a b c a b c ... (`--reps` each), every default detector
on, the same traffic as `throughput.py` (`genai_traffic.py`, 512-span requests,
fresh trace ids on every send):

  a  `workers: 1` (one process), ONE upstream connection;
  b  `workers: 2`: the front parses, splits by trace id and hands the shards to
     two worker processes; ONE upstream connection (what a Collector opens);
  c  two separate `serve` processes (`workers: 1`) on the same gRPC port, which
     grpc binds with SO_REUSEPORT; the client opens `--channels` connections,
     and the kernel spreads the connections (not the requests) over the two.

Throughput is spans accepted (OK answers) per second in the window. After each
window the sink (in span mode: it parses every request) must hold every span of
every accepted request exactly once. A duplicate is an error unless requests
were refused in that rep (with workers a refusal may follow a partial
acceptance: the retry re-delivers the accepted shards, at-least-once).

The load client and the sink run on the same machine as the processors and
take CPU from them: their cores are printed beside the processors'.

    .venv/bin/python benchmarks/scaling.py            # ~3 minutes on 2 vCPUs
    .venv/bin/python benchmarks/scaling.py --quick    # smoke run
    .venv/bin/python benchmarks/scaling.py --json out.json

Exit status 1 only on errors (lost or duplicated spans, RPC errors, a process
that dies), never on how fast it is.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _bench_procs import (
    MALLOC_ENV, Client, Helper, Processor, detector_names, free_port, psutil,
    start_sink_and_client, write_config,
)
from _bench_report import _k, _median_range, machine_info, print_errors

CONFIGS = {
    "a": "a  workers: 1, 1 connection",
    "b": "b  workers: 2 + front, 1 connection",
    "c": "c  2 serve, SO_REUSEPORT, N conns",
}
SPANS = 512
TARGET = 1.8
RPC_TIMEOUT = 30.0
DRAIN_TIMEOUT = 30.0
START_TIMEOUT = 120.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions per config (default 3)")
    parser.add_argument("--senders", type=int, default=8, help="sender threads (default 8)")
    parser.add_argument("--channels", type=int, default=8,
                        help="connections for config c (default 8; senders spread over them)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before the window")
    parser.add_argument("--window", type=float, default=8.0, help="measured seconds per rep")
    parser.add_argument("--pool", type=int, default=16, help="distinct 512-span requests")
    parser.add_argument("--finding-rate", type=float, default=0.03)
    parser.add_argument("--json", help="also write the figures as JSON to this path")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 rep, 1 s warm-up, 2 s window")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.warmup, args.window, args.pool = 1, 1.0, 2.0, 8
    if min(args.reps, args.senders, args.channels, args.pool) < 1 or args.window <= 0:
        parser.error("--reps, --senders, --channels, --pool and --window must be > 0")
    return args


def wait_http_ready(processor: Processor, metrics_port: int, timeout: float) -> None:
    """Poll the processor's /ready (config c: the shared gRPC port cannot tell them apart)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if processor.process.poll() is not None:
            raise RuntimeError(f"processor exited with {processor.process.returncode} before "
                               f"it was ready\n{processor.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/ready", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"processor not ready in {timeout:g}s")


def cpu_seconds(processor: Processor) -> tuple[float, float] | None:
    """(the process, its children) CPU seconds: for `workers: 2`, the front and the workers."""
    if psutil is None:
        return None
    try:
        root = psutil.Process(processor.process.pid)
        own = sum(root.cpu_times()[:2])
        children = 0.0
        for child in root.children(recursive=True):
            try:
                children += sum(child.cpu_times()[:2])
            except psutil.Error:
                pass
        return own, children
    except psutil.Error:
        return None


def connections(processor: Processor, port: int) -> int | None:
    """Established connections on the receiver port, in this process."""
    if psutil is None:
        return None
    try:
        return sum(1 for c in psutil.Process(processor.process.pid).net_connections("tcp")
                   if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED)
    except psutil.Error:
        return None


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.errors: list[str] = []
        self.processors: list[Processor] = []
        self.sink: Helper | None = None
        self.client: Client | None = None
        self.sink_port = 0
        self.request_bytes = 0

    def start(self) -> None:
        args = self.args
        pools = {"big": (args.pool, SPANS, args.finding_rate, 1)}
        self.sink, self.client, self.sink_port, sizes = start_sink_and_client(
            pools, count_spans=True)
        self.request_bytes = sizes["big"]

    def start_processors(self, name: str, rep: int) -> int:
        """The processes of config `name`; returns the receiver port."""
        port = free_port()
        count = 2 if name == "c" else 1
        for index in range(count):
            metrics_port = free_port()
            extra = {"processor": {"workers": 2}} if name == "b" else None
            config = write_config(self.workdir, f"{name}{index}", port, self.sink_port,
                                  metrics_port=metrics_port, extra=extra)
            processor = Processor(config, port, self.workdir / f"processor-{name}{rep}-{index}.log")
            self.processors.append(processor)
            wait_http_ready(processor, metrics_port, START_TIMEOUT)
        return port

    def stop_processors(self) -> list[int | None]:
        processors, self.processors = self.processors, []
        return [p.stop() for p in processors]

    def rep(self, name: str, rep: int) -> dict:
        args = self.args
        self.sink.call("reset")
        port = self.start_processors(name, rep)
        channels = args.channels if name == "c" else 1
        senders = max(args.senders, channels)
        t0 = time.monotonic() + args.warmup
        t1 = t0 + args.window
        self.client.send("saturate", "big", port, senders, t0, t1, RPC_TIMEOUT, channels)
        time.sleep(max(0.0, t0 - time.monotonic()))
        start = [cpu_seconds(p) for p in self.processors], self.sink.call("cpu")
        time.sleep(max(0.0, (t0 + t1) / 2 - time.monotonic()))
        conns = [connections(p, port) for p in self.processors]
        time.sleep(max(0.0, t1 - time.monotonic()))
        end = [cpu_seconds(p) for p in self.processors], self.sink.call("cpu")
        load = self.client.receive(RPC_TIMEOUT + 20.0)
        span = t1 - t0
        per_process = [None if a is None or b is None else
                       ((b[0] - a[0]) / span, (b[1] - a[1]) / span)
                       for a, b in zip(start[0], end[0])]
        result = {
            "config": name, "rep": rep, "window": args.window, "senders": senders,
            "channels": channels, **{k: v for k, v in load.items() if k != "client_cpu_seconds"},
            "client_cores": load["client_cpu_seconds"] / args.window,
            "sink_cores": (end[1] - start[1]) / span,
            "process_cores": per_process,  # [(own, children)] per serve process
            "connections": conns,
            "spans_per_second": load["ok_window"] * load["spans_per_request"] / args.window,
        }
        result |= self._check(name, rep, load)
        return result

    def _check(self, name: str, rep: int, load: dict) -> dict:
        expected = load["ok_total"] * load["spans_per_request"]
        deadline = time.monotonic() + DRAIN_TIMEOUT
        alive = all(p.process.poll() is None for p in self.processors)
        stats = self.sink.call("stats")
        while alive and stats["unique_spans"] < expected and time.monotonic() < deadline:
            time.sleep(0.1)
            stats = self.sink.call("stats")
        tails = [p.log_tail() for p in self.processors]
        codes = self.stop_processors()  # SIGTERM drains what is still queued
        stats = self.sink.call("stats")
        where = f"{name}{rep}"
        if not alive:
            self.errors.append(f"{where}: a processor died during the run:\n" + "\n".join(tails))
        if any(code != 0 for code in codes):
            self.errors.append(f"{where}: processor exit codes {codes}")
        unique, total = stats["unique_spans"], stats["spans"]
        if unique < expected:
            self.errors.append(f"{where}: sink got {unique} distinct spans, {expected} accepted")
        if total > unique and not load["refused"]:
            self.errors.append(f"{where}: {total - unique} spans delivered twice, no refusals")
        if load["errors"]:
            self.errors.append(f"{where}: RPC errors {load['errors']} ({load['first_error']})")
        if load["stuck_senders"]:
            self.errors.append(f"{where}: {load['stuck_senders']} sender threads stuck")
        return {"expected_spans": expected, "delivered_spans": total, "unique_spans": unique,
                "alert_requests": stats["requests"].get("logs", 0), "exit_codes": codes}

    def close(self) -> None:
        self.stop_processors()
        helpers, self.client, self.sink = (self.client, self.sink), None, None
        for helper in helpers:
            if helper is not None:
                helper.stop()


# --- printing -------------------------------------------------------------------------------


def _cores(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _group(r: dict) -> float | None:
    cores = r["process_cores"]
    return None if any(c is None for c in cores) else sum(own + kids for own, kids in cores)


def _breakdown(r: dict) -> str:
    cores = r["process_cores"]
    if any(c is None for c in cores):
        return "cores n/a"
    if r["config"] == "b":
        own, kids = cores[0]
        return f"front {own:.2f} + workers {kids:.2f}"
    if r["config"] == "c":
        conns = "/".join("?" if c is None else str(c) for c in r["connections"])
        return ("processes " + " + ".join(f"{own + kids:.2f}" for own, kids in cores)
                + f", connections {conns}")
    return f"process {sum(cores[0]):.2f}"


def print_header(info: dict, args: argparse.Namespace, request_bytes: int) -> None:
    load = ", ".join(f"{x:.2f}" for x in info["load_average"])
    memory = f"{info['memory_gib']:.0f} GiB" if info["memory_gib"] else "?"
    print("otel-ai-detect scaling: one process against two, over OTLP/gRPC")
    print(f"date       {info['date']}   commit {info['commit']}")
    print(f"machine    {info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable), "
          f"{memory}, Linux {info['kernel']}, load {load}")
    print(f"software   Python {info['python']}, grpcio {info['grpcio']}, protobuf "
          f"{info['protobuf']} ({info['protobuf_backend']}), hyperscan {info['hyperscan']}, "
          f"otel-ai-detect {info['otel-ai-detect']}, psutil {info['psutil']}")
    print(f"traffic    {SPANS}-span requests ({request_bytes / 1e6:.2f} MB, pool {args.pool}, "
          f"fresh trace ids every send), {args.finding_rate:.0%} with something to find; "
          f"every default detector on ({', '.join(detector_names())})")
    print(f"load       {args.senders} sender threads; a, b: one channel; c: {args.channels} "
          f"channels; {args.warmup:g} s warm-up + {args.window:g} s window, {args.reps} reps "
          "per config, interleaved a b c")
    print("processor  otel-ai-detect serve, otlp gRPC exporter (compression none) to a raw "
          "sink that parses and counts spans; malloc env "
          + " ".join(f"{k}={v}" for k, v in MALLOC_ENV.items()))
    print(f"note       the load client and the sink run on this same {info['cores']}-core "
          "machine: their cores are taken from the processors'")
    print()


def print_rep(r: dict) -> None:
    check = "ok" if r["unique_spans"] >= r["expected_spans"] else "MISSING"
    dup = r["delivered_spans"] - r["unique_spans"]
    print(f"  {r['config']} rep {r['rep']}: {_k(r['spans_per_second'])} spans/s, refused "
          f"{r['refused']}, errors {sum(r['errors'].values())}; cores: {_breakdown(r)}, "
          f"client {r['client_cores']:.2f}, sink {r['sink_cores']:.2f}; sink "
          f"{r['unique_spans']}/{r['expected_spans']} spans ({check}), {dup} twice, "
          f"{r['alert_requests']} alert requests")
    sys.stdout.flush()


def print_results(reps: list[dict]) -> dict:
    by = {name: [r for r in reps if r["config"] == name] for name in CONFIGS}
    summary: dict = {}
    print(f"\n{'config':<36} {'spans/s median (min–max)':<26} {'refused':>7} {'errors':>6} "
          f"{'proc cores':>10} {'per core':>8} {'client':>6} {'sink':>5}  nothing lost")
    for name, rs in by.items():
        if not rs:
            continue
        rates = [r["spans_per_second"] for r in rs]
        groups = [g for r in rs if (g := _group(r)) is not None]
        ok = sum(r["unique_spans"] >= r["expected_spans"] for r in rs)
        summary[name] = {
            "spans_per_second_median": statistics.median(rates),
            "spans_per_second_min": min(rates), "spans_per_second_max": max(rates),
            "processor_cores_median": statistics.median(groups) if groups else None,
            "client_cores_median": statistics.median(r["client_cores"] for r in rs),
            "sink_cores_median": statistics.median(r["sink_cores"] for r in rs),
            "refused": sum(r["refused"] for r in rs),
            "errors": sum(sum(r["errors"].values()) for r in rs), "delivered_ok": ok,
        }
        s = summary[name]
        per_core = [r["spans_per_second"] / g for r in rs if (g := _group(r))]
        s["spans_per_core_second_median"] = statistics.median(per_core) if per_core else None
        print(f"{CONFIGS[name]:<36} {_median_range(rates, _k):<26} {s['refused']:>7} "
              f"{s['errors']:>6} {_cores(s['processor_cores_median']):>10} "
              f"{_k(s['spans_per_core_second_median']) if per_core else 'n/a':>8} "
              f"{s['client_cores_median']:>6.2f} {s['sink_cores_median']:>5.2f}  "
              f"{ok}/{len(rs)} reps")
    if "a" in summary:
        base = summary["a"]["spans_per_second_median"]
        print()
        for name in ("b", "c"):
            if name not in summary or not base:
                continue
            ratio = summary[name]["spans_per_second_median"] / base
            pairs = [x["spans_per_second"] / a["spans_per_second"]
                     for a, x in zip(by["a"], by[name]) if a["spans_per_second"]]
            summary[f"ratio_{name}_a"], summary[f"ratio_{name}_a_reps"] = ratio, pairs
            verdict = "meets" if ratio >= TARGET else "below"
            print(f"ratio {name}/a: {ratio:.2f}× of medians (per interleaved rep "
                  f"{_median_range(pairs, lambda v: f'{v:.2f}×')}); {verdict} the "
                  f"{TARGET:g}× target")
        print("per core: spans/s ÷ cores the processor processes used. Other load on the "
              "machine (client, sink, anything else) takes cores from them; per core shows "
              "what each topology does with the CPU it got")
    return summary


# --- main -----------------------------------------------------------------------------------


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    info = machine_info(psutil is not None)
    reps: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="otel-ai-detect-scaling-") as workdir:
        bench = Bench(args, Path(workdir))
        try:
            bench.start()
            print_header(info, args, bench.request_bytes)
            for rep in range(1, args.reps + 1):
                for name in CONFIGS:
                    result = bench.rep(name, rep)
                    print_rep(result)
                    reps.append(result)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the processors, client and sink", file=sys.stderr)
            return 130
        except Exception as error:
            print(f"\nerror: {type(error).__name__}: {error}", file=sys.stderr)
            bench.errors.append(f"{type(error).__name__}: {error}")
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a 2nd Ctrl-C must not skip cleanup
            bench.close()
    summary = print_results(reps) if reps else {}
    print_errors(bench.errors)
    print(f"\nrun time {time.monotonic() - started:.0f} s")
    if args.json:
        document = {"machine": info, "parameters": vars(args), "reps": reps,
                    "summary": summary, "errors": bench.errors}
        Path(args.json).write_text(json.dumps(document, indent=2, default=str))
        print(f"\nwrote {args.json}")
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
