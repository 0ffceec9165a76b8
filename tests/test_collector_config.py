"""The shipped Collector configs fit together with the processor's config."""

from __future__ import annotations

from pathlib import Path

import yaml

from otel_ai_detect.config import load_config

CONFIGS = Path(__file__).parent.parent / "collector-config"


def collector() -> dict:
    return yaml.safe_load((CONFIGS / "collector.yaml").read_text())


def test_the_processor_config_shipped_for_the_collector_is_valid():
    config = load_config(str(CONFIGS / "otel-ai-detect.yaml"))
    assert config.exporters.otlp is not None


def test_every_collector_pipeline_names_defined_components():
    doc = collector()
    for name, pipeline in doc["service"]["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in doc[kind], f"{name}: {component} is not defined"


def test_the_collector_sends_to_the_processor_and_the_processor_sends_back():
    doc = collector()
    processor = load_config(str(CONFIGS / "otel-ai-detect.yaml"))
    assert doc["exporters"]["otlp/ai-detect"]["endpoint"] == processor.receiver.grpc.endpoint
    back = doc["receivers"]["otlp/annotated"]["protocols"]["grpc"]["endpoint"]
    assert processor.exporters.otlp.endpoint == back
    pipelines = doc["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["otlp/ai-detect"]
    assert pipelines["logs"]["exporters"] == ["otlp/ai-detect"]
    assert "otlp/annotated" in pipelines["traces/annotated"]["receivers"]
