"""Typed configuration, in the OpenTelemetry Collector's shape.

`config.py` turns YAML (and `OTEL_EXPORTER_OTLP_*`) into these frozen types and
validates them; every other module receives only these. Durations are seconds
(float); sizes are bytes (int). Defaults here are the documented defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TLSServerConfig:
    cert_file: str | None = None
    key_file: str | None = None
    client_ca_file: str | None = None  # set => mutual TLS


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Bearer-token authentication of senders, as the Collector's `bearertokenauth`.

    A request must carry `authorization: Bearer <token>` (gRPC metadata or HTTP
    header); others are refused with UNAUTHENTICATED / 401.
    """

    bearer_token: str | None = None
    bearer_token_file: str | None = None  # read at start; one token, surrounding space trimmed


@dataclass(frozen=True, slots=True)
class GrpcReceiverConfig:
    endpoint: str = "127.0.0.1:4317"
    max_recv_msg_size_mib: float = 4.0
    tls: TLSServerConfig | None = None
    auth: AuthConfig | None = None

    @property
    def max_recv_msg_size(self) -> int:
        return int(self.max_recv_msg_size_mib * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class HttpReceiverConfig:
    endpoint: str = "127.0.0.1:4318"
    # Applies to the body as sent and to the body after gzip decompression.
    max_request_body_size: int = 4 * 1024 * 1024
    tls: TLSServerConfig | None = None
    auth: AuthConfig | None = None


@dataclass(frozen=True, slots=True)
class OtlpReceiverConfig:
    grpc: GrpcReceiverConfig | None = field(default_factory=GrpcReceiverConfig)
    http: HttpReceiverConfig | None = field(default_factory=HttpReceiverConfig)


@dataclass(frozen=True, slots=True)
class TLSClientConfig:
    insecure: bool = False  # plaintext (no TLS at all), as the Collector's `tls.insecure`
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_verify: bool = False


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """The Collector's `retry_on_failure` (exporterhelper) with its defaults."""

    enabled: bool = True
    initial_interval: float = 5.0
    max_interval: float = 30.0
    max_elapsed_time: float = 300.0
    multiplier: float = 1.5
    randomization_factor: float = 0.5


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """The Collector's `sending_queue`: requests waiting for export."""

    enabled: bool = True
    num_consumers: int = 2
    queue_size: int = 1000  # in requests
    # A directory for a persistent queue (as the Collector's file_storage): requests
    # accepted before a crash are delivered after a restart. None: in memory only.
    storage_dir: str | None = None


@dataclass(frozen=True, slots=True)
class OtlpExporterConfig:
    endpoint: str = "127.0.0.1:4317"  # grpc: host:port; http/protobuf: http(s)://host:port
    protocol: str = "grpc"  # grpc | http/protobuf
    tls: TLSClientConfig = field(default_factory=TLSClientConfig)
    headers: tuple[tuple[str, str], ...] = ()
    compression: str = "gzip"  # gzip | none
    timeout: float = 10.0
    retry_on_failure: RetryConfig = field(default_factory=RetryConfig)
    sending_queue: QueueConfig = field(default_factory=QueueConfig)


@dataclass(frozen=True, slots=True)
class DebugExporterConfig:
    verbosity: str = "basic"  # basic: one line per alert | detailed: every attribute


@dataclass(frozen=True, slots=True)
class FileExporterConfig:
    path: str = "alerts.jsonl"


@dataclass(frozen=True, slots=True)
class ExportersConfig:
    otlp: OtlpExporterConfig | None = None
    debug: DebugExporterConfig | None = None
    file: FileExporterConfig | None = None


@dataclass(frozen=True, slots=True)
class AsciiSmugglingConfig:
    enabled: bool = True
    # Other invisible encodings beside Unicode tag characters (README lists them).
    variation_selectors: bool = True
    zero_width_binary: bool = True


@dataclass(frozen=True, slots=True)
class UserAgentConfig:
    enabled: bool = True
    signatures_file: str | None = None  # extra signatures, one per line (see README)


@dataclass(frozen=True, slots=True)
class CredentialsConfig:
    enabled: bool = True
    # A credential the user pasted into their own prompt and the model repeats:
    # `ignore` (the default) raises no alert (the user's own data), `alert` raises one.
    # Either way the redaction setting masks it.
    user_supplied: str = "ignore"  # ignore | alert


# US_BANK_NUMBER and US_PASSPORT are left out: Presidio scores them 0.05-0.45 even next
# to a context word, so at the default threshold they could never be reported.
DEFAULT_PII_ENTITIES = ("CREDIT_CARD", "US_SSN", "IBAN_CODE", "EMAIL_ADDRESS", "PHONE_NUMBER",
                        "CRYPTO", "UK_NHS", "US_ITIN")


@dataclass(frozen=True, slots=True)
class SensitiveDataConfig:
    enabled: bool = True
    entities: tuple[str, ...] = DEFAULT_PII_ENTITIES  # Presidio entity names
    score_threshold: float = 0.5
    # An installed spaCy model (e.g. en_core_web_sm): turns on named-entity
    # recognition (PERSON, LOCATION, ...). None: pattern recognizers only, no download.
    spacy_model: str | None = None
    language: str = "en"


@dataclass(frozen=True, slots=True)
class JailbreakConfig:
    enabled: bool = True
    threshold: float = 0.5  # confidence at or above which an attempt is reported
    # Optional local classifier (e.g. an ONNX prompt-injection model); see README.
    classifier_model: str | None = None


FEED_FORMATS = ("auto", "urls", "domains", "phishtank_json", "phishtank_csv", "urlhaus_csv",
                "tor_bulk", "tor_exit_addresses", "onionoo", "ips")


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """A threat-intelligence feed: a file path or an http(s) URL, in one of FEED_FORMATS."""

    source: str = ""
    format: str = "auto"  # auto: told from the file name and content
    name: str | None = None  # shown in evidence; default: the file or host name
    refresh_interval: float = 3600.0
    headers: tuple[tuple[str, str], ...] = ()


DNS_ZONE_PRESETS = ("spamhaus_dbl", "surbl_multi", "custom")


@dataclass(frozen=True, slots=True)
class DnsZoneConfig:
    """A DNS block list for domains. Presets know their zone's answers; `custom` lists them."""

    zone: str = ""
    preset: str = "custom"
    listed: tuple[tuple[str, str], ...] = ()  # custom: answer (e.g. 127.0.0.2) -> meaning


DEFAULT_BRANDS = ("paypal", "microsoft", "office365", "apple", "icloud", "google", "amazon",
                  "netflix", "facebook", "instagram", "whatsapp", "linkedin", "dropbox",
                  "docusign", "wellsfargo", "chase", "bankofamerica", "coinbase", "binance",
                  "openai", "github")


@dataclass(frozen=True, slots=True)
class PhishingConfig:
    enabled: bool = True
    feeds: tuple[FeedConfig, ...] = ()
    dns_zones: tuple[DnsZoneConfig, ...] = ()
    # Suspicion without a listing (punycode look-alikes of `brands`, raw-IP hosts):
    # off by default, and reported only at `heuristic_confidence`.
    heuristics: bool = False
    brands: tuple[str, ...] = DEFAULT_BRANDS
    heuristic_confidence: float = 0.4


@dataclass(frozen=True, slots=True)
class TorConfig:
    enabled: bool = True
    feeds: tuple[FeedConfig, ...] = ()  # tor_bulk / tor_exit_addresses / onionoo
    dnsel: bool = False  # also ask Tor's DNSEL for addresses not in the feeds
    dnsel_zone: str = "dnsel.torproject.org"


@dataclass(frozen=True, slots=True)
class DetectorsConfig:
    ascii_smuggling: AsciiSmugglingConfig = field(default_factory=AsciiSmugglingConfig)
    user_agent: UserAgentConfig = field(default_factory=UserAgentConfig)
    credentials: CredentialsConfig = field(default_factory=CredentialsConfig)
    sensitive_data: SensitiveDataConfig = field(default_factory=SensitiveDataConfig)
    jailbreak: JailbreakConfig = field(default_factory=JailbreakConfig)
    phishing: PhishingConfig = field(default_factory=PhishingConfig)
    tor: TorConfig = field(default_factory=TorConfig)


@dataclass(frozen=True, slots=True)
class DnsConfig:
    """DNS look-ups for block lists and Tor DNSEL (dnspython)."""

    nameservers: tuple[str, ...] = ()  # host or host:port; empty: the system's resolv.conf
    timeout: float = 0.5  # one look-up, all tries included
    max_concurrency: int = 16
    cache_size: int = 50_000
    negative_ttl: float = 300.0  # how long "not listed" and errors are remembered


@dataclass(frozen=True, slots=True)
class IntelConfig:
    """Threat-intelligence plumbing shared by the detectors that use it."""

    cache_dir: str = ".otel-ai-detect/feeds"  # last good copy of each URL feed
    dns: DnsConfig = field(default_factory=DnsConfig)


@dataclass(frozen=True, slots=True)
class TraceStateConfig:
    """Per-trace memory that joins the HTTP server span with its GenAI spans."""

    ttl: float = 300.0
    # ~0.5 KB each: 50,000 traces are ~25 MB, and at one worker's full speed (~7,500
    # traces/s) still ~7 s of traffic to join a server span with its GenAI span.
    max_traces: int = 50_000


@dataclass(frozen=True, slots=True)
class ProcessorConfig:
    trace_state: TraceStateConfig = field(default_factory=TraceStateConfig)
    # Time one detector may spend on one call before its result is dropped and counted.
    detector_timeout: float = 0.25
    # Time all detection of one request may take; later calls pass through unchecked.
    request_detection_budget: float = 2.0
    # What detected content is masked in re-exported spans and logs:
    # off | secrets | secrets_and_pii
    redaction: str = "secrets"
    # Processes that run detection: 1 is this process alone; N > 1 starts a front
    # (receivers, split by trace id) and N worker processes (workers.py).
    workers: int = 1


@dataclass(frozen=True, slots=True)
class TelemetryMetricsConfig:
    """The processor's own /metrics, /health and /ready HTTP endpoint (the Collector's :8888)."""

    enabled: bool = True
    endpoint: str = "127.0.0.1:8888"
    # Also push the same metrics as OTLP (needs the `otlp-metrics` extra):
    # host:port for grpc, a base URL for http/protobuf; None: Prometheus only.
    otlp_endpoint: str | None = None
    otlp_protocol: str = "grpc"
    otlp_interval: float = 60.0


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    log_level: str = "info"
    metrics: TelemetryMetricsConfig = field(default_factory=TelemetryMetricsConfig)


@dataclass(frozen=True, slots=True)
class Config:
    receiver: OtlpReceiverConfig = field(default_factory=OtlpReceiverConfig)
    exporters: ExportersConfig = field(default_factory=ExportersConfig)
    detectors: DetectorsConfig = field(default_factory=DetectorsConfig)
    intel: IntelConfig = field(default_factory=IntelConfig)
    processor: ProcessorConfig = field(default_factory=ProcessorConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
