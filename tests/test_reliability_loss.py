"""Zero loss through the in-memory queue while the downstream goes away and comes back.

A sender keeps sending while the sink is stopped and restarted on the same
ports. The service queues what it can, refuses the rest (UNAVAILABLE +
RetryInfo) and the sender retries refused requests after the hinted delay, as
an OTLP SDK does. Every span sent must arrive. Delivery is at-least-once: an
RPC cut by the sink's stop may have been recorded before its answer was lost,
so the exporter's retry can duplicate it; duplicates are counted, not lost.
"""

from __future__ import annotations

import threading
from collections import Counter

import grpc
import pytest

from otel_ai_detect.config_types import QueueConfig, RetryConfig
from otel_ai_detect.exporters.base import GRPC_METHODS
from otel_ai_detect.exporters.otlp_grpc import retry_delay
from otel_ai_detect.testing import genai_span, traces_request

SMALL_QUEUE = QueueConfig(num_consumers=2, queue_size=4)  # fills fast: refusals are exercised
KEEP_TRYING = RetryConfig(initial_interval=0.02, max_interval=0.1, max_elapsed_time=0)


class Sender:
    """A gRPC OTLP client that retries a refused request after the server's RetryInfo delay."""

    def __init__(self, port: int, requests: int, spans_per_request: int) -> None:
        self.port, self.requests, self.per_request = port, requests, spans_per_request
        self.accepted: list[bytes] = []  # span ids the service answered OK for
        self.attempts = self.refusals = 0
        self.refused = threading.Event()  # set at the first refusal
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sender", daemon=True)

    def _run(self) -> None:
        try:
            with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
                export = channel.unary_unary(GRPC_METHODS["traces"])
                for _ in range(self.requests):
                    request = traces_request(*[genai_span() for _ in range(self.per_request)])
                    self._send(export, request)
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.error = exc

    def _send(self, export, request) -> None:
        ids = [s.span_id for ss in request.resource_spans[0].scope_spans for s in ss.spans]
        payload = request.SerializeToString()
        while not self._stop.is_set():
            self.attempts += 1
            try:
                export(payload, timeout=5)
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error
                self.refusals += 1
                self.refused.set()
                delay = retry_delay(error)
                assert delay is not None, "a refusal without RetryInfo"
                self._stop.wait(delay)  # the server's hint, as the SDK obeys it
                continue
            self.accepted.extend(ids)
            return

    def stop(self) -> None:
        self._stop.set()



# Both exporters: `Sink.stop()` also cuts open HTTP keep-alive connections, so the HTTP
# exporter sees the downstream go away (connection errors, retried) as the gRPC one does.
@pytest.mark.parametrize("exporter_protocol", ["grpc", "http/protobuf"])
def test_no_span_is_lost_while_the_downstream_goes_away_and_returns(
    make_service, sink, exporter_protocol
):
    service = make_service(
        exporter_protocol, sending_queue=SMALL_QUEUE, retry_on_failure=KEEP_TRYING,
        refused_retry_after=0.05,
    )
    sender = Sender(service.grpc_port, requests=60, spans_per_request=5)
    sender.thread.start()
    try:
        assert sink.wait_for(lambda: len(sink.spans()) >= 20, 10), "nothing arrived before"
        sink.stop()  # the downstream goes away mid-stream
        assert sender.refused.wait(10), "the queue never filled up"
        sink.start()  # and comes back on the same ports
        sender.thread.join(15)
        assert not sender.thread.is_alive(), "the sender did not finish"
    finally:
        sender.stop()
    assert sender.error is None, sender.error

    sent = 60 * 5
    assert len(sender.accepted) == len(set(sender.accepted)) == sent
    assert sink.wait_for(lambda: set(sender.accepted) <= {s.span_id for s in sink.spans()}, 10)
    assert service.shutdown(deadline=5)
    received = Counter(s.span_id for s in sink.spans())
    lost = set(sender.accepted) - set(received)
    duplicates = sum(n - 1 for n in received.values())
    print(
        f"{exporter_protocol}: sent {sent} spans in {sender.attempts} attempts "
        f"({sender.refusals} refused and retried); received {sum(received.values())}, "
        f"lost {len(lost)}, duplicates {duplicates}"
    )
    assert not lost
    assert set(received) == set(sender.accepted)  # nothing that was not sent
    assert sender.refusals == service.stats.get("traces", "refused") // 5
    assert service.stats.get("traces", "exported") == sent
    assert service.stats.get("traces", "dropped") == 0
    # The exporter did see the downstream go away (failed attempts, retried), over either protocol.
    assert service.stats.get("traces", "failed") > 0
