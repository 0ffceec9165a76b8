"""`debug` exporter: one line per alert log record on stdout.

basic:    <time> <severity> <rule> service=<service.name> trace=<trace id> evidence=<evidence>
detailed: the same line followed by every attribute of the record, key=value (JSON values).

It acts on alerts only; other signals are not its business.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from typing import TextIO

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from otel_ai_detect import semconv
from otel_ai_detect.config_types import DebugExporterConfig
from otel_ai_detect.exporters.base import ALERTS, ExportResult, attributes_dict


class DebugExporter:
    name = "debug"
    signals = frozenset({ALERTS})

    def __init__(self, config: DebugExporterConfig, stream: TextIO | None = None) -> None:
        self._detailed = config.verbosity == "detailed"
        self._stream = stream
        self._lock = threading.Lock()

    def export(self, signal: str, payload: bytes, count: int) -> ExportResult:
        try:
            request = ExportLogsServiceRequest.FromString(payload)
            lines = []
            for resource_logs in request.resource_logs:
                service = attributes_dict(resource_logs.resource.attributes).get("service.name", "")
                for scope_logs in resource_logs.scope_logs:
                    lines.extend(self._line(record, service) for record in scope_logs.log_records)
            stream = self._stream or sys.stdout  # looked up late: tests and the CLI swap sys.stdout
            with self._lock:
                stream.write("".join(line + "\n" for line in lines))
                stream.flush()
            return ExportResult(True)
        except Exception as exc:  # never raise into the consumer loop
            return ExportResult(False, 1, f"{type(exc).__name__}: {exc}")

    def shutdown(self) -> None:
        pass

    def _line(self, record: LogRecord, service: str) -> str:
        attributes = attributes_dict(record.attributes)
        nanos = record.time_unix_nano or record.observed_time_unix_nano
        when = dt.datetime.fromtimestamp(nanos / 1e9, dt.timezone.utc).isoformat(
            timespec="milliseconds"
        )
        line = (
            f"{when.replace('+00:00', 'Z')} {record.severity_text or record.severity_number} "
            f"{attributes.get(semconv.SECURITY_RULE_NAME, '?')} service={json.dumps(service)} "
            f"trace={record.trace_id.hex() or '-'} "
            f"evidence={json.dumps(attributes.get(semconv.ALERT_EVIDENCE, ''), ensure_ascii=False)}"
        )
        if self._detailed:
            line += "".join(
                f"\n    {key}={json.dumps(value, ensure_ascii=False)}"
                for key, value in sorted(attributes.items())
            )
        return line
