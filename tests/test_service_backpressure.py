"""Back-pressure end to end: a stuck downstream fills the queue, senders are refused, none lost."""

from __future__ import annotations

import grpc
import pytest

from otel_ai_detect.config_types import QueueConfig, RetryConfig
from otel_ai_detect.exporters.base import GRPC_METHODS
from otel_ai_detect.testing import genai_span, traces_request

TINY = QueueConfig(num_consumers=1, queue_size=1)
KEEP_TRYING = RetryConfig(
    initial_interval=0.01, max_interval=0.02, max_elapsed_time=0
)  # never give up


@pytest.mark.parametrize("exporter_protocol", ["grpc", "http/protobuf"])
def test_everything_accepted_arrives_after_the_downstream_recovers(
    make_service, sink, exporter_protocol
):
    service = make_service(exporter_protocol, sending_queue=TINY, retry_on_failure=KEEP_TRYING)
    sink.fail_next(1_000_000)  # the downstream is down: the consumer keeps retrying its request
    accepted = refused = 0
    with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        export = channel.unary_unary(GRPC_METHODS["traces"])
        for i in range(6):
            request = traces_request(*[genai_span() for _ in range(i + 1)])
            try:
                export(request.SerializeToString(), timeout=5)
                accepted += i + 1
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE
                refused += i + 1
            if i == 0:  # let the consumer take the first request, so the queue slot is free again
                assert sink.wait_for(lambda: sink.attempts >= 1, 5)
    assert refused > 0 and accepted > 0
    assert service.stats.get("traces", "refused") == refused
    sink.recover()
    assert sink.wait_for(lambda: len(sink.spans()) >= accepted, 10)
    assert service.shutdown(deadline=5)
    assert len(sink.spans()) == accepted  # all of them, none twice
    assert service.stats.get("traces", "exported") == accepted
    assert service.stats.get("traces", "dropped") == 0


def test_a_refused_request_never_reaches_the_engine(make_service, sink):
    from otel_ai_detect.config_types import Config
    from otel_ai_detect.engine import Engine

    class CountingEngine(Engine):
        seen: list[int] = []

        def process_traces(self, request):
            self.seen.append(len(request.resource_spans[0].scope_spans[0].spans))
            return super().process_traces(request)

    service = make_service(engine=CountingEngine(Config()), sending_queue=TINY)
    sink.stall()
    with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        export = channel.unary_unary(GRPC_METHODS["traces"])
        export(traces_request(genai_span()).SerializeToString(), timeout=5)
        assert sink.wait_for(lambda: sink.stalled == 1, 5)
        export(traces_request(genai_span(), genai_span()).SerializeToString(), timeout=5)
        with pytest.raises(grpc.RpcError):
            export(
                traces_request(genai_span(), genai_span(), genai_span()).SerializeToString(),
                timeout=5,
            )
    assert CountingEngine.seen == [1, 2]  # the 3-span request was refused before the engine saw it
    sink.release()
