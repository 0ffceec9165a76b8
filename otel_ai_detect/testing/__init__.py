"""Test helpers shipped for users: an in-memory OTLP sink and span/log builders.

    from otel_ai_detect.testing import Sink, genai_span, traces_request

    with Sink() as sink:                       # gRPC + HTTP OTLP server on 127.0.0.1
        ...export to sink.grpc_endpoint / sink.http_endpoint...
        assert sink.wait_for(lambda: len(sink.spans()) == 1)
        sink.fail_next(2, grpc_code=grpc.StatusCode.UNAVAILABLE, retry_after=0.01)

`sink` holds the server, `builders` the data and comparison helpers.
"""

from otel_ai_detect.testing.builders import (
    ANNOTATION_PREFIX,
    any_value,
    attributes,
    genai_span,
    http_server_span,
    is_alert,
    log_record,
    logs_request,
    metrics_request,
    new_id,
    traces_request,
    without_annotations,
)
from otel_ai_detect.testing.sink import Failure, Received, Sink

__all__ = [
    "ANNOTATION_PREFIX",
    "Failure",
    "Received",
    "Sink",
    "any_value",
    "attributes",
    "genai_span",
    "http_server_span",
    "is_alert",
    "log_record",
    "logs_request",
    "metrics_request",
    "new_id",
    "traces_request",
    "without_annotations",
]
