"""The deployment files (Collector configs, Kubernetes manifests, Dockerfile, compose stack,
Grafana dashboard) parse, fit together, and query only names the processor really writes.

No Docker engine or Collector binary is needed: every check reads the files. The names a
query may use come from the processor itself: an alert is built with otel_ai_detect.annotate
and the attribute keys it writes are collected, each checked against otel_ai_detect.semconv.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_ai_detect import semconv as sc
from otel_ai_detect.annotate import alert_log_record, annotate_span, make_alert
from otel_ai_detect.config import ConfigError, parse_config
from otel_ai_detect.model import CATALOG, CallInfo, Finding

ROOT = Path(__file__).resolve().parent.parent
COLLECTOR_CONFIGS = ROOT / "collector-config"
K8S = COLLECTOR_CONFIGS / "k8s"
COMPOSE = ROOT / "examples" / "compose"
DASHBOARD = COMPOSE / "grafana" / "dashboards" / "otel-ai-detect.json"
README = ROOT / "README.md"


def readme_section(title: str) -> str:
    """One `## title` section of the README, up to the next `## `."""
    return README.read_text().split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


# The processor's health endpoints, on service.telemetry.metrics.endpoint (README).
HEALTH_PATHS = {"liveness": "/health", "readiness": "/ready"}
METRICS_PORT = 8888
METRIC_PREFIX = "otelaidetect_"

# OTLP LogRecord fields Loki keeps as structured metadata (not attributes).
LOKI_LOG_RECORD_FIELDS = {"trace_id", "span_id", "severity_text", "severity_number"}


# --- what the processor writes ------------------------------------------------------------


def _written() -> dict[str, set[str]]:
    """Attribute keys the processor writes, found by having it write them."""
    finding = Finding(rule=next(iter(CATALOG)), detector="test", confidence=1.0,
                      source="input", path="test", evidence="test")
    log_keys: set[str] = set()
    for provider_key in (sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_SYSTEM):
        info = CallInfo(operation="chat", model="m", provider="p", provider_key=provider_key)
        alert = make_alert(finding, b"\x01" * 16, b"\x02" * 8, info)
        record = alert_log_record(alert, 1, 2)
        assert record.event_name == sc.ALERT_EVENT_NAME
        log_keys |= {kv.key for kv in record.attributes}
    span = Span()
    annotate_span(span, [alert])
    span_keys = {kv.key for kv in span.attributes}
    event_keys = {kv.key for event in span.events for kv in event.attributes}
    assert {event.name for event in span.events} == {sc.ALERT_EVENT_NAME}
    return {"log": log_keys, "span": span_keys, "event": event_keys}


WRITTEN = _written()
# Loki (OTLP ingestion): attributes become structured metadata with `.` -> `_`; the
# application's resource `service.name` is the index label `service_name` (ALERTS.md: the
# alert record carries the span's resource).
LOKI_NAMES = ({key.replace(".", "_") for key in WRITTEN["log"]} | {"service_name"}
              | LOKI_LOG_RECORD_FIELDS)


def test_the_written_names_are_the_ones_semconv_declares():
    declared = {value for name, value in vars(sc).items()
                if name.isupper() and isinstance(value, str)}
    for kind, keys in WRITTEN.items():
        assert keys <= declared, f"{kind}: {keys - declared} not in semconv.py"
    assert {sc.ALERT_COUNT, sc.ALERT_RULES} <= WRITTEN["span"]
    assert {sc.SECURITY_RULE_NAME, sc.ALERT_SEVERITY, sc.EVENT_NAME_ATTR,
            sc.GEN_AI_REQUEST_MODEL} <= WRITTEN["log"]


# --- query name extraction ------------------------------------------------------------------

_LOGQL_BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_LOGQL_SELECTOR = re.compile(r"\{([^{}]*)\}")
_LOGQL_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|==|=)")
_LOGQL_FILTER = re.compile(r"\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|==|=|>|<)")
_TRACEQL_ATTR = re.compile(r"(?<![\w.:])(span|event|resource)\.([A-Za-z0-9_.]+)")
_TRACEQL_EVENT_NAME = re.compile(r'event:name\s*=\s*"([^"]*)"')


def logql_names(expr: str) -> set[str]:
    names = set()
    for group in _LOGQL_BY.findall(expr):
        names |= {n.strip() for n in group.split(",") if n.strip()}
    for selector in _LOGQL_SELECTOR.findall(expr):
        names |= set(_LOGQL_MATCHER.findall(selector))
    names |= set(_LOGQL_FILTER.findall(expr))
    return names


def traceql_names(query: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"span": set(), "event": set(), "resource": set()}
    for scope, name in _TRACEQL_ATTR.findall(query):
        found[scope].add(name)
    return found


def check_traceql(query: str) -> None:
    names = traceql_names(query)
    assert names["span"] <= WRITTEN["span"], f"{query}: {names['span'] - WRITTEN['span']}"
    assert names["event"] <= WRITTEN["event"], f"{query}: {names['event'] - WRITTEN['event']}"
    assert names["resource"] <= {"service.name"}, query
    for event_name in _TRACEQL_EVENT_NAME.findall(query):
        assert event_name == sc.ALERT_EVENT_NAME, query


def check_logql(expr: str) -> None:
    names = logql_names(expr)
    assert names, f"no names found in {expr!r}"
    assert names <= LOKI_NAMES, f"{expr}: {sorted(names - LOKI_NAMES)} are not written"
    for value in re.findall(r'\bevent_name\s*=\s*"([^"]*)"', expr):
        assert value == sc.ALERT_EVENT_NAME, expr


def test_the_extractors_see_what_they_must():
    assert logql_names('sum by (a, b) (count_over_time({c=~".+"} | d="x" | e != "y" [5m]))') \
        == {"a", "b", "c", "d", "e"}
    assert traceql_names('{ span.ai.x > 0 && event.y.z = "1" && event:name = "n" }') \
        == {"span": {"ai.x"}, "event": {"y.z"}, "resource": set()}
    with pytest.raises(AssertionError):
        check_logql('{service_name=~".+"} | security_rule="x"')
    with pytest.raises(AssertionError):
        check_traceql("{ span.ai.security.alerts > 0 }")


# --- YAML ----------------------------------------------------------------------------------


def _yaml_files() -> list[Path]:
    files = sorted(COLLECTOR_CONFIGS.rglob("*.yaml")) + sorted(COLLECTOR_CONFIGS.rglob("*.yml"))
    files += sorted(COMPOSE.rglob("*.yaml")) + sorted(COMPOSE.rglob("*.yml"))
    return files


def load_all(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def load(path: Path) -> dict:
    docs = load_all(path)
    assert len(docs) == 1, f"{path}: expected one document"
    return docs[0]


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_parses(path):
    docs = load_all(path)
    assert docs and all(isinstance(doc, dict) for doc in docs), path


# --- Collector configs ---------------------------------------------------------------------

COLLECTORS = [COLLECTOR_CONFIGS / "collector.yaml", COLLECTOR_CONFIGS / "loadbalancing.yaml",
              COLLECTOR_CONFIGS / "alerts-to-log-backends.yaml", COMPOSE / "otel-collector.yaml"]


@pytest.mark.parametrize("path", COLLECTORS, ids=lambda p: str(p.relative_to(ROOT)))
def test_collector_pipelines_reference_defined_components(path):
    doc = load(path)
    connectors = doc.get("connectors") or {}
    used: set[str] = set()
    as_exporter, as_receiver = set(), set()
    for name, pipeline in doc["service"]["pipelines"].items():
        assert name.split("/")[0] in ("traces", "metrics", "logs"), name
        assert pipeline.get("receivers") and pipeline.get("exporters"), name
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind) or []:
                defined = set(doc.get(kind) or {})
                if kind != "processors":
                    defined |= set(connectors)
                assert component in defined, f"{path.name}: {name}: {component} is not defined"
                used.add(component)
                if component in connectors:
                    (as_exporter if kind == "exporters" else as_receiver).add(component)
    for connector, config in connectors.items():
        assert connector in as_exporter and connector in as_receiver, connector
        for route in config.get("table", []):
            targets = route["pipelines"]
            assert set(targets) <= set(doc["service"]["pipelines"]), route
            assert ("condition" in route) != ("statement" in route), route
        for target in config.get("default_pipelines", []):
            assert target in doc["service"]["pipelines"], target
            assert connector in doc["service"]["pipelines"][target]["receivers"]
    for kind in ("receivers", "processors", "exporters", "connectors"):
        unused = set(doc.get(kind) or {}) - used
        assert not unused, f"{path.name}: {kind} defined but not used: {unused}"


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1].strip("/").split("/")[0])


def _host(endpoint: str) -> str:
    return endpoint.split("://")[-1].rsplit(":", 1)[0]


def test_the_load_balancer_routes_by_trace_id_to_the_headless_service():
    doc = load(COLLECTOR_CONFIGS / "loadbalancing.yaml")
    lb = doc["exporters"]["loadbalancing"]
    assert lb["routing_key"] == "traceID"
    assert lb["protocol"]["otlp"]["tls"]["insecure"] is True
    assert "endpoint" not in lb["protocol"]["otlp"]
    assert lb["retry_on_failure"]["enabled"] and lb["sending_queue"]["enabled"]
    dns = lb["resolver"]["dns"]
    headless = services()["otel-ai-detect-headless"]
    assert headless["spec"]["clusterIP"] == "None"
    namespace = headless["metadata"]["namespace"]
    assert dns["hostname"] == f"otel-ai-detect-headless.{namespace}.svc.cluster.local"
    grpc = processor_config()["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert dns["port"] == _port(grpc) == 4317
    assert dns["port"] in {p["port"] for p in headless["spec"]["ports"]}
    pipelines = doc["service"]["pipelines"]
    assert "loadbalancing" in pipelines["traces"]["exporters"]
    assert "loadbalancing" in pipelines["logs"]["exporters"]
    assert "loadbalancing" not in pipelines["metrics"]["exporters"]
    # The replicas send back to the gateway's otlp/annotated receiver, not into the balancer.
    back = processor_config()["exporters"]["otlp"]["endpoint"]
    annotated = doc["receivers"]["otlp/annotated"]["protocols"]["grpc"]["endpoint"]
    assert _port(back) == _port(annotated)
    assert _port(back) != _port(doc["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"])
    assert pipelines["traces/annotated"]["receivers"] == ["otlp/annotated"]
    assert pipelines["logs/annotated"]["receivers"] == ["otlp/annotated"]


@pytest.mark.parametrize("path", [COLLECTOR_CONFIGS / "alerts-to-log-backends.yaml",
                                  COMPOSE / "otel-collector.yaml"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_only_alert_records_are_routed_to_the_log_backends(path):
    doc = load(path)
    (name, router), = doc["connectors"].items()
    assert name.split("/")[0] == "routing"
    (route,) = router["table"]
    assert route["context"] == "log"
    condition = route["condition"]
    assert (f'attributes["{sc.EVENT_NAME_ATTR}"] == "{sc.ALERT_EVENT_NAME}"' == condition
            or f'log.event_name == "{sc.ALERT_EVENT_NAME}"' == condition)
    pipelines = doc["service"]["pipelines"]
    (alerts,) = route["pipelines"]
    assert "otlphttp/loki" in pipelines[alerts]["exporters"]
    loki = doc["exporters"]["otlphttp/loki"]["endpoint"]
    assert loki.endswith("/otlp"), "otlphttp appends /v1/logs to Loki's /otlp base"
    for other in router["default_pipelines"]:
        assert "otlphttp/loki" not in pipelines[other]["exporters"]
    traces = [p for n, p in pipelines.items() if n.startswith("traces")]
    assert all("otlphttp/loki" not in p["exporters"] for p in traces)


def test_the_siem_config_has_every_log_backend():
    doc = load(COLLECTOR_CONFIGS / "alerts-to-log-backends.yaml")
    alerts = doc["service"]["pipelines"]["logs/alerts"]["exporters"]
    assert {"otlphttp/loki", "elasticsearch", "splunk_hec", "file/alerts"} <= set(alerts)
    assert doc["exporters"]["splunk_hec"]["token"].startswith("${env:")
    # The commented filter-processor alternative names the same event.
    text = (COLLECTOR_CONFIGS / "alerts-to-log-backends.yaml").read_text()
    assert "# filter/alerts-only:" in text
    assert f"'attributes[\"{sc.EVENT_NAME_ATTR}\"] != \"{sc.ALERT_EVENT_NAME}\"'" in text


# --- Kubernetes ----------------------------------------------------------------------------


def k8s_objects() -> list[dict]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in load_all(path)]


def k8s(kind: str) -> list[dict]:
    return [doc for doc in k8s_objects() if doc["kind"] == kind]


def services() -> dict[str, dict]:
    return {svc["metadata"]["name"]: svc for svc in k8s("Service")}


def deployment() -> dict:
    (dep,) = k8s("Deployment")
    return dep


def processor_config_text() -> str:
    (configmap,) = k8s("ConfigMap")
    return configmap["data"]["config.yaml"]


def processor_config() -> dict:
    return yaml.safe_load(processor_config_text())


def _metrics_endpoint(config: dict) -> str:
    return config["service"]["telemetry"]["metrics"]["endpoint"]


def validate_processor_config(data: dict, where: str) -> None:
    """parse_config(env={}) on the config; the `service.telemetry.metrics` section (the
    metrics/health endpoint) is checked separately, so that a config.py without it yet still
    validates everything else."""
    without = json.loads(json.dumps(data))
    without["service"]["telemetry"].pop("metrics")
    parse_config(without, env={})
    try:
        parse_config(data, env={})
    except ConfigError as error:
        problems = list(error.args[0]) if error.args and isinstance(error.args[0], list) \
            else str(error).splitlines()[1:]
        text = "\n".join(str(p) for p in problems)
        if all("service.telemetry.metrics" in str(p) for p in problems if str(p).strip()):
            pytest.skip(f"{where}: config.py does not accept service.telemetry.metrics yet: {text}")
        raise


def test_the_configmap_processor_config_validates():
    data = processor_config()
    for protocol in ("grpc", "http"):
        assert _host(data["receivers"]["otlp"]["protocols"][protocol]["endpoint"]) == "0.0.0.0"
    assert "gateway" in data["exporters"]["otlp"]["endpoint"]
    assert _metrics_endpoint(data) == f"0.0.0.0:{METRICS_PORT}"
    validate_processor_config(data, "collector-config/k8s/configmap.yaml")


def test_the_deployment_serves_the_configmap_with_probes_on_the_health_endpoint():
    dep = deployment()
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert container["args"] == ["serve", "--config", "/etc/otel-ai-detect/config.yaml"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = processor_config()
    assert set(ports.values()) == {
        _port(config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]),
        _port(config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]),
        _port(_metrics_endpoint(config))} == {4317, 4318, METRICS_PORT}
    for probe, path in (("livenessProbe", HEALTH_PATHS["liveness"]),
                        ("readinessProbe", HEALTH_PATHS["readiness"])):
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        port = ports.get(get["port"], get["port"])
        assert port == _port(_metrics_endpoint(config)), probe
    # The ConfigMap is mounted where --config points.
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    config_volume = next(n for n, v in volumes.items() if "configMap" in v)
    (configmap,) = k8s("ConfigMap")
    assert volumes[config_volume]["configMap"]["name"] == configmap["metadata"]["name"]
    assert f"{mounts[config_volume]}/config.yaml" == container["args"][2]
    # Read-only root: the feed cache lives on an emptyDir.
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    cache_dir = config["intel"]["cache_dir"]
    assert any(cache_dir.startswith(mounts[n] + "/") and "emptyDir" in volumes[n] for n in mounts)
    assert container["resources"]["requests"] and container["resources"]["limits"]


def test_the_services_select_the_pods():
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    (container,) = deployment()["spec"]["template"]["spec"]["containers"]
    port_names = {p["name"] for p in container["ports"]}
    svcs = services()
    assert set(svcs) == {"otel-ai-detect", "otel-ai-detect-headless"}
    assert svcs["otel-ai-detect"]["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert svcs["otel-ai-detect-headless"]["spec"]["clusterIP"] == "None"
    namespaces = {o["metadata"]["namespace"] for o in k8s_objects()}
    assert len(namespaces) == 1
    for svc in svcs.values():
        assert svc["spec"]["selector"].items() <= labels.items()
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in port_names


# --- Dockerfile ----------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_the_dockerfile_is_small_non_root_and_keeps_the_malloc_settings():
    instructions = dockerfile()
    by = {}
    for op, arg in instructions:
        by.setdefault(op.upper(), []).append(arg)
    assert all(img.startswith("python:3.11-slim") for img in
               (arg.split()[0] for arg in by["FROM"]))
    assert by["USER"][-1] == "10001"
    assert set(by["EXPOSE"][-1].split()) == {"4317", "4318", str(METRICS_PORT)}
    assert json.loads(by["ENTRYPOINT"][-1]) == ["otel-ai-detect"]
    assert json.loads(by["CMD"][-1]) == ["serve"]
    installs = [arg for arg in by["RUN"] if "pip install" in arg]
    assert installs and not any("[test" in arg or "[bench" in arg for arg in installs)
    health = by["HEALTHCHECK"][-1]
    assert "urllib" in health and f":{METRICS_PORT}{HEALTH_PATHS['liveness']}" in health
    env = " ".join(by["ENV"])
    makefile = (ROOT / "Makefile").read_text()
    malloc = re.search(r"^MALLOC_ENV\s*:=\s*(.+)$", makefile, re.M).group(1).split()
    assert malloc and all(setting in env.split() for setting in malloc), malloc
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "tests", ".git"} <= set(ignored)


# --- compose stack -------------------------------------------------------------------------


def compose() -> dict:
    return load(COMPOSE / "docker-compose.yaml")


def test_the_compose_services_reference_files_that_exist():
    doc = compose()
    assert {"otel-collector", "otel-ai-detect", "jaeger", "tempo", "loki", "grafana",
            "prometheus"} <= set(doc["services"])
    assert doc["services"]["otel-collector"]["image"].startswith(
        "otel/opentelemetry-collector-contrib:")
    for name, service in doc["services"].items():
        build = service.get("build")
        if build:
            context = COMPOSE / (build if isinstance(build, str) else build["context"])
            assert context.is_dir(), name
            dockerfile_name = "Dockerfile" if isinstance(build, str) else build.get(
                "dockerfile", "Dockerfile")
            assert (context / dockerfile_name).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith("."):
                assert (COMPOSE / source).exists(), f"{name}: {source}"
        for other in service.get("depends_on", []):
            assert other in doc["services"], f"{name}: depends_on {other}"


def test_the_compose_collector_and_processor_point_at_each_other():
    doc = compose()
    collector = load(COMPOSE / "otel-collector.yaml")
    processor = load(COMPOSE / "otel-ai-detect.yaml")
    to_processor = collector["exporters"]["otlp/ai-detect"]["endpoint"]
    assert _host(to_processor) == "otel-ai-detect"
    assert _port(to_processor) == _port(processor["receivers"]["otlp"]["protocols"]["grpc"][
        "endpoint"])
    back = processor["exporters"]["otlp"]["endpoint"]
    assert _host(back) == "otel-collector"
    assert _port(back) == _port(collector["receivers"]["otlp/annotated"]["protocols"]["grpc"][
        "endpoint"])
    for exporter in ("otlp/tempo", "otlp/jaeger", "otlphttp/loki"):
        assert _host(collector["exporters"][exporter]["endpoint"]) in doc["services"]
    # Prometheus scrapes the processor's metrics endpoint.
    prometheus = load(COMPOSE / "prometheus.yml")
    targets = [t for job in prometheus["scrape_configs"] for sc_ in job["static_configs"]
               for t in sc_["targets"]]
    assert f"otel-ai-detect:{_port(_metrics_endpoint(processor))}" in targets
    validate_processor_config(processor, "examples/compose/otel-ai-detect.yaml")


def test_grafana_datasources_link_traces_and_alert_logs():
    doc = load(COMPOSE / "grafana" / "provisioning" / "datasources" / "datasources.yaml")
    by_type = {ds["type"]: ds for ds in doc["datasources"]}
    tempo, loki = by_type["tempo"], by_type["loki"]
    assert {"prometheus"} <= set(by_type)
    links = tempo["jsonData"]["tracesToLogsV2"]
    assert links["datasourceUid"] == loki["uid"] and links["filterByTraceID"] is True
    check_logql(links["query"].replace("$${__trace.traceId}", "x"))
    (field,) = loki["jsonData"]["derivedFields"]
    assert field["datasourceUid"] == tempo["uid"]
    assert field["matcherRegex"] in LOKI_NAMES and field["matcherRegex"] == "trace_id"
    compose_services = compose()["services"]
    for ds in doc["datasources"]:
        assert _host(ds["url"]) in compose_services, ds["url"]
    providers = load(COMPOSE / "grafana" / "provisioning" / "dashboards" / "otel-ai-detect.yaml")
    (provider,) = providers["providers"]
    mounts = dict(v.split(":")[:2][::-1] for v in compose_services["grafana"]["volumes"])
    assert (COMPOSE / mounts[provider["options"]["path"]] / DASHBOARD.name).is_file()


# --- dashboard -----------------------------------------------------------------------------


def dashboard_targets() -> list[tuple[str, dict]]:
    doc = json.loads(DASHBOARD.read_text())
    return [(panel["datasource"]["type"], target)
            for panel in doc["panels"] for target in panel.get("targets", [])]


def test_the_dashboard_parses_and_has_the_panels():
    doc = json.loads(DASHBOARD.read_text())
    assert doc["uid"] and doc["title"]
    kinds = {kind for kind, _ in dashboard_targets()}
    assert kinds == {"loki", "tempo", "prometheus"}
    ids = [panel["id"] for panel in doc["panels"]]
    assert len(ids) == len(set(ids))


def test_dashboard_loki_queries_name_only_written_attributes():
    exprs = [target["expr"] for kind, target in dashboard_targets() if kind == "loki"]
    assert exprs
    for expr in exprs:
        check_logql(expr)
    legend_names = {n for kind, target in dashboard_targets() if kind == "loki"
                    for n in re.findall(r"\{\{(\w+)\}\}", target.get("legendFormat", ""))}
    assert legend_names <= LOKI_NAMES
    doc = json.loads(DASHBOARD.read_text())
    for panel in doc["panels"]:
        for transform in panel.get("transformations", []):
            if transform["id"] == "organize":
                columns = set(transform["options"].get("includeByName", {})) - {"Time"}
                assert columns <= LOKI_NAMES, columns - LOKI_NAMES
        for override in panel.get("fieldConfig", {}).get("overrides", []):
            if override["properties"][0]["id"] == "links":
                assert override["matcher"]["options"] in LOKI_NAMES


def test_dashboard_traceql_queries_name_only_written_attributes():
    queries = [target["query"] for kind, target in dashboard_targets() if kind == "tempo"]
    assert queries
    for query in queries:
        check_traceql(query)


def test_dashboard_prometheus_queries_use_the_processor_metrics():
    for kind, target in dashboard_targets():
        if kind != "prometheus":
            continue
        metrics = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*[{\[]", target["expr"]))
        if metrics == {"up"}:
            assert 'job="otel-ai-detect"' in target["expr"]
            continue
        assert metrics and all(m.startswith(METRIC_PREFIX) for m in metrics), target["expr"]
        # Names as documented; `<unit>` stands for a word (spans, log_records, ...).
        documented = [re.compile(re.sub(r"<[a-z]+>", "[a-z_]+", name))
                      for name in re.findall(r"`(otelaidetect_[a-z0-9_<>]+)`",
                                             readme_section("The processor's own telemetry"))]
        for metric in metrics:
            assert any(d.fullmatch(metric) for d in documented), \
                f"{metric} is not in the README's telemetry section"


# --- docs ----------------------------------------------------------------------------------


def _doc_code() -> list[str]:
    text = readme_section("Use it with…")
    return re.findall(r"`([^`\n]+)`", text) + re.findall(r"```[a-z]*\n(.*?)```", text, re.S)


def test_the_doc_queries_name_only_written_attributes():
    traceql = [c for c in _doc_code() if re.search(r"\{\s*(span|event)[.:]", c)]
    assert traceql
    for query in traceql:
        for line in query.splitlines():
            if re.search(r"\{\s*(span|event)[.:]", line):
                check_traceql(line)
    logql = [line for code in _doc_code() for line in code.splitlines()
             if "service_name" in line and "{" in line and "|" in line]
    assert logql
    for expr in logql:
        check_logql(expr)
    text = readme_section("Use it with…")
    assert sc.ALERT_COUNT in text


def test_shlex_splits_the_dockerfile_healthcheck():
    # A malformed quote in the HEALTHCHECK exec form would only show at build time.
    health = dict((op.upper(), arg) for op, arg in dockerfile())["HEALTHCHECK"]
    exec_form = health[health.index("CMD") + 3:].strip()
    command = json.loads(exec_form)
    assert command[0] == "python" and shlex.join(command)
    compile(command[2], "<healthcheck>", "exec")
