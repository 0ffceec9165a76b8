"""otel-ai-detect: an OTLP processor that detects threats against AI workloads."""

__version__ = "0.1.0"
