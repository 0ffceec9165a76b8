"""config.py: YAML + OTEL_EXPORTER_OTLP_* -> typed Config, every problem at once with its key path.

Broken configs live in testdata/config/, each file named for what is wrong with it.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from otel_ai_detect import config as config_module
from otel_ai_detect.config import (
    ConfigError, format_problems, load_config, parse_config, validate_file,
)
from otel_ai_detect.config_parse import leaf_paths, parse_duration
from otel_ai_detect.config_types import (
    DEFAULT_PII_ENTITIES, AsciiSmugglingConfig, AuthConfig, Config, CredentialsConfig, DebugExporterConfig,
    DetectorsConfig, ExportersConfig, JailbreakConfig, SensitiveDataConfig, FileExporterConfig,
    DnsConfig, DnsZoneConfig, FeedConfig, IntelConfig, PhishingConfig, TorConfig, GrpcReceiverConfig, HttpReceiverConfig, OtlpExporterConfig,
    OtlpReceiverConfig, ProcessorConfig, QueueConfig, RetryConfig, TelemetryConfig,
    TelemetryMetricsConfig,
    TLSClientConfig, TLSServerConfig, TraceStateConfig, UserAgentConfig,
)

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = Path(__file__).parent / "testdata" / "config"
DURATION_HINT = "(like 250ms, 5s, 1m30s or a number of seconds)"
PORT_0 = "must be host:port with a port 0-65535"
PORT_1 = "must be host:port with a port 1-65535"


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    """Stand-in certificate files: the config only checks that they exist."""
    for name in ("server.crt", "server.key", "ca.crt", "client.crt", "client.key"):
        (tmp_path / name).write_text("placeholder\n")
    (tmp_path / "signatures.txt").write_text("evil-bot/\n")
    return tmp_path


def otel(**variables: str) -> dict[str, str]:
    """`otel(endpoint="x")` -> {"OTEL_EXPORTER_OTLP_ENDPOINT": "x"}."""
    return {f"OTEL_EXPORTER_OTLP_{name.upper()}": value for name, value in variables.items()}


def problems_in(name: str, env: dict[str, str] | None = None) -> list[str]:
    return validate_file(str(TESTDATA / name), env or {})


def load(name: str, env: dict[str, str] | None = None) -> Config:
    return load_config(str(TESTDATA / name), env or {})


# --- broken files: exactly the expected problems --------------------------------------------

BROKEN = [
    pytest.param("unknown-key.yaml", [
        "receivers.otlp.protocols.grpc.endpointt: unknown key",
    ], id="a misspelt key is named by its full key path"),
    pytest.param("unknown-keys-at-every-level.yaml", [
        "extensions: unknown key",
        "receivers.jaeger: unknown key",
        "receivers.otlp.protocol: unknown key",
        "exporters.otlphttp: unknown key",
        "exporters.otlp.retry_on_failure.max_retries: unknown key",
        "detectors.pii: unknown key",
        "processor.trace_state.size: unknown key",
        "service.telemetry.traces: unknown key",
    ], id="unknown keys are rejected at every level"),
    pytest.param("bad-endpoints.yaml", [
        f'receivers.otlp.protocols.grpc.endpoint: {PORT_0}, got "localhost"',
        f'receivers.otlp.protocols.http.endpoint: {PORT_0}, got "0.0.0.0:70000"',
        f'exporters.otlp.endpoint: {PORT_1}, got "collector:otlp"',
    ], id="endpoints without a port or with a port out of range are refused"),
    pytest.param("bad-http-exporter-endpoint.yaml", [
        'exporters.otlp.endpoint: must start with http:// or https://, got "ftp://collector:4318"',
    ], id="an http exporter endpoint must be an http or https URL"),
    pytest.param("bad-enums.yaml", [
        'exporters.otlp.protocol: must be one of grpc, http/protobuf, got "http/json"',
        'exporters.otlp.compression: must be one of gzip, none, got "zstd"',
        'exporters.debug.verbosity: must be one of basic, detailed, got "normal"',
        'service.telemetry.logs.level: must be one of debug, info, warn, error, got "warning"',
    ], id="values outside their allowed set list the allowed ones"),
    pytest.param("wrong-types.yaml", [
        'receivers.otlp.protocols: must be a mapping with keys grpc, http, got "grpc"',
        'exporters.otlp.sending_queue.enabled: must be true or false, got "sometimes"',
        "exporters.otlp.sending_queue.queue_size: must be an integer >= 1, got 10.5",
        "detectors.user_agent: must be a mapping with keys enabled, signatures_file, got true",
        'processor.trace_state.max_traces: must be an integer >= 1, got "many"',
    ], id="values of the wrong type are refused"),
    pytest.param("negative-sizes-and-durations.yaml", [
        "receivers.otlp.protocols.grpc.max_recv_msg_size_mib: must be a number > 0, got -1",
        "receivers.otlp.protocols.http.max_request_body_size: must be an integer >= 1, got -5",
        f'exporters.otlp.timeout: must be a duration > 0 {DURATION_HINT}, got "-1s"',
        f'processor.trace_state.ttl: must be a duration > 0 {DURATION_HINT}, got "-5m"',
        f"processor.detector_timeout: must be a duration > 0 {DURATION_HINT}, got 0",
    ], id="negative or zero sizes and durations are refused"),
    pytest.param("workers-below-one.yaml", [
        "processor.workers: must be an integer >= 1, got 0",
    ], id="processor.workers below one is refused"),
    pytest.param("queue-and-consumers-below-one.yaml", [
        "exporters.otlp.sending_queue.num_consumers: must be an integer >= 1, got 0",
        "exporters.otlp.sending_queue.queue_size: must be an integer >= 1, got 0",
    ], id="a sending queue needs at least one slot and one consumer"),
    pytest.param("bad-retry.yaml", [
        'exporters.otlp.retry_on_failure.multiplier: must be a number >= 1, got "fast"',
        "exporters.otlp.retry_on_failure.randomization_factor:"
        " must be a number between 0 and 1, got 2",
        "exporters.otlp.retry_on_failure.max_interval: must be >= initial_interval",
    ], id="retry settings are checked alone and against each other"),
    pytest.param("tls-files-missing.yaml", [
        'receivers.otlp.protocols.grpc.tls.cert_file: file not found: "does-not-exist/server.crt"',
        'receivers.otlp.protocols.grpc.tls.key_file: file not found: "does-not-exist/server.key"',
        'exporters.otlp.tls.ca_file: file not found: "does-not-exist/ca.crt"',
    ], id="tls files that do not exist are refused"),
    pytest.param("receivers-on-one-port.yaml", [
        "receivers.otlp.protocols.http.endpoint: port 4317 is also the grpc receiver's",
    ], id="the two receivers cannot share a port"),
    pytest.param("insecure-contradicts-scheme.yaml", [
        "exporters.otlp.tls.insecure: true contradicts the https:// endpoint",
    ], id="tls insecure cannot contradict the endpoint scheme"),
    pytest.param("unset-env-variable.yaml", [
        "exporters.otlp.endpoint: environment variable COLLECTOR_ENDPOINT is not set"
        " (use ${env:COLLECTOR_ENDPOINT:-default} for a default)",
        "exporters.otlp.headers.x-api-key: environment variable API_KEY is not set"
        " (use ${env:API_KEY:-default} for a default)",
    ], id="an unset environment variable without a default is a problem"),
    pytest.param("unsupported-reference.yaml", [
        "exporters.file.path: unsupported reference: use ${env:NAME} or ${env:NAME:-default}"
        " ($$ is a literal $)",
    ], id="only environment variables can be referenced"),
    pytest.param("duplicate-key.yaml", [
        "receivers.otlp.protocols.grpc.endpoint: duplicate key (line 7)",
    ], id="a key given twice in one mapping is a problem"),
    pytest.param("top-level-is-a-list.yaml", [
        "config: must be a mapping with keys receivers, exporters, detectors, intel, processor, service,"
        " got a list",
    ], id="a top level that is not a mapping is a problem"),
    pytest.param("yaml-syntax-error.yaml", [
        "line 6, column 10: expected ',' or '}', but got ':'"
        " (while parsing a flow mapping at line 5)",
    ], id="a yaml syntax error names its line and column"),
    pytest.param("every-problem-at-once.yaml", [
        "receivers.otlp.protocols.grpc.endpointt: unknown key",
        'exporters.otlp.compression: must be one of gzip, none, got "brotli"',
        'exporters.otlp.retry_on_failure.multiplier: must be a number >= 1, got "fast"',
        f'exporters.otlp.endpoint: {PORT_1}, got "collector:99999"',
        f'processor.detector_timeout: must be a duration > 0 {DURATION_HINT}, got "soon"',
    ], id="a file with five different problems reports all five at once"),
]


@pytest.mark.parametrize(("name", "expected"), BROKEN)
def test_broken_file_yields_exactly_the_expected_problems(name: str, expected: list[str]) -> None:
    assert problems_in(name) == expected


def test_tls_certificate_without_its_key_is_a_problem_on_both_sides(tls_dir: Path) -> None:
    assert problems_in("tls-cert-without-key.yaml", {"TLS_DIR": str(tls_dir)}) == [
        "receivers.otlp.protocols.grpc.tls.key_file: required when cert_file is set",
        "receivers.otlp.protocols.http.tls:"
        " needs cert_file and key_file (remove tls for plaintext)",
        "exporters.otlp.tls.key_file: required when cert_file is set",
    ]


def test_load_config_raises_one_error_listing_every_problem_with_the_file_name() -> None:
    with pytest.raises(ConfigError) as caught:
        load("every-problem-at-once.yaml")
    assert len(caught.value.problems) == 5
    message = str(caught.value)
    assert message.startswith(f"{TESTDATA / 'every-problem-at-once.yaml'}: 5 problems\n  - ")
    assert all(problem in message for problem in caught.value.problems)


def test_a_missing_file_is_a_problem_not_a_traceback() -> None:
    assert validate_file(str(TESTDATA / "no-such-file.yaml"), {}) == [
        f"cannot read {TESTDATA / 'no-such-file.yaml'}: No such file or directory"
    ]


def test_format_problems_counts_and_indents_each_problem() -> None:
    assert format_problems(["a: x"], "c.yaml") == "c.yaml: 1 problem\n  - a: x"
    assert format_problems(["a: x", "b: y"]) == "config: 2 problems\n  - a: x\n  - b: y"


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    pytest.param("secret-headers-with-problems.yaml", id="bad header names and values"),
    pytest.param("headers-not-a-mapping.yaml", id="headers given as a string"),
    pytest.param("yaml-syntax-error.yaml", id="a syntax error on a line holding a key"),
])
def test_header_secrets_never_appear_in_problems(name: str) -> None:
    problems = problems_in(name)
    assert problems
    assert not any("sk-live" in problem or "SECRET" in problem for problem in problems)


def test_bad_header_entries_are_named_by_key_path() -> None:
    assert problems_in("secret-headers-with-problems.yaml") == [
        "exporters.otlp.headers.bad name: is not a valid header name",
        "exporters.otlp.headers.x-api-keys: header value must be a string (value not shown)",
        "exporters.otlp.headers.x-token: header value has a line break (value not shown)",
    ]


def test_a_malformed_otel_exporter_otlp_headers_variable_never_shows_a_value() -> None:
    env = otel(endpoint="collector:4317", headers="authorization=Bearer sk-live-SECRET,sk-live-2")
    assert problems_in("empty.yaml", env) == [
        "OTEL_EXPORTER_OTLP_HEADERS: entry 2 is not key=value (value not shown)"]


# --- defaults and valid files ----------------------------------------------------------------


@pytest.mark.parametrize("name", [
    pytest.param("empty.yaml", id="an empty file"),
    pytest.param("null-document.yaml", id="a null document"),
])
def test_an_empty_config_means_the_config_types_defaults(name: str) -> None:
    assert load(name) == Config()


def test_the_defaults_are_the_documented_ones() -> None:
    config = parse_config({"exporters": {"otlp": None, "debug": None, "file": None}}, env={})
    assert config.receiver.grpc == GrpcReceiverConfig("127.0.0.1:4317", 4.0, None)
    assert config.receiver.http == HttpReceiverConfig("127.0.0.1:4318", 4 * 1024 * 1024, None)
    assert config.exporters.otlp == OtlpExporterConfig(
        "127.0.0.1:4317", "grpc", TLSClientConfig(False, None, None, None, False), (), "gzip", 10.0,
        RetryConfig(True, 5.0, 30.0, 300.0, 1.5, 0.5), QueueConfig(True, 2, 1000))
    assert config.exporters.debug == DebugExporterConfig("basic")
    assert config.exporters.file == FileExporterConfig("alerts.jsonl")
    assert config.detectors == DetectorsConfig(
        AsciiSmugglingConfig(True, True, True), UserAgentConfig(True, None),
        CredentialsConfig(True, "ignore"), SensitiveDataConfig(True, DEFAULT_PII_ENTITIES, 0.5, None, "en"),
        JailbreakConfig(True, 0.5, None))
    assert config.processor == ProcessorConfig(TraceStateConfig(300.0, 50_000), 0.25, 2.0, "secrets", 1)
    assert config.telemetry == TelemetryConfig("info")


def test_a_full_config_sets_every_key(tls_dir: Path) -> None:
    d = str(tls_dir)
    server_tls = TLSServerConfig(f"{d}/server.crt", f"{d}/server.key", f"{d}/ca.crt")
    config = load("valid-full.yaml", {"TLS_DIR": d, "API_TOKEN": "t0ken"})
    assert config == Config(
        receiver=OtlpReceiverConfig(
            grpc=GrpcReceiverConfig("0.0.0.0:14317", 16.0, server_tls, AuthConfig("t0ken", None)),
            http=HttpReceiverConfig("[::1]:14318", 8 * 1024 * 1024, server_tls,
                                    AuthConfig(None, f"{d}/ca.crt")),
        ),
        exporters=ExportersConfig(
            otlp=OtlpExporterConfig(
                endpoint="https://collector.internal:443",
                protocol="http/protobuf",
                tls=TLSClientConfig(False, f"{d}/ca.crt", f"{d}/client.crt", f"{d}/client.key",
                                    insecure_skip_verify=True),
                headers=(("x-tenant", "blue"), ("authorization", "Bearer t0ken")),
                compression="none",
                timeout=2.5,
                retry_on_failure=RetryConfig(False, 1.0, 60.0, 600.0, 2.0, 0.1),
                sending_queue=QueueConfig(False, 8, 50, "/var/lib/otel-ai-detect/queue"),
            ),
            debug=DebugExporterConfig("detailed"),
            file=FileExporterConfig(f"{d}/alerts.jsonl"),
        ),
        detectors=DetectorsConfig(
            AsciiSmugglingConfig(False, False, False),
            UserAgentConfig(False, f"{d}/signatures.txt"),
            CredentialsConfig(True, "alert"),
            SensitiveDataConfig(True, ("CREDIT_CARD", "EMAIL_ADDRESS"), 0.6, "en_core_web_sm", "en"),
            JailbreakConfig(True, 0.7, None),
            PhishingConfig(True, (FeedConfig("https://feeds.example/openphish.txt", "urls",
                                             "openphish", 1800.0, (("x-feed-key", "k"),)),),
                           (DnsZoneConfig("dbl.spamhaus.org", "spamhaus_dbl", ()),),
                           True, ("paypal",), 0.3),
            TorConfig(True, (FeedConfig("https://check.torproject.org/torbulkexitlist", "tor_bulk",
                                        "tor"),), True,
                      "dnsel.torproject.org")),
        intel=IntelConfig("/var/cache/otel-ai-detect",
                          DnsConfig(("127.0.0.1:5353",), 0.25, 4, 1000, 60.0)),
        processor=ProcessorConfig(TraceStateConfig(120.0, 5000), 1.0, 5.0, "secrets_and_pii", 3),
        telemetry=TelemetryConfig("debug", TelemetryMetricsConfig(False, "0.0.0.0:18888",
                                                                   "collector.internal:4317",
                                                                   "http/protobuf", 15.0)),
    )


def yaml_paths(node: object, path: str = "") -> set[str]:
    """The key path of every node in a YAML document."""
    if isinstance(node, list):  # a list of sections: its items' keys, without an index
        return {path}.union(*(yaml_paths(item, path) for item in node))
    if not isinstance(node, dict):
        return {path}
    children = (yaml_paths(value, f"{path}.{key}" if path else key) for key, value in node.items())
    return {path}.union(*children)


def either(paths) -> set[str]:
    """Key paths with the alternatives that exclude each other (a token or its file) as one."""
    return {path.replace("bearer_token_file", "bearer_token") for path in paths}


def test_the_full_testdata_file_really_names_every_key() -> None:
    raw = yaml.safe_load((TESTDATA / "valid-full.yaml").read_text())
    assert either(leaf_paths(config_module.CONFIG)) <= either(yaml_paths(raw))


@pytest.mark.parametrize(("name", "grpc", "http"), [
    pytest.param("empty.yaml", GrpcReceiverConfig(), HttpReceiverConfig(),
                 id="no protocols means both on with defaults"),
    pytest.param("grpc-only.yaml", GrpcReceiverConfig(), None,
                 id="an empty grpc entry is on with defaults and the unlisted http is off"),
    pytest.param("http-only.yaml", None, HttpReceiverConfig("0.0.0.0:4318"),
                 id="listing only http turns grpc off"),
])
def test_listed_protocols_are_on_and_unlisted_ones_off(
    name: str, grpc: object, http: object
) -> None:
    assert load(name).receiver == OtlpReceiverConfig(grpc=grpc, http=http)


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param({"receivers": {"otlp": {"protocols": {}}}}, OtlpReceiverConfig(),
                 id="an empty protocols mapping keeps both receivers"),
    pytest.param({"receivers": {"otlp": None}}, OtlpReceiverConfig(),
                 id="an empty otlp receiver keeps both receivers"),
    pytest.param({"receivers": {"otlp": {"protocols": {"grpc": {"tls": None}}}}},
                 OtlpReceiverConfig(GrpcReceiverConfig(), None),
                 id="a null tls means plaintext"),
    pytest.param({"receivers": {"otlp": {"protocols": {"grpc": {"endpoint": ":0"}}}}},
                 OtlpReceiverConfig(GrpcReceiverConfig(":0"), None),
                 id="an empty host listens everywhere and port 0 picks a free port"),
])
def test_receiver_sections_that_are_empty_mean_defaults(data: dict, expected: object) -> None:
    assert parse_config(data, env={}).receiver == expected


@pytest.mark.parametrize(("otlp", "endpoint", "insecure"), [
    pytest.param({"endpoint": "http://collector:4317"}, "collector:4317", True,
                 id="a grpc endpoint with http scheme becomes host port over plaintext"),
    pytest.param({"endpoint": "https://collector:4317/"}, "collector:4317", False,
                 id="a grpc endpoint with https scheme keeps tls"),
    pytest.param({"endpoint": "collector:4318/", "protocol": "http/protobuf"},
                 "https://collector:4318", False,
                 id="an http endpoint without scheme gets https and loses its trailing slash"),
    pytest.param({"endpoint": "collector:4318", "protocol": "http/protobuf",
                  "tls": {"insecure": True}}, "http://collector:4318", True,
                 id="an http endpoint without scheme gets http when tls is insecure"),
    pytest.param({"protocol": "http/protobuf", "tls": {"insecure": True}},
                 "http://127.0.0.1:4318", True,
                 id="an http exporter without an endpoint defaults to port 4318"),
    pytest.param({"endpoint": "http://[::1]:4318/otlp", "protocol": "http/protobuf"},
                 "http://[::1]:4318/otlp", True,
                 id="an http endpoint keeps its base path"),
])
def test_exporter_endpoints_are_normalised_like_the_collector(
    otlp: dict, endpoint: str, insecure: bool
) -> None:
    exporter = parse_config({"exporters": {"otlp": otlp}}, env={}).exporters.otlp
    assert (exporter.endpoint, exporter.tls.insecure) == (endpoint, insecure)


def test_an_exporter_needs_a_host_and_a_real_port() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"exporters": {"otlp": {"endpoint": ":0"}}}, env={})
    assert caught.value.problems == [f'exporters.otlp.endpoint: {PORT_1}, got ":0"']


def test_parse_config_leaves_its_input_unchanged() -> None:
    data = {"exporters": {"otlp": {"endpoint": "collector:4317"}}}
    parse_config(data, env=otel(protocol="http/protobuf", insecure="true"))
    assert data == {"exporters": {"otlp": {"endpoint": "collector:4317"}}}


# --- durations and env substitution ----------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("500ms", 0.5), ("5s", 5.0), ("1m30s", 90.0), ("2h", 7200.0), ("1.5h", 5400.0),
    ("250us", 0.00025), ("0", 0.0), ("-1s", -1.0), ("1h2m3s4ms", 3723.004),
    ("5", None), ("5 s", None), ("s", None), ("", None), ("1d", None), ("5sec", None),
])
def test_go_durations_parse_to_seconds(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_durations_accept_go_strings_and_plain_seconds() -> None:
    config = load("durations.yaml")
    assert config.exporters.otlp.timeout == 90.0
    assert config.exporters.otlp.retry_on_failure == RetryConfig(True, 0.5, 7200.0, 0.0, 1.5, 0.5)
    assert config.processor == ProcessorConfig(TraceStateConfig(90.0, 50_000), 0.5)


def test_env_references_are_substituted_and_whole_references_read_as_yaml() -> None:
    env = {"LISTEN_HOST": "0.0.0.0", "GRPC_PORT": "4317", "GRPC_MAX_MIB": "8",
           "API_TOKEN": "t0ken", "INSECURE": "true"}
    config = load("env-substitution.yaml", env)
    assert config.receiver == OtlpReceiverConfig(GrpcReceiverConfig("0.0.0.0:4317", 8.0), None)
    otlp = config.exporters.otlp
    assert otlp.endpoint == "collector:4317"  # the :-default
    assert otlp.headers == (("authorization", "Bearer t0ken"), ("x-price", "$5"))
    assert otlp.tls.insecure is True
    assert config.processor.detector_timeout == 0.1


def test_a_whole_reference_stays_text_where_a_string_is_wanted() -> None:
    data = {"exporters": {"otlp": {"headers": {"x-id": "${env:ID}"}},
                          "file": {"path": "${env:P}"}}}
    config = parse_config(data, env={"ID": "0012", "P": "123"})
    assert config.exporters.otlp.headers == (("x-id", "0012"),)
    assert config.exporters.file.path == "123"


def test_a_reference_to_an_empty_default_unsets_an_optional_file() -> None:
    data = {"detectors": {"user_agent": {"signatures_file": "${env:SIGNATURES:-}"}}}
    assert parse_config(data, env={}).detectors.user_agent.signatures_file is None


def test_a_whole_reference_of_the_wrong_type_is_reported_with_its_value() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"processor": {"trace_state": {"max_traces": "${env:N}"}}}, env={"N": "lots"})
    assert caught.value.problems == [
        'processor.trace_state.max_traces: must be an integer >= 1, got "lots"']


# --- OTEL_EXPORTER_OTLP_* --------------------------------------------------------------------

ALL_ENV = otel(endpoint="http://env-collector:4318", protocol="http/protobuf",
               headers="x-tenant=from%20env", compression="gzip", timeout="1500", insecure="false")


def test_environment_variables_change_nothing_the_file_sets() -> None:
    name = "exporter-file-sets-every-env-key.yaml"
    assert load(name, ALL_ENV) == load(name)


def test_environment_variables_fill_in_what_the_file_leaves_unset(tls_dir: Path) -> None:
    env = {**ALL_ENV, **otel(protocol="grpc", insecure="true", certificate=f"{tls_dir}/ca.crt")}
    otlp = load("exporter-file-sets-endpoint-only.yaml", env).exporters.otlp
    assert otlp == OtlpExporterConfig(
        endpoint="collector.internal:4317", protocol="grpc",
        tls=TLSClientConfig(insecure=True, ca_file=f"{tls_dir}/ca.crt"),
        headers=(("x-tenant", "from env"),), compression="gzip", timeout=1.5,
    )


def test_environment_variables_fill_in_an_empty_otlp_section() -> None:
    config = parse_config({"exporters": {"otlp": None}}, env=otel(timeout="250"))
    assert config.exporters.otlp == OtlpExporterConfig(timeout=0.25)


@pytest.mark.parametrize(("env", "endpoint", "protocol", "insecure"), [
    pytest.param(otel(endpoint="http://env-collector:4318"),
                 "env-collector:4318", "grpc", True,
                 id="an http URL for grpc becomes host port with tls insecure"),
    pytest.param(otel(endpoint="https://env-collector:4317", insecure="true"),
                 "env-collector:4317", "grpc", False,
                 id="an https URL for grpc keeps tls whatever OTEL_EXPORTER_OTLP_INSECURE says"),
    pytest.param(otel(endpoint="env-collector:4317", insecure="true"),
                 "env-collector:4317", "grpc", True,
                 id="a bare host port for grpc takes OTEL_EXPORTER_OTLP_INSECURE"),
    pytest.param(otel(endpoint="http://env-collector:4318", protocol="http/protobuf"),
                 "http://env-collector:4318", "http/protobuf", True,
                 id="an http URL for http protobuf stays a URL"),
    pytest.param(otel(endpoint="env-collector:4318", protocol="http/protobuf"),
                 "https://env-collector:4318", "http/protobuf", False,
                 id="a bare host port for http protobuf gets https by default"),
    pytest.param(otel(endpoint="env-collector:4318", protocol="http/protobuf", insecure="TRUE"),
                 "http://env-collector:4318", "http/protobuf", True,
                 id="a bare host port for http protobuf gets http when insecure"),
    pytest.param(otel(traces_endpoint="http://traces:4318/v1/traces", protocol="http/protobuf"),
                 "http://traces:4318", "http/protobuf", True,
                 id="the traces endpoint alone is used as a base URL"),
    pytest.param(otel(endpoint="general:4317", traces_endpoint="traces:4317"),
                 "general:4317", "grpc", False,
                 id="the general endpoint wins over the traces endpoint"),
])
def test_an_otlp_exporter_is_created_from_the_environment_when_the_file_has_none(
    env: dict[str, str], endpoint: str, protocol: str, insecure: bool
) -> None:
    exporters = load("debug-exporter-only.yaml", env).exporters
    assert exporters.debug == DebugExporterConfig()
    assert exporters.otlp is not None
    otlp = exporters.otlp
    assert (otlp.endpoint, otlp.protocol, otlp.tls.insecure) == (endpoint, protocol, insecure)


def test_no_otlp_exporter_is_created_without_an_endpoint_variable() -> None:
    env = {**ALL_ENV, **otel(endpoint="")}  # empty counts as unset
    assert load("debug-exporter-only.yaml", env).exporters.otlp is None


def test_bad_environment_values_are_named_by_their_variable() -> None:
    env = otel(endpoint="ftp://collector", protocol="http/json", compression="br",
               timeout="soon", insecure="maybe", certificate="/no/such/ca.pem")
    assert problems_in("empty.yaml", env) == [
        'OTEL_EXPORTER_OTLP_TIMEOUT: must be milliseconds > 0, got "soon"',
        'OTEL_EXPORTER_OTLP_INSECURE: must be true or false, got "maybe"',
        'OTEL_EXPORTER_OTLP_PROTOCOL: must be one of grpc, http/protobuf, got "http/json"',
        'OTEL_EXPORTER_OTLP_COMPRESSION: must be one of gzip, none, got "br"',
        'OTEL_EXPORTER_OTLP_CERTIFICATE: file not found: "/no/such/ca.pem"',
    ]


def test_a_bad_endpoint_variable_is_named_and_its_password_masked() -> None:
    env = otel(endpoint="https://user:hunter2@collector:99999", protocol="http/protobuf")
    assert problems_in("empty.yaml", env) == [
        "OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL with a host,"
        ' got "https://***@collector:99999"']


# --- the embedded default, the example and the reference -------------------------------------


def test_the_embedded_default_has_both_receivers_the_debug_exporter_and_every_detector() -> None:
    config = load_config(None, env={})
    assert config.receiver == OtlpReceiverConfig(
        GrpcReceiverConfig("127.0.0.1:4317"), HttpReceiverConfig("127.0.0.1:4318"))
    assert config.exporters == ExportersConfig(debug=DebugExporterConfig("basic"))
    detectors = [getattr(config.detectors, f.name) for f in dataclasses.fields(DetectorsConfig)]
    assert all(detector.enabled for detector in detectors)


def test_the_embedded_default_forwards_to_an_otlp_exporter_only_when_the_endpoint_is_set() -> None:
    config = load_config(None, env=otel(endpoint="http://collector:4317"))
    assert config.exporters.otlp == OtlpExporterConfig(
        endpoint="collector:4317", tls=TLSClientConfig(insecure=True))
    assert config.exporters.debug == DebugExporterConfig()


def test_the_example_with_every_key_loads_to_the_defaults() -> None:
    config = load_config(str(ROOT / "examples" / "config-all-keys.yaml"), env={})
    exporters = ExportersConfig(OtlpExporterConfig(), DebugExporterConfig(), FileExporterConfig())
    assert config == Config(exporters=exporters)


def test_the_example_shows_every_key() -> None:
    text = (ROOT / "examples" / "config-all-keys.yaml").read_text()
    uncommented = re.sub(r"(?m)^#( *(?:- )?\w+:)", r" \1", text)  # tls blocks and list items
    assert either(leaf_paths(config_module.CONFIG)) <= either(yaml_paths(yaml.safe_load(uncommented)))


def test_the_reference_documents_every_key_and_no_other() -> None:
    readme = (ROOT / "README.md").read_text()
    text = readme.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"(?m)^\| `([a-z_.]+)` \|", text))
    assert documented == set(leaf_paths(config_module.CONFIG))
