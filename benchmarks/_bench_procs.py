"""The processes `throughput.py` starts: the processor under test and the helpers.

`Processor` runs one `otel-ai-detect serve` subprocess from a config written
here (`write_config`: the gRPC receiver on a free port, the `otlp` exporter to
the sink, and for config B every detector of `DetectorsConfig` disabled).
`Helper` runs the sink or the load client as a multiprocessing child that
answers commands over a pipe. Every wait is bounded; every `stop()` is safe to
call at any time.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import yaml

from otel_ai_detect.config import load_config
from otel_ai_detect.config_types import DetectorsConfig

try:  # optional: processor CPU figures
    import psutil
except ImportError:
    psutil = None

# reference/performance-facts.md: glibc otherwise returns large buffers to the OS on
# every request and serializing gets ~4x slower; two arenas keep RSS lower (memory.py).
# The processor ships with these (Makefile, Dockerfile).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "67108864", "MALLOC_TRIM_THRESHOLD_": "268435456",
              "MALLOC_TOP_PAD_": "67108864", "MALLOC_ARENA_MAX": "2"}


# --- helper processes ----------------------------------------------------------------


class Helper:
    """A multiprocessing child answering commands over a pipe, with bounded waits."""

    def __init__(self, name: str, target) -> None:
        context = multiprocessing.get_context("spawn")  # no forked grpc state
        self.name = name
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=target, args=(child_conn,), name=name, daemon=True)
        self.process.start()
        child_conn.close()

    def send(self, *command) -> None:
        self.conn.send(command)

    def receive(self, timeout: float):
        if not self.conn.poll(timeout):
            raise RuntimeError(f"{self.name}: no answer in {timeout:g}s")
        return self.conn.recv()

    def call(self, *command, timeout: float = 60.0):
        self.send(*command)
        return self.receive(timeout)

    def stop(self) -> None:
        try:
            self.call("stop", timeout=2.0)
        except Exception:  # already gone, or busy with a load run: terminated below
            pass
        self.process.join(2.0)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5.0)


class Client(Helper):
    """The load client answers ("ok", value) or ("error", message)."""

    def receive(self, timeout: float):
        status, value = super().receive(timeout)
        if status != "ok":
            raise RuntimeError(f"load client: {value}")
        return value


def start_sink_and_client(pools: dict, *, count_spans: bool = False
                          ) -> tuple[Helper, Client, int, dict]:
    """The sink and load-client processes every benchmark runs, the client's request pools
    built (`pools`: name -> (count, spans, finding rate, seed)); their request sizes."""
    from _bench_load import run_client  # here: the helpers import nothing of this module
    from _bench_sink import run_sink

    sink = Helper("sink", run_sink)
    client = Client("load-client", run_client)
    sink_port = sink.call("port")
    if count_spans:
        sink.call("spans", True)
    return sink, client, sink_port, client.call("pools", pools, timeout=300.0)


# --- the processor under test -----------------------------------------------------------


def free_port() -> int:
    # The port is free when we look; the processor binds it a moment later (small race).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _merge(base: dict, extra: dict) -> dict:
    """`extra` over `base`, mappings merged key by key (lists and scalars replaced)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def write_config(directory: Path, name: str, receiver_port: int, sink_port: int,
                 metrics_port: int = 0, extra: dict | None = None) -> Path:
    """Config `name` ("B": every detector off); `metrics_port` 0: any free port (not known
    to the caller); `extra` is merged over the result (e.g. feeds, `intel.cache_dir`)."""
    config = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{receiver_port}"}}}},
        "exporters": {"otlp": {"endpoint": f"127.0.0.1:{sink_port}", "protocol": "grpc",
                               "tls": {"insecure": True}, "compression": "none"}},
        "service": {"telemetry": {"logs": {"level": "warn"},
                                  "metrics": {"endpoint": f"127.0.0.1:{metrics_port}"}}},
    }
    if name == "B":  # every detector the config knows, so new detectors are covered too
        config["detectors"] = {f.name: {"enabled": False}
                               for f in dataclasses.fields(DetectorsConfig)}
    if extra:
        _merge(config, extra)
    path = directory / f"config-{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    load_config(path, env={})  # fail here, with the key path, rather than in the subprocess
    return path


def detector_names() -> list[str]:
    return [f.name for f in dataclasses.fields(DetectorsConfig)]


class Processor:
    """One `otel-ai-detect serve` subprocess; `stop()` is safe to call any time."""

    def __init__(self, config: Path, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        cli = Path(sys.executable).with_name("otel-ai-detect")
        command = ([str(cli)] if cli.exists() else [sys.executable, "-m", "otel_ai_detect.cli"])
        # No OTEL_EXPORTER_OTLP_* from our environment: the file alone configures it.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | MALLOC_ENV
        with open(log_path, "ab") as log:
            # Own session: a Ctrl-C in the terminal reaches us, and we stop it in order.
            self.process = subprocess.Popen(
                [*command, "serve", "--config", str(config), "--shutdown-timeout", "15"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Connect to the receiver; fail early if the process exits first."""
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            ready = grpc.channel_ready_future(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"processor exited with {self.process.returncode}"
                                       f" before it was ready\n{self.log_tail()}")
                try:
                    ready.result(timeout=0.25)
                    return
                except grpc.FutureTimeoutError:
                    continue
        raise RuntimeError(f"processor not ready on port {self.port} in {timeout:g}s")

    def cpu_seconds(self) -> float | None:
        if psutil is None:
            return None
        try:
            process = psutil.Process(self.process.pid)
            total = sum(process.cpu_times()[:2])
            for child in process.children(recursive=True):  # `processor.workers` > 1
                try:
                    total += sum(child.cpu_times()[:2])
                except psutil.Error:
                    pass
            return total
        except psutil.Error:
            return None

    def rss(self) -> int | None:
        """Resident bytes of the processor and all its children (psutil), None once gone."""
        if psutil is None:
            return None
        try:
            process = psutil.Process(self.process.pid)
            total = process.memory_info().rss
            for child in process.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:  # a child that just exited
                    pass
            return total
        except psutil.Error:
            return None

    def stop(self) -> int | None:
        """SIGTERM (drains the queue), then SIGKILL if it will not go; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5.0)
        return self.process.returncode

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
