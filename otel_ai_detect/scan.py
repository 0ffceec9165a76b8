"""Offline scan of OTLP/JSON files: the Collector's file exporter output (one
request per line) or a single OTLP/JSON document per file.

Traces and logs go through the same engine as live traffic; metrics lines are
copied through. The annotated requests and the alert records can be written
back out as OTLP/JSON lines, which this command reads again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_ai_detect import otlp_json
from otel_ai_detect.engine import Engine

_KINDS = {"resourceSpans": ExportTraceServiceRequest, "resourceLogs": ExportLogsServiceRequest,
          "resourceMetrics": ExportMetricsServiceRequest}


@dataclass
class ScanResult:
    alerts: list[ExportLogsServiceRequest] = field(default_factory=list)
    spans: int = 0
    log_records: int = 0
    problems: list[str] = field(default_factory=list)


def _documents(path: Path) -> Iterator[tuple[str, dict]]:
    """(where, document) for each OTLP/JSON object in the file."""
    text = path.read_text(encoding="utf-8")
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict):
        yield str(path), whole
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{number}", json.loads(line)
        except ValueError as error:
            yield f"{path}:{number}", {"__error__": f"invalid JSON: {error}"}


def _request(doc: dict):
    for key, cls in _KINDS.items():
        if key in doc:
            return otlp_json.parse_dict(doc, cls())
    raise otlp_json.OtlpJsonError(
        doc.get("__error__") or "not an OTLP/JSON request (no resourceSpans, resourceLogs or "
                                "resourceMetrics)")


def scan_files(paths: list[Path], engine: Engine, output: IO[str] | None = None,
               progress=None) -> ScanResult:
    result = ScanResult()
    for path in paths:
        for where, doc in _documents(path):
            try:
                request = _request(doc)
            except otlp_json.OtlpJsonError as error:
                result.problems.append(f"{where}: {error}")
                continue
            if isinstance(request, ExportTraceServiceRequest):
                processed = engine.process_traces(request)
                result.spans += sum(len(ss.spans) for rs in request.resource_spans
                                    for ss in rs.scope_spans)
            elif isinstance(request, ExportLogsServiceRequest):
                processed = engine.process_logs(request)
                result.log_records += sum(len(sl.log_records) for rl in request.resource_logs
                                          for sl in rl.scope_logs)
            else:
                processed = None
            if processed is not None and processed.alerts is not None:
                result.alerts.append(processed.alerts)
            if output is not None:
                output.write(otlp_json.dumps(request) + "\n")
                if processed is not None and processed.alerts is not None:
                    output.write(otlp_json.dumps(processed.alerts) + "\n")
            if progress is not None:
                progress(where)
    return result
