"""Shared fixtures: a running sink, services wired to it, sample files.

Every server binds 127.0.0.1 port 0. Retry intervals are tiny so that tests
exercising retries stay fast; a test that must prove a server hint is obeyed
sets a large `initial_interval` instead, so only the hint can make it pass.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from otel_ai_detect.config_types import (
    Config,
    DebugExporterConfig,
    ExportersConfig,
    FileExporterConfig,
    GrpcReceiverConfig,
    HttpReceiverConfig,
    OtlpExporterConfig,
    OtlpReceiverConfig,
    QueueConfig,
    RetryConfig,
    TLSClientConfig,
)
from otel_ai_detect.service import Service
from otel_ai_detect.testing import Sink

SAMPLES = Path(__file__).parent / "testdata" / "samples"
FAST_RETRY = RetryConfig(
    initial_interval=0.01,
    max_interval=0.05,
    max_elapsed_time=10.0,
    multiplier=1.5,
    randomization_factor=0.5,
)


def exporter_config(sink: Sink, protocol: str = "grpc", **overrides) -> OtlpExporterConfig:
    """An OTLP exporter aimed at `sink` with fast retries; `overrides` replace fields."""
    endpoint = sink.grpc_endpoint if protocol == "grpc" else sink.http_endpoint
    config = OtlpExporterConfig(
        endpoint=endpoint,
        protocol=protocol,
        tls=TLSClientConfig(insecure=True),
        timeout=5.0,
        retry_on_failure=FAST_RETRY,
        sending_queue=QueueConfig(num_consumers=2, queue_size=100),
    )
    return dataclasses.replace(config, **overrides)


def service_config(
    sink: Sink | None,
    protocol: str = "grpc",
    *,
    max_recv_msg_size_mib: float = 4.0,
    max_request_body_size: int = 4 * 1024 * 1024,
    debug: DebugExporterConfig | None = None,
    file: FileExporterConfig | None = None,
    **exporter_overrides,
) -> Config:
    return Config(
        receiver=OtlpReceiverConfig(
            grpc=GrpcReceiverConfig(
                endpoint="127.0.0.1:0", max_recv_msg_size_mib=max_recv_msg_size_mib
            ),
            http=HttpReceiverConfig(
                endpoint="127.0.0.1:0", max_request_body_size=max_request_body_size
            ),
        ),
        exporters=ExportersConfig(
            otlp=exporter_config(sink, protocol, **exporter_overrides)
            if sink is not None
            else None,
            debug=debug,
            file=file,
        ),
    )


@pytest.fixture
def sink():
    with Sink() as running:
        yield running


@pytest.fixture
def make_service(sink):
    """make_service(protocol, engine=None, **config) -> a started Service sending to `sink`."""
    services: list[Service] = []

    def make(
        protocol: str = "grpc",
        *,
        engine=None,
        refused_retry_after: float = 0.05,
        debug_stream=None,
        **config,
    ) -> Service:
        service = Service(
            service_config(sink, protocol, **config),
            engine=engine,
            refused_retry_after=refused_retry_after,
            debug_stream=debug_stream,
        )
        services.append(service.start())
        return service

    yield make
    sink.release()  # a test that failed while the sink was stalled must not hold the teardown
    for service in services:
        service.shutdown(deadline=2.0)


@pytest.fixture
def service(make_service) -> Service:
    return make_service()
