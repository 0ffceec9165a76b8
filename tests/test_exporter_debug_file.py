"""The `debug` and `file` exporters: what an operator reads from alerts."""

from __future__ import annotations

import io
import json

from alert_engines import alert_for

from otel_ai_detect import otlp_json
from otel_ai_detect.config_types import DebugExporterConfig, FileExporterConfig
from otel_ai_detect.exporters import DebugExporter, ExportResult, FileExporter
from otel_ai_detect.testing import genai_span, logs_request

SPAN = genai_span()


def alerts_payload(n: int = 2) -> bytes:
    request = logs_request(*[alert_for(SPAN) for _ in range(n)], service_name="chat-app")
    for record in request.resource_logs[0].scope_logs[0].log_records:
        record.severity_text = "Medium"
    return request.SerializeToString()


def test_debug_prints_one_line_per_alert(capsys):
    exporter = DebugExporter(DebugExporterConfig())
    assert exporter.export("alerts", alerts_payload(2), 2) == ExportResult(True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0] == (
        f'2023-11-14T22:13:20.000Z Medium AI.Jailbreak.DetectedAttempt service="chat-app" '
        f"trace={SPAN.trace_id.hex()} evidence=\"phrase 'ignore all previous instructions'\""
    )


def test_debug_detailed_adds_every_attribute():
    stream = io.StringIO()
    DebugExporter(DebugExporterConfig(verbosity="detailed"), stream).export(
        "alerts", alerts_payload(1), 1
    )
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("2023-11-14T22:13:20.000Z Medium AI.Jailbreak.DetectedAttempt")
    assert '    ai.alert.severity="Medium"' in lines
    assert '    security_rule.name="AI.Jailbreak.DetectedAttempt"' in lines


def test_debug_reports_a_failure_instead_of_raising():
    result = DebugExporter(DebugExporterConfig(), io.StringIO()).export("alerts", b"\xff\xff", 1)
    assert not result.ok and result.error


def test_file_appends_one_json_line_per_alert_with_its_resource(tmp_path):
    path = tmp_path / "alerts.jsonl"
    exporter = FileExporter(FileExporterConfig(path=str(path)))
    assert exporter.export("alerts", alerts_payload(2), 2).ok
    assert exporter.export("alerts", alerts_payload(1), 1).ok
    lines = path.read_text().splitlines()  # readable before shutdown: flushed per batch
    exporter.shutdown()
    assert len(lines) == 3
    line = json.loads(lines[0])
    assert line["resource"] == {"service.name": "chat-app"}
    assert line["traceId"] == SPAN.trace_id.hex() and line["spanId"] == SPAN.span_id.hex()
    assert line["severityText"] == "Medium" and line["severityNumber"] == 13
    del line["resource"]
    assert otlp_json.parse_dict(line, type(alert_for(SPAN))()) == _with_severity_text(
        alert_for(SPAN)
    )


def _with_severity_text(record):
    record.severity_text = "Medium"
    return record


def test_file_reports_a_failure_instead_of_raising(tmp_path):
    exporter = FileExporter(FileExporterConfig(path=str(tmp_path / "a.jsonl")))
    exporter.shutdown()
    result = exporter.export("alerts", alerts_payload(1), 1)
    assert not result.ok and "closed" in result.error
