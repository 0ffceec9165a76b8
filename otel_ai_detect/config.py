"""YAML (and `OTEL_EXPORTER_OTLP_*`) -> the typed, validated `Config` of `config_types`.

The file has the OpenTelemetry Collector's shape (`receivers`, `exporters`,
`detectors`, `processor`, `service`). Loading goes: YAML -> `${env:NAME}`
substitution -> `OTEL_EXPORTER_OTLP_*` filled in where the file is silent ->
one declarative reader per section. Every problem is gathered and reported at
once as `"<key path>: <what is wrong>"`; unknown keys are problems at every
level. Header values may be API keys, so no problem ever shows one.

With no file, `load_config(None)` reads the embedded `data/default-config.yaml`:
receivers on 127.0.0.1:4317/4318, the `debug` exporter, all detectors, and an
`otlp` exporter only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import unquote

from otel_ai_detect.config_parse import (
    INVALID, FromEnv, Optional, Problems, Section, boolean, check_host_port, check_url,
    duration, enum, file_path, headers, integer, into, join, label, listen_address, load_yaml,
    number, only, show, string, string_list, substitute, SectionList,
)
from otel_ai_detect.config_types import (
    AsciiSmugglingConfig, AuthConfig, Config, CredentialsConfig, DebugExporterConfig, DetectorsConfig,
    ExportersConfig, JailbreakConfig, SensitiveDataConfig, DNS_ZONE_PRESETS, FEED_FORMATS,
    DnsConfig, DnsZoneConfig, FeedConfig, IntelConfig, PhishingConfig, TorConfig,
    FileExporterConfig, GrpcReceiverConfig, HttpReceiverConfig, OtlpExporterConfig,
    OtlpReceiverConfig, ProcessorConfig, QueueConfig, RetryConfig, TelemetryConfig,
    TelemetryMetricsConfig, TLSClientConfig, TLSServerConfig, TraceStateConfig, UserAgentConfig,
)

__all__ = ["ConfigError", "format_problems", "load_config", "parse_config", "validate_file"]

DEFAULT_CONFIG = "default-config.yaml"


class ConfigError(ValueError):
    """The configuration is invalid; `problems` lists every problem, each with its key path."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(format_problems(self.problems, source))


def format_problems(problems: list[str], source: str | None = None) -> str:
    """`<source>: N problems` then one indented line per problem (for the CLI and errors)."""
    count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
    return "\n  - ".join([f"{source or 'config'}: {count}", *problems])


# --- checks that span keys -------------------------------------------------------------------


def _key_pair(values: dict, raw: Mapping, path: str, problems: Problems) -> None:
    for key, other in (("cert_file", "key_file"), ("key_file", "cert_file")):
        if raw.get(key) is not None and raw.get(other) is None:
            problems.add(join(path, other), f"required when {key} is set")


def _server_tls(values: dict, raw: Mapping, path: str, problems: Problems) -> None:
    if raw.get("cert_file") is None and raw.get("key_file") is None:
        problems.add(path, "needs cert_file and key_file (remove tls for plaintext)")
    _key_pair(values, raw, path, problems)


def _distinct_addresses(values: dict, raw: Mapping, path: str, problems: Problems) -> None:
    grpc, http = values.get("grpc"), values.get("http")
    if grpc is None or http is None:
        return
    (g_host, g_port), (h_host, h_port) = (e.endpoint.rsplit(":", 1) for e in (grpc, http))
    wildcard = {"", "0.0.0.0", "[::]"}
    if g_port == h_port != "0" and (g_host == h_host or {g_host, h_host} & wildcard):
        problems.add(join(path, "http.endpoint"), f"port {h_port} is also the grpc receiver's")


def _retry_order(values: dict, raw: Mapping, path: str, problems: Problems) -> None:
    if values.get("max_interval", 30.0) < values.get("initial_interval", 5.0):
        problems.add(join(path, "max_interval"), "must be >= initial_interval")


def _otlp_endpoint(values: dict, raw: Mapping, path: str, problems: Problems) -> None:
    """grpc: host:port; http/protobuf: a URL (scheme from tls.insecure when missing).
    An http:// or https:// scheme sets tls.insecure, as in the Collector and the OTLP spec."""
    if any(key in raw and key not in values for key in ("endpoint", "protocol", "tls")):
        return  # already reported; the rest would only repeat it
    protocol = values.get("protocol", "grpc")
    endpoint = values.get("endpoint", "127.0.0.1:4317" if protocol == "grpc" else "127.0.0.1:4318")
    tls: TLSClientConfig = values.get("tls", TLSClientConfig())
    where = label(raw, "endpoint", path)
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", endpoint)
    if match:
        scheme = match.group(1).lower()
        if scheme not in ("http", "https"):
            problems.add(where, f"must start with http:// or https://, got {show(endpoint)}")
            return
        raw_tls = raw.get("tls")
        given = raw_tls.get("insecure") if isinstance(raw_tls, Mapping) else None
        in_file = given is not None and not isinstance(given, FromEnv)  # the variable yields
        if in_file and tls.insecure != (scheme == "http"):
            message = f"{show(tls.insecure)} contradicts the {scheme}:// endpoint"
            problems.add(join(path, "tls.insecure"), message)
        values["tls"] = tls = dataclasses.replace(tls, insecure=scheme == "http")
    if protocol == "grpc":
        hostport = endpoint[match.end():].rstrip("/") if match else endpoint
        result = check_host_port(hostport, where, problems, listen=False)
    else:
        url = endpoint if match else ("http://" if tls.insecure else "https://") + endpoint
        result = check_url(url, where, problems)
    if result is not INVALID:
        values["endpoint"] = result


# --- the sections, declared ------------------------------------------------------------------

_FILE = Optional(file_path())
_TLS_SERVER = Optional(Section({"cert_file": _FILE, "key_file": _FILE, "client_ca_file": _FILE},
                               into(TLSServerConfig), _server_tls))


def _one_token(values: dict, raw: Mapping, path: str, problems: Problems) -> None:
    if ("bearer_token" in raw) == ("bearer_token_file" in raw):
        problems.add(path, "needs exactly one of bearer_token, bearer_token_file")


_AUTH = Optional(Section({"bearer_token": string(), "bearer_token_file": _FILE},
                         into(AuthConfig), _one_token))

RECEIVERS = only("otlp", only("protocols", Section(
    {
        "grpc": Section({"endpoint": listen_address(), "tls": _TLS_SERVER, "auth": _AUTH,
                         "max_recv_msg_size_mib": number(0, above=True)}, into(GrpcReceiverConfig)),
        "http": Section({"endpoint": listen_address(), "tls": _TLS_SERVER, "auth": _AUTH,
                         "max_request_body_size": integer(1)}, into(HttpReceiverConfig)),
    },
    # Collector semantics: a listed protocol is on (`grpc:` alone = defaults); an unlisted one is
    # off, unless neither is listed.
    lambda v: OtlpReceiverConfig(v.get("grpc"), v.get("http")) if v else OtlpReceiverConfig(),
    _distinct_addresses,
)))

OTLP_EXPORTER = Section(
    {
        "endpoint": string(),
        "protocol": enum("grpc", "http/protobuf"),
        "tls": Section({"insecure": boolean(), "ca_file": _FILE, "cert_file": _FILE,
                        "key_file": _FILE, "insecure_skip_verify": boolean()},
                       into(TLSClientConfig), _key_pair),
        "headers": headers(),
        "compression": enum("gzip", "none"),
        "timeout": duration(),
        "retry_on_failure": Section(
            {"enabled": boolean(), "initial_interval": duration(), "max_interval": duration(),
             "max_elapsed_time": duration(above_zero=False), "multiplier": number(1),
             "randomization_factor": number(0, maximum=1)}, into(RetryConfig), _retry_order),
        "sending_queue": Section({"enabled": boolean(), "num_consumers": integer(1),
                                  "queue_size": integer(1),
                                  "storage_dir": Optional(string())}, into(QueueConfig)),
    },
    into(OtlpExporterConfig),
    _otlp_endpoint,
)

EXPORTERS = Section(
    {
        "otlp": OTLP_EXPORTER,
        "debug": Section({"verbosity": enum("basic", "detailed")}, into(DebugExporterConfig)),
        "file": Section({"path": file_path(exists=False)}, into(FileExporterConfig)),
    },
    into(ExportersConfig),
)

def _required(*keys: str) -> Check:
    def check(values: dict, raw: Mapping, path: str, problems: Problems) -> None:
        for key in keys:
            if key not in raw:
                problems.add(join(path, key), "is required")
    return check


def _listed_pairs(value: Any, path: str, problems: Problems) -> Any:
    """answer -> meaning, for a custom DNS zone."""
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return problems.add(path, "must be a mapping of answers (e.g. 127.0.0.2) to meanings")
    return tuple(value.items())


FEEDS = SectionList(Section(
    {"source": string(), "format": enum(*FEED_FORMATS), "name": Optional(string()),
     "refresh_interval": duration(), "headers": headers()},
    into(FeedConfig), _required("source")))

DNS_ZONES = SectionList(Section(
    {"zone": string(), "preset": enum(*DNS_ZONE_PRESETS), "listed": _listed_pairs},
    into(DnsZoneConfig), _required("zone")))

DETECTORS = Section(
    {
        "ascii_smuggling": Section({"enabled": boolean(), "variation_selectors": boolean(),
                                    "zero_width_binary": boolean()}, into(AsciiSmugglingConfig)),
        "user_agent": Section({"enabled": boolean(), "signatures_file": _FILE},
                              into(UserAgentConfig)),
        "credentials": Section({"enabled": boolean(), "user_supplied": enum("ignore", "alert")},
                               into(CredentialsConfig)),
        "sensitive_data": Section({"enabled": boolean(), "entities": string_list(),
                                   "score_threshold": number(0, maximum=1),
                                   "spacy_model": Optional(string()), "language": string()},
                                  into(SensitiveDataConfig)),
        "jailbreak": Section({"enabled": boolean(), "threshold": number(0, maximum=1),
                              "classifier_model": _FILE}, into(JailbreakConfig)),
        "phishing": Section({"enabled": boolean(), "feeds": FEEDS, "dns_zones": DNS_ZONES,
                             "heuristics": boolean(), "brands": string_list(),
                             "heuristic_confidence": number(0, maximum=1)},
                            into(PhishingConfig)),
        "tor": Section({"enabled": boolean(), "feeds": FEEDS, "dnsel": boolean(),
                        "dnsel_zone": string()}, into(TorConfig)),
    },
    into(DetectorsConfig),
)

PROCESSOR = Section(
    {
        "trace_state": Section({"ttl": duration(), "max_traces": integer(1)},
                               into(TraceStateConfig)),
        "detector_timeout": duration(),
        "request_detection_budget": duration(),
        "redaction": enum("off", "secrets", "secrets_and_pii"),
        "workers": integer(1),
    },
    into(ProcessorConfig),
)

def _telemetry(values: dict) -> TelemetryConfig:
    logs, metrics = values.get("logs", {}), values.get("metrics")
    return TelemetryConfig(**({"log_level": logs["level"]} if "level" in logs else {}),
                           **({"metrics": metrics} if metrics is not None else {}))


SERVICE = only("telemetry", Section(
    {"logs": Section({"level": enum("debug", "info", "warn", "error")}, dict),
     "metrics": Section({"enabled": boolean(), "endpoint": listen_address(),
                         "otlp_endpoint": Optional(string()),
                         "otlp_protocol": enum("grpc", "http/protobuf"),
                         "otlp_interval": duration()},
                        into(TelemetryMetricsConfig))},
    _telemetry))

INTEL = Section(
    {"cache_dir": string(),
     "dns": Section({"nameservers": string_list(), "timeout": duration(),
                     "max_concurrency": integer(1), "cache_size": integer(1),
                     "negative_ttl": duration()}, into(DnsConfig))},
    into(IntelConfig))

CONFIG = Section(
    {"receivers": RECEIVERS, "exporters": EXPORTERS, "detectors": DETECTORS, "intel": INTEL,
     "processor": PROCESSOR, "service": SERVICE},
    into(Config, receivers="receiver", service="telemetry"),
)


# --- OTEL_EXPORTER_OTLP_* --------------------------------------------------------------------


def _millis(text: str, name: str, problems: Problems) -> Any:
    try:
        seconds = float(text) / 1000
    except ValueError:
        seconds = math.nan
    if math.isfinite(seconds) and seconds > 0:
        return seconds
    return problems.add(name, f"must be milliseconds > 0, got {show(text)}")


def _flag(text: str, name: str, problems: Problems) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return problems.add(name, f"must be true or false, got {show(text)}")


def _header_list(text: str, name: str, problems: Problems) -> Any:
    """`k=v,k2=v2` with URL-encoded values (W3C baggage style). Never shows a value."""
    pairs: dict[str, str] = {}
    for index, item in enumerate(filter(str.strip, text.split(",")), 1):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            return problems.add(name, f"entry {index} is not key=value (value not shown)")
        pairs[unquote(key.strip())] = unquote(value.strip())
    return pairs


def _text(text: str, name: str, problems: Problems) -> Any:
    return text


# variable -> (key under exporters.otlp, conversion). The endpoint is handled first, apart.
_ENV = {
    "OTEL_EXPORTER_OTLP_PROTOCOL": (("protocol",), _text),
    "OTEL_EXPORTER_OTLP_HEADERS": (("headers",), _header_list),
    "OTEL_EXPORTER_OTLP_COMPRESSION": (("compression",), _text),
    "OTEL_EXPORTER_OTLP_TIMEOUT": (("timeout",), _millis),
    "OTEL_EXPORTER_OTLP_INSECURE": (("tls", "insecure"), _flag),
    "OTEL_EXPORTER_OTLP_CERTIFICATE": (("tls", "ca_file"), _text),
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": (("tls", "cert_file"), _text),
    "OTEL_EXPORTER_OTLP_CLIENT_KEY": (("tls", "key_file"), _text),
}


def _env_endpoint(env: Mapping[str, str]) -> FromEnv | None:
    """The general endpoint; the traces one (a full URL) only when the general one is unset,
    as a base URL, since alerts (logs) go to the same collector."""
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        value = env.get(name, "").strip()
        if value:
            return FromEnv(name, re.sub(r"/v1/traces/?$", "", value) if "TRACES" in name else value)
    return None


def _as_dict(value: Any) -> dict | None:
    """A copy to fill in: `{}` for absent or null, None when not a mapping at all."""
    return {} if value is None else dict(value) if isinstance(value, Mapping) else None


def _apply_env(doc: dict, env: Mapping[str, str], problems: Problems) -> dict:
    """Fill `exporters.otlp` keys the file leaves unset; create it from the environment only
    when the file has no `exporters.otlp` and an endpoint variable is set."""
    endpoint = _env_endpoint(env)
    exporters = _as_dict(doc.get("exporters"))
    otlp = None if exporters is None else _as_dict(exporters.get("otlp"))
    if exporters is None or otlp is None or ("otlp" not in exporters and endpoint is None):
        return doc  # a section of the wrong type is reported by its reader
    if endpoint is not None:
        otlp.setdefault("endpoint", endpoint)
    for name, (keys, convert) in _ENV.items():
        text = env.get(name, "").strip()
        target = otlp if len(keys) == 1 else _as_dict(otlp.get("tls"))
        if not text or target is None:
            continue
        if len(keys) == 2:
            otlp["tls"] = target
        if keys[-1] not in target:
            target[keys[-1]] = FromEnv(name, convert(text, name, problems))
    return {**doc, "exporters": {**exporters, "otlp": otlp}}


# --- loading ---------------------------------------------------------------------------------


def _parse(data: Any, env: Mapping[str, str], problems: Problems) -> Config | None:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        keys = ", ".join(CONFIG.fields)
        problems.add("", f"must be a mapping with keys {keys}, got {show(data)}")
        return None
    doc = _apply_env(substitute(data, "", env, problems), env, problems)
    return CONFIG(doc, "", problems)


def parse_config(data: Mapping[str, Any] | None, env: Mapping[str, str] = os.environ) -> Config:
    """Validate already-loaded YAML data; raise ConfigError listing every problem."""
    problems = Problems()
    config = _parse(data, env, problems)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def load_config(path: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] = os.environ) -> Config:
    """Read, validate and type a config file; `None` means the embedded default."""
    source = f"(embedded {DEFAULT_CONFIG})" if path is None else os.fspath(path)
    try:
        if path is None:
            text = resources.files("otel_ai_detect.data").joinpath(DEFAULT_CONFIG).read_text()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise ConfigError([f"cannot read {path}: {reason}"], source) from None
    problems = Problems()
    data = load_yaml(text, problems)
    config = None if data is INVALID else _parse(data, env, problems)
    if problems or config is None:
        raise ConfigError(problems, source)
    return config


def validate_file(path: str | os.PathLike[str], env: Mapping[str, str] = os.environ) -> list[str]:
    """Every problem in a config file (empty when valid), for `otel-ai-detect validate`."""
    try:
        load_config(path, env)
    except ConfigError as error:
        return error.problems
    return []
