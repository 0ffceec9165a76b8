"""The processor's own metrics, in the OpenTelemetry Collector's style (README: "The processor's own telemetry").

`ProcessorMetrics(service)` is a prometheus_client custom collector on a
private registry (never the global one: several services may share a process).
Almost everything is read at scrape time from counters the service already
keeps (`Service.stats`, `Engine.stats`, `Engine.state`, the sending queues, the
feeds and DNS look-ups of the intel detectors), so it costs nothing on the hot
path. The one hot-path metric is the detector time histogram:
`observe_detector(name, seconds)` is a bisect and a locked add (~0.6 µs; a
prometheus_client Histogram child costs ~1.7 µs).

`serve(endpoint)` starts the `/metrics` `/health` `/ready` HTTP server
(`health.TelemetryServer`); `start_otlp_push` optionally pushes the same
metrics as OTLP with the OpenTelemetry SDK.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from otel_ai_detect.model import CATALOG

__all__ = ["DETECTOR_BUCKETS", "PREFIX", "ProcessorMetrics", "start_otlp_push"]

PREFIX = "otelaidetect_"
DETECTOR_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                    0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Service.stats signal -> the Collector's item unit in metric names.
UNITS = {"traces": "spans", "logs": "log_records", "metrics": "metric_points",
         "alerts": "alerts"}


class _Histogram:
    """Bucket counts of one detector (not cumulative; `le` buckets are built at scrape)."""

    __slots__ = ("counts", "sum", "lock")

    def __init__(self, size: int) -> None:
        self.counts = [0] * size
        self.sum = 0.0
        self.lock = threading.Lock()


class ProcessorMetrics:
    """Metrics of one `Service`; register-free: use `registry`, `render()` or `serve()`."""

    def __init__(self, service: Any, *, buckets: tuple[float, ...] = DETECTOR_BUCKETS,
                 clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self.buckets = tuple(sorted(buckets))
        self._clock = clock
        self._histograms: dict[str, _Histogram] = {}
        self._new_lock = threading.Lock()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        engine = getattr(service, "engine", None)
        if engine is not None:  # the engine calls this per detector run (when wired)
            try:
                engine.observe_detector = self.observe_detector
            except AttributeError:  # a test double with __slots__
                pass

    # --- hot path ----------------------------------------------------------------------
    def observe_detector(self, name: str, seconds: float,
                         _bisect: Callable = bisect.bisect_left) -> None:
        """One detector run took `seconds`. Thread-safe, < 1 µs."""
        hist = self._histograms.get(name)
        if hist is None:
            with self._new_lock:
                hist = self._histograms.setdefault(name, _Histogram(len(self.buckets) + 1))
        index = _bisect(self.buckets, seconds)
        with hist.lock:
            hist.counts[index] += 1
            hist.sum += seconds

    # --- scrape --------------------------------------------------------------------------
    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def serve(self, endpoint: str = "127.0.0.1:8888",
              is_ready: Callable[[], bool] | None = None) -> Any:
        """Start the `/metrics` `/health` `/ready` server; returns it (`.port`, `.stop()`)."""
        from otel_ai_detect.health import TelemetryServer, service_ready

        ready = is_ready if is_ready is not None else (lambda: service_ready(self.service))
        return TelemetryServer(endpoint, self.render, ready).start()

    def collect(self) -> Iterator[Metric]:
        yield from self._pipeline_metrics()
        yield from self._engine_metrics()
        yield from self._intel_metrics()

    def _pipeline_metrics(self) -> Iterator[Metric]:
        stats = getattr(self.service, "stats", None)
        exporters = [e.name for e in getattr(self.service, "exporters", ())]
        for signal, unit in UNITS.items():
            received = stats.get(signal, "received") if stats is not None else 0
            refused = stats.get(signal, "refused") if stats is not None else 0
            if signal != "alerts":
                yield _counter(f"receiver_accepted_{unit}",
                               f"{unit} accepted by the receivers (and processed)",
                               [((), received - refused)])
                yield _counter(f"receiver_refused_{unit}",
                               f"{unit} refused with back-pressure (the sender retries)",
                               [((), refused)])
            else:
                yield _counter("processor_alerts_produced", "alert log records produced",
                               [((), received)])
            for counter, name, text in (
                    ("exported", "sent", "delivered by the exporter"),
                    ("failed", "send_failed", "in failed send attempts (a retry counts again)"),
                    ("dropped", "dropped", "the exporter gave up on (not retryable, retries "
                                           "exhausted, shutdown)")):
                values = [((e,), stats.get(signal, counter, e) if stats is not None else 0)
                          for e in exporters]
                yield _counter(f"exporter_{name}_{unit}", f"{unit} {text}", values, ["exporter"])
        errors = [((signal,), stats.get(signal, "engine_errors") if stats is not None else 0)
                  for signal in ("traces", "logs")]
        yield _counter("processor_engine_errors", "requests the engine failed on (forwarded "
                       "unannotated)", errors, ["signal"])
        auth = stats.get("auth", "refused") if stats is not None else 0
        yield _counter("receiver_auth_refused", "requests refused for a missing or wrong "
                       "bearer token", [((), auth)])
        size = GaugeMetricFamily(PREFIX + "exporter_queue_size",
                                 "request groups in the sending queue (queued + reserved)",
                                 labels=["exporter"])
        capacity = GaugeMetricFamily(PREFIX + "exporter_queue_capacity",
                                     "sending queue capacity in request groups",
                                     labels=["exporter"])
        for pipeline in getattr(self.service, "_pipelines", ()):
            queue = pipeline.queue
            if queue is not None:
                size.add_metric([pipeline.exporter.name], _queue_size(queue))
                capacity.add_metric([pipeline.exporter.name], queue.capacity)
        yield size
        yield capacity

    def _engine_metrics(self) -> Iterator[Metric]:
        engine = getattr(self.service, "engine", None)
        stats = getattr(engine, "stats", None)
        counts = _copy_counters(stats, ("alerts", "detector_errors", "detector_timeouts",
                                        "failures"))
        alerts = [((rule, _severity(rule)), n) for rule, n in sorted(counts["alerts"].items())]
        yield _counter("alerts", "alerts raised, by rule and severity", alerts,
                       ["rule", "severity"])
        yield _counter("detector_errors", "detector runs that raised (their result is lost)",
                       sorted(((k,), n) for k, n in counts["detector_errors"].items()),
                       ["detector"])
        yield _counter("detector_timeouts", "detector runs over processor.detector_timeout "
                       "(their result is dropped)",
                       sorted(((k,), n) for k, n in counts["detector_timeouts"].items()),
                       ["detector"])
        yield _counter("processor_unannotated", "spans / log batches the engine could not "
                       "annotate", sorted(((k,), n) for k, n in counts["failures"].items()),
                       ["signal"])
        state = getattr(engine, "state", None)
        traces = GaugeMetricFamily(PREFIX + "trace_state_traces",
                                   "traces held in the per-trace memory")
        traces.add_metric([], len(state) if state is not None else 0)
        yield traces
        hist = HistogramMetricFamily(PREFIX + "detector_duration_seconds",
                                     "time of one detector run on one call",
                                     labels=["detector"])
        for name in sorted(self._histograms):
            h = self._histograms[name]
            with h.lock:
                counts, total = list(h.counts), h.sum
            cumulative, running = [], 0
            for bound, count in zip((*map(_le, self.buckets), "+Inf"), counts):
                running += count
                cumulative.append((bound, running))
            hist.add_metric([name], cumulative, total)
        yield hist

    def _intel_metrics(self) -> Iterator[Metric]:
        now = self._clock()
        entries = GaugeMetricFamily(PREFIX + "feed_entries", "indicators loaded from the feed",
                                    labels=["detector", "feed"])
        age = GaugeMetricFamily(PREFIX + "feed_age_seconds", "seconds since the feed was "
                                "last fetched or read successfully", labels=["detector", "feed"])
        stale = GaugeMetricFamily(PREFIX + "feed_stale", "1 when the last refresh failed "
                                  "(an older copy or nothing is served)",
                                  labels=["detector", "feed"])
        failures = CounterMetricFamily(PREFIX + "feed_refresh_failures", "failed refreshes",
                                       labels=["detector", "feed"])
        dns = {key: CounterMetricFamily(PREFIX + f"dns_{key}", text, labels=["detector"])
               for key, text in (("lookups", "names looked up (cache hits included)"),
                                 ("cache_hits", "look-ups answered from the cache"),
                                 ("queries", "DNS queries sent"),
                                 ("listed", "look-ups that found a listing"))}
        dns_errors = CounterMetricFamily(PREFIX + "dns_errors", "failed DNS look-ups by kind",
                                         labels=["detector", "kind"])
        for detector in _detectors(getattr(self.service, "engine", None)):
            name = getattr(detector, "name", type(detector).__name__)
            feeds = getattr(detector, "feeds", None)
            for status in (feeds.status() if feeds is not None else ()):
                labels = [name, status.name]
                entries.add_metric(labels, status.entries)
                stale.add_metric(labels, 1 if status.stale else 0)
                failures.add_metric(labels, status.failures)
                if status.last_success is not None:
                    age.add_metric(labels, max(0.0, now - status.last_success))
            lookup = getattr(detector, "dns", None)
            if lookup is not None:
                snapshot = lookup.stats.snapshot()
                for key, family in dns.items():
                    family.add_metric([name], snapshot[key])
                for kind, n in sorted(snapshot["errors"].items()):
                    dns_errors.add_metric([name, kind], n)
        yield from (entries, age, stale, failures, *dns.values(), dns_errors)


def _counter(name: str, text: str, values, labels: list[str] | None = None) -> Metric:
    family = CounterMetricFamily(PREFIX + name, text, labels=labels or [])
    for label_values, value in values:
        family.add_metric(list(label_values), value)
    return family


def _le(bound: float) -> str:
    return repr(float(bound))


def _severity(rule: str) -> str:
    entry = CATALOG.get(rule)
    return entry.severity.text.lower() if entry is not None else "unknown"


def _queue_size(queue: Any) -> int:
    try:
        return len(queue)
    except TypeError:  # no __len__ yet: queued groups plus reserved slots
        return len(getattr(queue, "_groups", ())) + getattr(queue, "_reserved", 0)


def _copy_counters(stats: Any, names: tuple[str, ...]) -> dict[str, dict]:
    if stats is None:
        return {name: {} for name in names}
    lock = getattr(stats, "_lock", None)
    if lock is None:
        return {name: dict(getattr(stats, name, {})) for name in names}
    with lock:
        return {name: dict(getattr(stats, name, {})) for name in names}


def _detectors(engine: Any) -> Iterator[Any]:
    detectors = getattr(engine, "detectors", None)
    for group in (getattr(detectors, "content", ()), getattr(detectors, "request", ())):
        yield from group


def start_otlp_push(metrics: ProcessorMetrics, endpoint: str, *, protocol: str = "grpc",
                    interval: float = 60.0, insecure: bool = True,
                    headers: dict[str, str] | None = None) -> Any:
    """Push the same metrics as OTLP every `interval` seconds; returns the SDK MeterProvider
    (call `.shutdown()` to flush and stop). Needs opentelemetry-sdk and the OTLP exporter.

    Counters become monotonic cumulative sums, gauges gauges, named as on /metrics
    without `_total`; the detector histogram is pushed as `_sum` and `_count` counters.
    """
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        exporter = OTLPMetricExporter(endpoint=endpoint, insecure=insecure, headers=headers)
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        exporter = OTLPMetricExporter(endpoint=endpoint, headers=headers)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=interval * 1000)
    provider = MeterProvider(resource=Resource.create({"service.name": "otel-ai-detect"}),
                             metric_readers=[reader])
    meter = provider.get_meter("otel_ai_detect.telemetry")
    snapshot = _Snapshot(metrics)  # one collect per export round, not one per instrument
    for family in metrics.collect():  # every family is yielded on each scrape, maybe empty
        kinds = ([("_sum", "counter"), ("_count", "counter")] if family.type == "histogram"
                 else [("", family.type)])
        for suffix, kind in kinds:
            create = (meter.create_observable_counter if kind == "counter"
                      else meter.create_observable_gauge)
            create(family.name + suffix, callbacks=[_observer(snapshot, family.name + suffix)],
                   description=family.documentation)
    return provider


class _Snapshot:
    """Samples by name from one `collect()`, reused for a second (one export round)."""

    def __init__(self, metrics: ProcessorMetrics) -> None:
        self._metrics, self._taken, self._samples = metrics, -1.0, {}
        self._lock = threading.Lock()

    def get(self, *names: str) -> list:
        with self._lock:
            if time.monotonic() - self._taken > 1.0:
                samples: dict[str, list] = {}
                for family in self._metrics.collect():
                    for sample in family.samples:
                        samples.setdefault(sample.name, []).append(sample)
                self._samples, self._taken = samples, time.monotonic()
            return [s for name in names for s in self._samples.get(name, ())]


def _observer(snapshot: _Snapshot, name: str) -> Callable:
    from opentelemetry.metrics import Observation

    wanted = (name,) if name.endswith(("_sum", "_count")) else (name + "_total", name)

    def observe(options: Any) -> list[Observation]:
        return [Observation(s.value, dict(s.labels)) for s in snapshot.get(*wanted)]
    return observe
