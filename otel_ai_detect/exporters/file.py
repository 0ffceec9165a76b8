"""`file` exporter: appends each alert log record as one JSON line.

Shape of a line (OTLP/JSON of the LogRecord -- lowerCamelCase keys, hex ids,
integer enums, int64 as strings -- plus one key of ours):

    {"timeUnixNano": "1795846867630439692", "severityNumber": 13, "severityText": "Medium",
     "eventName": "ai.security.alert", "body": {"stringValue": "..."},
     "attributes": [{"key": "security_rule.name",
                     "value": {"stringValue": "AI.ASCIISmuggling"}}, ...],
     "traceId": "34056c71dfd1d905df932f9c466e478b", "spanId": "d613a5025e55d0e0",
     "resource": {"service.name": "chat-app", "telemetry.sdk.language": "python", ...}}

`resource` holds the record's resource attributes flattened to plain JSON
values (arrays as lists, kvlists as objects, bytes as hex), so `jq
'.resource["service.name"]'` works. The file is flushed after every batch.
It acts on alerts only.
"""

from __future__ import annotations

import json
import threading

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from otel_ai_detect import otlp_json
from otel_ai_detect.config_types import FileExporterConfig
from otel_ai_detect.exporters.base import ALERTS, ExportResult, attributes_dict


class FileExporter:
    name = "file"
    signals = frozenset({ALERTS})

    def __init__(self, config: FileExporterConfig) -> None:
        self.path = config.path
        # Unbuffered O_APPEND, one write per batch: with `processor.workers` several processes
        # append to the same file, and a buffered writer could cut a line between them.
        self._file = open(config.path, "ab", buffering=0)  # noqa: SIM115  (open for its life)
        self._lock = threading.Lock()

    def export(self, signal: str, payload: bytes, count: int) -> ExportResult:
        try:
            request = ExportLogsServiceRequest.FromString(payload)
            lines = []
            for resource_logs in request.resource_logs:
                resource = attributes_dict(resource_logs.resource.attributes)
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        line = otlp_json.to_dict(record)
                        line["resource"] = resource
                        lines.append(
                            json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
                        )
            data = memoryview("".join(lines).encode("utf-8"))
            with self._lock:
                while data:  # a regular file takes it all at once but for a full disk
                    data = data[self._file.write(data):]
            return ExportResult(True)
        except Exception as exc:  # never raise into the consumer loop (disk full, closed file, ...)
            return ExportResult(False, 1, f"{type(exc).__name__}: {exc}")

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()
