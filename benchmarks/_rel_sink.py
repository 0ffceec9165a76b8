"""The downstream sink of `reliability.py`: `_bench_sink` plus slowness and outages.

Same raw-bytes gRPC handlers and counters as `_bench_sink` (in latency mode, so
every trace request is keyed by its first span's trace id: the load client
stamps a fresh one per request, which tells unique deliveries from duplicates).
Added commands: ("delay", seconds) holds every request that long before it is
recorded (a slow downstream: with 2 export consumers it takes 2/delay requests
per second); ("down",) stops the server, ("up",) serves again on the same port.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

from _bench_sink import SinkState, _answer, _handlers, start_server


class SlowState(SinkState):
    delay = 0.0

    def record(self, signal_name: str, raw: bytes) -> None:
        if self.delay:
            time.sleep(self.delay)  # a slow downstream: the exporter's RPC waits for it
        super().record(signal_name, raw)


def _serve_on(state: SinkState, port: int) -> grpc.server:
    # Same port after an outage: the processor's exporter reconnects to what it knew.
    server = grpc.server(
        ThreadPoolExecutor(8),
        options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    server.add_generic_rpc_handlers(_handlers(state))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


def run_rel_sink(conn) -> None:
    """Process entry point: serve until ("stop",) or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns the lifecycle
    state = SlowState()
    state.latency_mode = True
    server, port = start_server(state, threads=8)
    try:
        while True:
            try:
                command, *args = conn.recv()
            except EOFError:
                return
            if command == "stop":
                conn.send(None)
                return
            if command == "delay":
                state.delay = float(args[0])
                conn.send(None)
            elif command == "down":
                if server is not None:
                    server.stop(0).wait(5)
                server = None
                conn.send(None)
            elif command == "up":
                server = server or _serve_on(state, port)
                conn.send(None)
            elif command == "unique":  # (requests recorded, distinct first trace ids)
                with state.cond:
                    conn.send((state.requests["traces"], len(state.arrivals)))
            else:
                conn.send(_answer(state, port, command, args))
    finally:
        if server is not None:
            server.stop(0)
