"""Shutdown: refuse new data, drain within the deadline, account for what could not be sent."""

from __future__ import annotations

import logging
import time

import grpc

from otel_ai_detect.config_types import QueueConfig, RetryConfig
from otel_ai_detect.exporters.base import GRPC_METHODS
from otel_ai_detect.testing import genai_span, traces_request


def send_many(port: int, n: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        export = channel.unary_unary(GRPC_METHODS["traces"])
        for _ in range(n):
            export(traces_request(genai_span()).SerializeToString(), timeout=5)


def test_shutdown_drains_the_queue_within_its_deadline(make_service, sink):
    service = make_service(sending_queue=QueueConfig(num_consumers=1, queue_size=50))
    sink.stall()
    send_many(service.grpc_port, 20)  # 1 held by the sink, 19 queued
    assert sink.wait_for(lambda: sink.stalled == 1, 5)
    assert sink.spans() == []
    sink.release()
    started = time.monotonic()
    assert service.shutdown(deadline=5) is True
    assert time.monotonic() - started < 5
    assert len(sink.spans()) == 20
    assert service.stats.get("traces", "exported") == 20


def test_the_deadline_cuts_a_drain_short_and_counts_what_was_left(make_service, sink, caplog):
    slow = RetryConfig(initial_interval=30.0, max_interval=30.0, max_elapsed_time=0)
    service = make_service(
        sending_queue=QueueConfig(num_consumers=1, queue_size=50), retry_on_failure=slow
    )
    sink.fail_next(1_000_000)
    send_many(service.grpc_port, 5)
    assert sink.wait_for(lambda: sink.attempts >= 1, 5)  # the consumer is in a 30 s backoff
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="otel_ai_detect.service"):
        assert service.shutdown(deadline=0.3) is False
    assert time.monotonic() - started < 3
    assert service.stats.get("traces", "dropped") == 5  # 1 in the backoff + 4 still queued
    assert "dropped 4 traces still queued" in caplog.text
    assert sink.spans() == []


def test_a_stopped_service_refuses_new_connections(service):
    port = service.grpc_port
    service.shutdown(deadline=2)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        export = channel.unary_unary(GRPC_METHODS["traces"])
        try:
            export(traces_request(genai_span()).SerializeToString(), timeout=2)
            raise AssertionError("a stopped service accepted data")
        except grpc.RpcError as error:
            assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def test_a_port_in_use_fails_start_and_leaves_nothing_running(make_service, sink):
    import dataclasses

    from conftest import service_config
    from otel_ai_detect.service import Service

    first = make_service()
    config = service_config(sink)
    taken = dataclasses.replace(config.receiver.http, endpoint=f"127.0.0.1:{first.http_port}")
    config = dataclasses.replace(
        config, receiver=dataclasses.replace(config.receiver, http=taken)
    )
    second = Service(config)
    try:
        second.start()
        raise AssertionError("started on a port in use")
    except OSError:
        pass
    assert all(not t.is_alive() for p in second._pipelines for t in p.consumers)
    with grpc.insecure_channel(f"127.0.0.1:{second.grpc_port}") as channel:
        export = channel.unary_unary(GRPC_METHODS["traces"])
        try:
            export(traces_request(genai_span()).SerializeToString(), timeout=2)
            raise AssertionError("the gRPC receiver of a failed start still answers")
        except grpc.RpcError as error:
            assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
