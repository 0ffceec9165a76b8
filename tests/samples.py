"""Load the captured OTLP/JSON samples in tests/testdata/samples into protobuf,
and build small spans / log records by hand for table tests.

OTLP/JSON writes traceId/spanId as hex, while protobuf's JSON parser expects
base64 for bytes fields; `load` parses with `otel_ai_detect.otlp_json`, which
converts them, so the ids match the hex trace ids of the *.scenarios.json files.

Test modules import it as `from samples import ...` (tests/ has no __init__.py,
so pytest puts tests/ itself on sys.path).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_ai_detect import otlp_json

SAMPLES_DIR = Path(__file__).parent / "testdata" / "samples"


def sample_names(signal: str) -> list[str]:
    """File names of every sample of a signal ("traces" or "logs"), sorted."""
    return sorted(p.name for p in SAMPLES_DIR.glob(f"*.{signal}.otlp.json"))


def _parse(name: str):
    doc = json.loads((SAMPLES_DIR / name).read_text(encoding="utf-8"))
    message = ExportTraceServiceRequest() if ".traces." in name else ExportLogsServiceRequest()
    return otlp_json.parse_dict(doc, message)


@cache
def _cached_bytes(name: str) -> bytes:
    return _parse(name).SerializeToString()


def load(name: str) -> ExportTraceServiceRequest | ExportLogsServiceRequest:
    """A fresh request message for a sample file name (callers may mutate it)."""
    message = ExportTraceServiceRequest() if ".traces." in name else ExportLogsServiceRequest()
    message.ParseFromString(_cached_bytes(name))
    return message


def prefix(name: str) -> str:
    """The sample's prefix: the file name without `.traces.otlp.json` / `.logs.otlp.json`."""
    return name.split(".traces.")[0].split(".logs.")[0]


def scenarios(name: str) -> dict[bytes, str]:
    """trace id -> scenario name, from the sample's *.scenarios.json (empty when none)."""
    path = SAMPLES_DIR / f"{prefix(name)}.scenarios.json"
    if not path.exists():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {bytes.fromhex(s["trace_id"]): scen for scen, s in doc["scenarios"].items()}


def spans(request: ExportTraceServiceRequest) -> Iterator[Span]:
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            yield from scope_spans.spans


def log_records(request: ExportLogsServiceRequest) -> list[LogRecord]:
    """Every log record of the request, in order."""
    return [record for resource_logs in request.resource_logs
            for scope_logs in resource_logs.scope_logs for record in scope_logs.log_records]


# --- builders ------------------------------------------------------------------

def any_value(value: object) -> AnyValue:
    """A Python value as an OTLP AnyValue (dict -> kvlist, list -> array)."""
    out = AnyValue()
    fill(out, value)
    return out


def fill(out: AnyValue, value: object) -> None:
    """Set ``out`` to ``value`` in place (no copies: deep values stay buildable)."""
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, dict):
        out.kvlist_value.SetInParent()
        add_attributes(out.kvlist_value.values, value)
    elif isinstance(value, (list, tuple)):
        out.array_value.SetInParent()
        for item in value:
            fill(out.array_value.values.add(), item)


def add_attributes(target, values: dict[str, object]) -> None:
    """Append ``values`` to a repeated KeyValue field (span, event or record attributes)."""
    for key, value in values.items():
        fill(target.add(key=key).value, value)


def make_span(attrs: dict[str, object] | None = None, *, kind: int = Span.SPAN_KIND_CLIENT,
              events: list[tuple[str, dict[str, object]]] = (), status: tuple[int, str] | None = None,
              name: str = "span", trace_id: bytes = b"\x01" * 16,
              span_id: bytes = b"\x02" * 8) -> Span:
    span = Span(name=name, kind=kind, trace_id=trace_id, span_id=span_id)
    add_attributes(span.attributes, attrs or {})
    for event_name, event_attrs in events:
        add_attributes(span.events.add(name=event_name).attributes, event_attrs)
    if status is not None:
        span.status.CopyFrom(Status(code=status[0], message=status[1]))
    return span


def make_record(event_name: str = "", attrs: dict[str, object] | None = None, *,
                body: object = None, trace_id: bytes = b"\x01" * 16,
                span_id: bytes = b"\x02" * 8) -> LogRecord:
    record = LogRecord(event_name=event_name, trace_id=trace_id, span_id=span_id)
    add_attributes(record.attributes, attrs or {})
    if body is not None:
        fill(record.body, body)
    return record
