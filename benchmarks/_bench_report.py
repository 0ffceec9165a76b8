"""What `throughput.py` prints: the machine header, per-rep lines, the result tables.

Pure formatting and arithmetic over the figures the run collected; the same
figures go to the --json file.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

NAMES = {"A": "A  detectors on (defaults)", "B": "B  detectors off"}


# --- header -------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    """Read-only `git rev-parse`; best effort (no git, not a checkout: "unknown")."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_info(have_psutil: bool) -> dict:
    from google.protobuf.internal import api_implementation

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": _memory_gib(),
        "load_average": os.getloadavg(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "grpcio": version("grpcio"),
        "protobuf": version("protobuf"),
        "protobuf_backend": api_implementation.Type(),
        "hyperscan": version("hyperscan"),
        "google-re2": version("google-re2"),
        "otel-ai-detect": version("otel-ai-detect"),
        "commit": _git_commit(),
        "psutil": version("psutil") if have_psutil else "not installed (no processor CPU)",
    }


def print_header(info: dict, params: dict) -> None:
    load = ", ".join(f"{x:.2f}" for x in info["load_average"])
    memory = f"{info['memory_gib']:.0f} GiB" if info["memory_gib"] else "?"
    print("otel-ai-detect end-to-end throughput over OTLP/gRPC")
    print(f"date       {info['date']}   commit {info['commit']}")
    print(f"machine    {info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable), "
          f"{memory}, Linux {info['kernel']}, load {load}")
    print(f"software   Python {info['python']}, grpcio {info['grpcio']}, protobuf "
          f"{info['protobuf']} ({info['protobuf_backend']}), hyperscan {info['hyperscan']}, "
          f"google-re2 {info['google-re2']}, otel-ai-detect {info['otel-ai-detect']}, "
          f"psutil {info['psutil']}")
    sizes = params["request_bytes"]
    print(f"traffic    {params['spans_per_request']}-span requests ({sizes['big'] / 1e6:.2f} MB, "
          f"pool {params['pool']}, fresh trace ids every send), "
          f"{params['finding_rate']:.0%} with something to find")
    print(f"load       {params['senders']} sender threads on one channel, "
          f"{params['warmup']:g} s warm-up + {params['window']:g} s window, "
          f"{params['reps']} reps per config, interleaved A B")
    workers = params.get("workers", 1)
    print(f"processor  otel-ai-detect serve, processor.workers: {workers}, {params['exporter']}; malloc env "
          + " ".join(f"{k}={v}" for k, v in params["malloc_env"].items()))
    print(f"configs    A: default detectors ({', '.join(params['detectors'])}); "
          f"B: all of them enabled: false")
    print(f"latency    {params['latency_spans_per_request']}-span requests "
          f"({sizes['small'] / 1e3:.0f} KB), {params['latency_requests']} paced open loop "
          f"at half of A's throughput (+{params['latency_warmup']} discarded first)")
    print()


# --- saturation ---------------------------------------------------------------------


def _k(spans_per_second: float) -> str:
    return f"{spans_per_second / 1000:.1f} k"


def _cores(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def print_rep(r: dict) -> None:
    seconds = r["window"]
    check = "ok" if _delivered_ok(r) else "MISMATCH"
    if r.get("workers", 1) > 1:  # shards: one sink request per worker, so spans are counted
        delivery = f"sink got {r['delivered_spans']} spans of {r['ok_total']} requests ({check})"
    else:
        delivery = f"sink got {r['delivered']}/{r['ok_total']} trace requests ({check})"
    print(f"  {r['config']} rep {r['rep']}: {_k(r['spans_per_second'])} spans/s "
          f"({r['ok_window'] / seconds:.0f} req/s), refused {r['refused']}, "
          f"errors {sum(r['errors'].values())}, cores: processor {_cores(r['processor_cores'])} "
          f"client {r['client_cores']:.2f} sink {r['sink_cores']:.2f}; {delivery}, "
          f"{r['alert_requests']} alert log requests")
    sys.stdout.flush()


def _delivered_ok(r: dict) -> bool:
    return r.get("delivered_ok", r["delivered"] == r["ok_total"])


def _median_range(values: list[float], fmt) -> str:
    if not values:
        return "n/a"
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def _config_summary(reps: list[dict]) -> dict:
    rates = [r["spans_per_second"] for r in reps]
    cores = [r["processor_cores"] for r in reps if r["processor_cores"] is not None]
    return {
        "spans_per_second_median": statistics.median(rates), "spans_per_second_min": min(rates),
        "spans_per_second_max": max(rates), "reps": len(reps),
        "refused": sum(r["refused"] for r in reps),
        "errors": sum(sum(r["errors"].values()) for r in reps),
        "processor_cores_median": statistics.median(cores) if cores else None,
        "client_cores_median": statistics.median(r["client_cores"] for r in reps),
        "sink_cores_median": statistics.median(r["sink_cores"] for r in reps),
        "delivered_ok": sum(_delivered_ok(r) for r in reps),
    }


def print_results(figures: dict) -> dict:
    """The result table and the A/B ratio; returns the same figures for the JSON."""
    by_config = {name: [r for r in figures["reps"] if r["config"] == name] for name in NAMES}
    summary = {name: _config_summary(reps) for name, reps in by_config.items() if reps}
    print(f"\n{'config':<28} {'spans/s median (min–max)':<26} {'refused':>7} {'errors':>6} "
          f"{'proc cores':>10} {'client':>6} {'sink':>5}  nothing lost")
    for name, s in summary.items():
        rates = [r["spans_per_second"] for r in by_config[name]]
        print(f"{NAMES[name]:<28} {_median_range(rates, _k):<26} {s['refused']:>7} "
              f"{s['errors']:>6} {_cores(s['processor_cores_median']):>10} "
              f"{s['client_cores_median']:>6.2f} {s['sink_cores_median']:>5.2f}  "
              f"{s['delivered_ok']}/{s['reps']} reps")
    if "A" in summary and "B" in summary:
        pairs = [a["spans_per_second"] / b["spans_per_second"]
                 for a, b in zip(by_config["A"], by_config["B"]) if b["spans_per_second"]]
        ratio = summary["A"]["spans_per_second_median"] / summary["B"]["spans_per_second_median"]
        summary["ratio_on_off"] = ratio
        summary["ratio_on_off_pairs"] = pairs
        print(f"\nratio B→A (detectors on / detectors off): {ratio:.2f}× of medians; "
              f"per interleaved pair {_median_range(pairs, lambda x: f'{x:.2f}×')}")
        per_span_on, per_span_off = (1e6 / summary[name]["spans_per_second_median"]
                                     for name in ("A", "B"))
        print(f"per span (from the medians): {per_span_off:.1f} µs pass-through, "
              f"+{per_span_on - per_span_off:.1f} µs with the detectors on")
    return summary


def print_errors(errors: list[str]) -> None:
    if errors:
        print(f"\nERRORS ({len(errors)}):")
        for error in errors:
            print(f"  - {error}")


# --- latency ------------------------------------------------------------------------


def _percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def latency_summary(sends: list[tuple[bytes, float]], arrivals: dict[bytes, float]) -> dict:
    """Milliseconds from client send to sink arrival, per request key."""
    latencies = sorted((arrivals[key] - sent) * 1000 for key, sent in sends if key in arrivals)
    summary = {"measured": len(latencies), "missing": len(sends) - len(latencies)}
    if latencies:
        summary |= {f"p{p}_ms": _percentile(latencies, p) for p in (50, 90, 99)}
        summary |= {"max_ms": latencies[-1], "mean_ms": statistics.fmean(latencies)}
    return summary


def print_latency(latency: dict | None) -> None:
    if latency is None:
        print("\nlatency: skipped (no throughput measured for A)")
        return
    print(f"\nadded latency: {latency['requests']} requests of {latency['spans_per_request']} "
          f"spans at {latency['rate_requests']:.0f} req/s ({_k(latency['rate_spans'])} spans/s, "
          f"half of A), open loop; client send → sink arrival, ms")
    print(f"{'path':<28} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}  missing")
    for name, label in (("direct", "direct client → sink"),
                        ("processor", "through the processor (A)")):
        s = latency[name]
        cells = " ".join(f"{s.get(k, float('nan')):>7.2f}"
                         for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms"))
        print(f"{label:<28} {cells}  {s['missing']}")
    via, direct = latency["processor"], latency["direct"]
    if "p50_ms" in via and "p50_ms" in direct:
        latency["added_p50_ms"] = via["p50_ms"] - direct["p50_ms"]
        latency["added_p99_ms"] = via["p99_ms"] - direct["p99_ms"]
        print(f"added by the processor: p50 +{latency['added_p50_ms']:.2f} ms, "
              f"p99 +{latency['added_p99_ms']:.2f} ms")


# --- targets of the performance issue ----------------------------------------------


def print_target(label: str, measured: str, met: bool | None) -> dict:
    """One line: the target, what was measured, met / MISSED (or n/a when not measured)."""
    verdict = "n/a" if met is None else ("met" if met else "MISSED")
    print(f"  {label:<58} {measured:<28} {verdict}")
    return {"target": label, "measured": measured, "met": met}


def print_throughput_targets(summary: dict, latency: dict | None, workers: int = 1) -> list[dict]:
    """The issue's single-worker throughput and latency targets against this run."""
    print(f"\ntargets (performance issue), processor.workers: {workers}"
          + (" (the throughput target is for one worker)" if workers > 1 else "") + ":")
    out = []
    a = summary.get("A", {}).get("spans_per_second_median")
    out.append(print_target(">= 25,000 spans/s, every default detector on",
                            _k(a) + " spans/s" if a else "not measured",
                            a >= 25_000 if a else None))
    ratio = summary.get("ratio_on_off")
    out.append(print_target(">= 30 % of the detectors-off throughput (same run)",
                            f"{ratio:.0%}" if ratio else "not measured",
                            ratio >= 0.30 if ratio else None))
    p50 = latency.get("added_p50_ms") if latency else None
    p99 = latency.get("added_p99_ms") if latency else None
    out.append(print_target("added latency p50 < 3 ms (64-span requests, half load)",
                            f"+{p50:.2f} ms" if p50 is not None else "not measured",
                            p50 < 3 if p50 is not None else None))
    out.append(print_target("added latency p99 < 10 ms (64-span requests, half load)",
                            f"+{p99:.2f} ms" if p99 is not None else "not measured",
                            p99 < 10 if p99 is not None else None))
    return out
