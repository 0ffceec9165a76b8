"""Exporters: where processed data and alerts leave the process.

`build_exporters(config)` turns the `exporters:` section into exporter
objects. Each exporter says which queue items it takes (`signals`): the OTLP
exporter takes traces, logs, metrics and alerts (as OTLP logs); `debug` and
`file` take alerts only. The service gives each exporter its own queue.
"""

from __future__ import annotations

from typing import TextIO

from otel_ai_detect.config_types import ExportersConfig
from otel_ai_detect.exporters.base import (
    ALERTS,
    LOGS,
    METRICS,
    SIGNALS,
    TRACES,
    Attempt,
    Exporter,
    ExportResult,
)
from otel_ai_detect.exporters.debug import DebugExporter
from otel_ai_detect.exporters.file import FileExporter
from otel_ai_detect.exporters.otlp_grpc import OtlpGrpcExporter
from otel_ai_detect.exporters.otlp_http import OtlpHttpExporter

__all__ = [
    "ALERTS",
    "LOGS",
    "METRICS",
    "SIGNALS",
    "TRACES",
    "Attempt",
    "DebugExporter",
    "Exporter",
    "ExportResult",
    "FileExporter",
    "OtlpGrpcExporter",
    "OtlpHttpExporter",
    "build_exporters",
]


def build_exporters(config: ExportersConfig, debug_stream: TextIO | None = None) -> list[Exporter]:
    exporters: list[Exporter] = []
    if config.otlp is not None:
        if config.otlp.protocol == "grpc":
            exporters.append(OtlpGrpcExporter(config.otlp))
        elif config.otlp.protocol == "http/protobuf":
            exporters.append(OtlpHttpExporter(config.otlp))
        else:  # config.py validates this; a hand-built Config may not have been
            raise ValueError(
                f"exporters.otlp.protocol: {config.otlp.protocol!r} is not grpc or http/protobuf"
            )
    if config.debug is not None:
        exporters.append(DebugExporter(config.debug, debug_stream))
    if config.file is not None:
        exporters.append(FileExporter(config.file))
    return exporters
