"""Reliability figures for the README: overload, downstream outage, kill -9 with the disk queue.

Processes as in `throughput.py`: `otel-ai-detect serve` as a subprocess
(`_bench_procs.Processor`), the sink (`_rel_sink.py`: raw gRPC, can be slow or
down) and the load client (`_bench_load.py`: N sender threads, refusals retried
after the server's RetryInfo hint) in their own processes. Every trace request
carries a fresh first trace id, so the sink tells unique deliveries from
duplicates; lost = accepted (OK answers) - unique delivered.

  a  overload: capacity C (requests/s) is measured with a fast sink; then the sink
     is slowed to take C/3 and C/6 requests/s while the senders push as fast as
     they are let: accepted spans/s, refused requests, processor RSS (VmRSS every
     100 ms; VmHWM at the end), lost once drained;
  b  outage: the sink goes down for 3 s mid-run and comes back on the same port;
  c  kill -9: `sending_queue.storage_dir`, sink down, requests accepted, SIGKILL,
     sink up, restart on the same directory: accepted before vs delivered after.

    .venv/bin/python benchmarks/reliability.py          # ~90 s on 2 vCPUs
    .venv/bin/python benchmarks/reliability.py --quick  # smoke run, ~35 s

Exit status 1 on errors (lost spans, RPC errors other than refusals, a dead processor).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

import yaml

from _bench_load import run_client
from _bench_procs import MALLOC_ENV, Client, Helper, Processor, free_port
from _bench_report import machine_info
from _rel_sink import run_rel_sink

SPANS = 512  # per request (genai_traffic: 1-2 KB prompts, ~1 KB completions)
CONSUMERS = 2  # the exporter's default num_consumers: the sink's delay sets the pace with it
# Small enough that a few seconds of overload fill it (at the default 1,000 a 10 s window
# would never see a refusal); memory bound of the queue: QUEUE_SIZE x request size.
QUEUE_SIZE = 10
RPC_TIMEOUT = 30.0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=10.0, help="seconds per overload level")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s windows")
    args = parser.parse_args(argv)
    if args.quick:
        args.window = 3.0
    return args


def _status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process in bytes ({} once it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) * 1024 for k, v in (l.split(":", 1) for l in lines)
            if k in ("VmRSS", "VmHWM")}


class Run:
    def __init__(self, args, workdir: Path) -> None:
        self.args, self.workdir, self.errors = args, workdir, []
        self.sink = Helper("sink", run_rel_sink)
        self.client = Client("load-client", run_client)
        self.sink_port = self.sink.call("port")
        self.request_bytes = self.client.call("pools", {"big": (8, SPANS, 0.03, 1)}, timeout=300)
        self.processor: Processor | None = None

    def start_processor(self, name: str, port: int = 0, storage: Path | None = None) -> Processor:
        port = port or free_port()
        queue = {"num_consumers": CONSUMERS, "queue_size": QUEUE_SIZE}
        if storage is not None:
            queue["storage_dir"] = str(storage)
        config = {
            "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{port}"}}}},
            "exporters": {"otlp": {"endpoint": f"127.0.0.1:{self.sink_port}", "protocol": "grpc",
                                   "tls": {"insecure": True}, "compression": "none",
                                   "sending_queue": queue}},
            "service": {"telemetry": {"logs": {"level": "warn"},
                                      "metrics": {"endpoint": "127.0.0.1:0"}}},
        }
        path = self.workdir / f"config-{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.processor = Processor(path, port, self.workdir / f"processor-{name}.log")
        self.processor.wait_ready()
        return self.processor

    def load(self, port: int, seconds: float, during=None) -> dict:
        """Saturate `port` for `seconds`; `during(t0)` runs meanwhile in this process."""
        t0 = time.monotonic() + 0.2
        self.client.send("saturate", "big", port, self.args.senders, t0, t0 + seconds, RPC_TIMEOUT)
        extra = during(t0) if during else None
        load = self.client.receive(seconds + RPC_TIMEOUT + 20)
        if load["errors"] or load["stuck_senders"]:
            self.errors.append(f"RPC errors {load['errors']} ({load['first_error']}), "
                               f"{load['stuck_senders']} stuck senders")
        return {**load, "extra": extra}

    def delivered(self, accepted: int, timeout: float = 60.0) -> tuple[int, int]:
        """Wait until the sink has `accepted` distinct requests; (recorded, distinct)."""
        end = time.monotonic() + timeout
        while (got := self.sink.call("unique"))[1] < accepted and time.monotonic() < end:
            time.sleep(0.1)
        return got

    def finish(self, name: str, accepted: int) -> dict:
        recorded, unique = self.delivered(accepted)
        code = self.processor.stop()
        if code != 0:
            self.errors.append(f"{name}: processor exit {code}\n{self.processor.log_tail()}")
        lost = accepted - unique
        if lost:
            self.errors.append(f"{name}: {lost} accepted requests never delivered")
        return {"accepted": accepted, "recorded": recorded, "unique": unique, "lost": lost,
                "duplicates": recorded - unique}

    # --- phases ------------------------------------------------------------------------
    def capacity(self) -> float:
        self.sink.call("reset")
        self.sink.call("delay", 0.0)
        processor = self.start_processor("capacity")
        load = self.load(processor.port, self.args.window / 2)
        self.finish("capacity", load["ok_total"])
        return load["ok_total"] / (self.args.window / 2)

    def overload(self, factor: int, capacity: float) -> dict:
        self.sink.call("reset")
        self.sink.call("delay", CONSUMERS * factor / capacity)  # the sink takes capacity/factor
        processor = self.start_processor(f"overload{factor}")
        pid, samples = processor.process.pid, []

        def sample(t0: float) -> None:  # VmRSS every 100 ms over the window
            while time.monotonic() < t0 + self.args.window:
                samples.append(_status(pid).get("VmRSS", 0))
                time.sleep(0.1)

        load = self.load(processor.port, self.args.window, sample)
        hwm = _status(pid).get("VmHWM", 0)
        self.sink.call("delay", 0.0)  # drain fast; the figures above are from the slow window
        result = self.finish(f"overload x{factor}", load["ok_total"])
        return {**result, "factor": factor, "refused": load["refused"],
                "spans_per_s": load["ok_window"] * SPANS / self.args.window,
                "max_rss": max(samples, default=0), "hwm": hwm}

    def outage(self) -> dict:
        self.sink.call("reset")
        processor = self.start_processor("outage")

        def cut(t0: float) -> None:  # down at 1/3 of the run for 3 s, then back
            time.sleep(max(0.0, t0 + 2.0 - time.monotonic()))
            self.sink.call("down")
            time.sleep(3.0)
            self.sink.call("up")

        load = self.load(processor.port, 8.0, cut)
        return {**self.finish("outage", load["ok_total"]), "refused": load["refused"]}

    def kill9(self) -> dict:
        self.sink.call("reset")
        self.sink.call("down")  # nothing leaves: everything accepted waits on disk
        storage = self.workdir / "queue"
        port = free_port()
        processor = self.start_processor("kill9", port, storage)
        load = self.load(port, 3.0)
        processor.process.send_signal(signal.SIGKILL)
        processor.process.wait(10)
        self.sink.call("up")
        self.start_processor("kill9-restart", port, storage)
        result = self.finish("kill -9", load["ok_total"])
        return {**result, "refused": load["refused"]}

    def close(self) -> None:
        if self.processor is not None:
            self.processor.stop()
        for helper in (self.client, self.sink):
            helper.stop()


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    started, info = time.monotonic(), machine_info(False)
    with tempfile.TemporaryDirectory(prefix="otel-ai-detect-rel-") as workdir:
        run = Run(args, Path(workdir))
        try:
            print("otel-ai-detect reliability (overload, outage, kill -9) over OTLP/gRPC")
            print(f"date       {info['date']}   commit {info['commit']}")
            print(f"machine    {info['cpu']}, {info['cores']} cores, {info['memory_gib']:.0f} GiB,"
                  f" Linux {info['kernel']}, load "
                  + ", ".join(f"{x:.2f}" for x in info["load_average"]))
            print(f"software   Python {info['python']}, grpcio {info['grpcio']}, protobuf "
                  f"{info['protobuf']} ({info['protobuf_backend']}), otel-ai-detect "
                  f"{info['otel-ai-detect']}")
            print(f"traffic    {SPANS}-span requests ({run.request_bytes['big'] / 1e6:.2f} MB), "
                  f"{args.senders} senders retrying after RetryInfo; exporter grpc, "
                  f"{CONSUMERS} consumers, queue_size {QUEUE_SIZE}; malloc env "
                  + " ".join(f"{k}={v}" for k, v in MALLOC_ENV.items()))
            capacity = run.capacity()
            print(f"\ncapacity (fast sink): {capacity:.1f} requests/s = "
                  f"{capacity * SPANS / 1000:.1f} k spans/s\n")
            print("a) overload, sink slowed to capacity/x, "
                  f"{args.window:g} s window per level")
            for factor in (3, 6):
                r = run.overload(factor, capacity)
                print(f"   x{factor}: accepted {r['spans_per_s'] / 1000:.1f} k spans/s, "
                      f"{r['refused']} requests refused (retried), max RSS "
                      f"{r['max_rss'] / 2**20:.0f} MiB (VmHWM {r['hwm'] / 2**20:.0f} MiB); "
                      f"{r['accepted'] * SPANS} spans accepted, {r['unique'] * SPANS} "
                      f"delivered, lost {r['lost'] * SPANS}, duplicated {r['duplicates'] * SPANS}")
            r = run.outage()
            print(f"b) outage (sink down 3 s of 8 s): {r['accepted'] * SPANS} spans accepted, "
                  f"{r['unique'] * SPANS} delivered, lost {r['lost'] * SPANS}, duplicated "
                  f"{r['duplicates'] * SPANS}; {r['refused']} requests refused (retried)")
            r = run.kill9()
            print(f"c) kill -9 with storage_dir: {r['accepted'] * SPANS} spans accepted before "
                  f"the kill, {r['unique'] * SPANS} delivered after the restart, lost "
                  f"{r['lost'] * SPANS}, duplicated {r['duplicates'] * SPANS}")
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except Exception as error:
            print(f"\nerror: {error}", file=sys.stderr)
            return 1
        finally:
            run.close()
    for error in run.errors:
        print(f"ERROR: {error}")
    print(f"\nrun time {time.monotonic() - started:.0f} s")
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
