"""Retry with exponential backoff, as the Collector's exporterhelper `retry_on_failure`.

Delay n (from 0) is `initial_interval * multiplier**n`, capped at
`max_interval`, spread by +-`randomization_factor` so that many senders do
not retry in lock-step. A retry hint from the server (gRPC RetryInfo, HTTP
Retry-After) replaces the computed delay, as the Python SDK does. We give up
when the next wait would end past `max_elapsed_time` (0 = never give up, as in
the Collector). `stop` cuts a wait short at shutdown.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from otel_ai_detect.config_types import RetryConfig
from otel_ai_detect.exporters.base import Attempt, ExportResult


class Retrier:
    def __init__(self, config: RetryConfig, stop: threading.Event) -> None:
        self._config = config
        self._stop = stop
        self._random = random.Random()

    def delays(self):
        """The backoff delays before jitter, endless (capped at max_interval)."""
        interval = self._config.initial_interval
        while True:
            yield interval
            interval = min(interval * self._config.multiplier, self._config.max_interval)

    def run(self, send: Callable[[], Attempt]) -> ExportResult:
        config = self._config
        started = time.monotonic()
        attempts = 0
        for interval in self.delays():
            if self._stop.is_set():
                return ExportResult(False, attempts, "shut down before the export could finish")
            outcome = send()
            attempts += 1
            if outcome.ok:
                return ExportResult(True, attempts)
            if not outcome.retryable:
                return ExportResult(False, attempts, f"not retryable: {outcome.error}")
            if not config.enabled:
                return ExportResult(False, attempts, f"retry_on_failure disabled: {outcome.error}")
            if outcome.retry_after is not None:
                delay = outcome.retry_after
            else:
                spread = interval * config.randomization_factor
                delay = self._random.uniform(interval - spread, interval + spread)
            elapsed = time.monotonic() - started
            if config.max_elapsed_time > 0 and elapsed + delay > config.max_elapsed_time:
                return ExportResult(
                    False,
                    attempts,
                    f"gave up after {attempts} attempts in {elapsed:.2f}s "
                    f"(max_elapsed_time {config.max_elapsed_time:g}s): {outcome.error}",
                )
            if self._stop.wait(delay):
                return ExportResult(False, attempts, f"shut down while retrying: {outcome.error}")
        raise AssertionError("unreachable: delays() is endless")
