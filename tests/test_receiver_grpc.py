"""The OTLP/gRPC receiver, fed by the real OpenTelemetry SDK and by raw gRPC calls."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2
from grpc_status import rpc_status
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from sdk_helpers import (
    assert_sdk_logs_arrived,
    assert_sdk_spans_arrived,
    send_sdk_logs,
    send_sdk_spans,
)

from otel_ai_detect.exporters.base import GRPC_METHODS
from otel_ai_detect.testing import genai_span, metrics_request, traces_request


def raw_call(port: int, signal: str):
    """A multicallable that sends bytes as they are (no client-side serialization)."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return channel, channel.unary_unary(
        GRPC_METHODS[signal], request_serializer=None, response_deserializer=None
    )


def test_spans_from_the_sdk_grpc_exporter_arrive_unchanged(service, sink):
    sent = send_sdk_spans(
        OTLPSpanExporter(endpoint=f"127.0.0.1:{service.grpc_port}", insecure=True)
    )
    assert_sdk_spans_arrived(sent, sink)


def test_log_records_from_the_sdk_grpc_exporter_arrive_unchanged(service, sink):
    sent = send_sdk_logs(OTLPLogExporter(endpoint=f"127.0.0.1:{service.grpc_port}", insecure=True))
    assert_sdk_logs_arrived(sent, sink)


def test_metrics_pass_through_byte_for_byte(service, sink):
    request = metrics_request("queue.depth", values=[5, 7, 11])
    channel, call = raw_call(service.grpc_port, "metrics")
    with channel:
        call(request.SerializeToString(), timeout=5)
    assert sink.wait_for(lambda: len(sink.messages("metrics")) == 1, 5)
    assert sink.messages("metrics")[0] == request
    assert service.stats.get("metrics", "received") == 3


def test_garbage_bytes_are_invalid_argument_with_a_reason(service, sink):
    channel, call = raw_call(service.grpc_port, "traces")
    with channel, pytest.raises(grpc.RpcError) as caught:
        call(b"\xff\xff\xff\xff not protobuf", timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ExportTraceServiceRequest" in caught.value.details()
    assert service.stats.get("traces", "received") == 0


def test_a_message_over_max_recv_msg_size_is_resource_exhausted(make_service, sink):
    service = make_service(max_recv_msg_size_mib=0.01)  # ~10 KiB
    big = traces_request(genai_span(user="x" * 20_000))
    channel, call = raw_call(service.grpc_port, "traces")
    with channel, pytest.raises(grpc.RpcError) as caught:
        call(big.SerializeToString(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    small = traces_request(genai_span())
    with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        channel.unary_unary(GRPC_METHODS["traces"])(small.SerializeToString(), timeout=5)
    assert sink.wait_for(lambda: len(sink.spans()) == 1, 5)


def test_a_full_queue_is_unavailable_with_retry_info(make_service, sink):
    service = make_service(sending_queue=_tiny_queue(), refused_retry_after=2.5)
    sink.stall()
    channel, call = raw_call(service.grpc_port, "traces")
    with channel:
        call(
            traces_request(genai_span()).SerializeToString(), timeout=5
        )  # taken by the consumer, held by the sink
        assert sink.wait_for(lambda: sink.stalled == 1, 5)
        call(
            traces_request(genai_span()).SerializeToString(), timeout=5
        )  # fills the one queue slot
        with pytest.raises(grpc.RpcError) as caught:
            call(traces_request(genai_span(), genai_span()).SerializeToString(), timeout=5)
    error = caught.value
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    status = rpc_status.from_call(error)
    assert status.code == code_pb2.UNAVAILABLE
    retry_info = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry_info)
    assert retry_info.retry_delay.ToMilliseconds() == 2500
    assert service.stats.get("traces", "refused") == 2
    sink.release()
    assert sink.wait_for(lambda: len(sink.spans()) == 2, 5)  # everything accepted arrives


def _tiny_queue():
    from otel_ai_detect.config_types import QueueConfig

    return QueueConfig(num_consumers=1, queue_size=1)


def test_an_empty_request_is_accepted_and_not_forwarded(service, sink):
    channel, call = raw_call(service.grpc_port, "traces")
    with channel:
        assert call(b"", timeout=5) == b""
    channel, call = raw_call(service.grpc_port, "metrics")
    with channel:
        call(ExportMetricsServiceRequest().SerializeToString(), timeout=5)
    assert service.shutdown(deadline=2.0)
    assert sink.attempts == 0
