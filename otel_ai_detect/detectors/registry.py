"""Which detectors exist and how each is built from its config section.

A detector is listed once here, with the `detectors.<key>` config section it
reads; the engine asks for the enabled ones and never names a detector itself.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

from otel_ai_detect.config import ConfigError
from otel_ai_detect.config_types import DetectorsConfig, IntelConfig
from otel_ai_detect.detectors.ascii_smuggling import AsciiSmugglingDetector
from otel_ai_detect.detectors.base import ContentDetector, RequestDetector
from otel_ai_detect.detectors.credentials import CredentialsDetector
from otel_ai_detect.detectors.jailbreak import JailbreakDetector
from otel_ai_detect.detectors.phishing import PhishingDetector
from otel_ai_detect.detectors.sensitive_data import SensitiveDataDetector
from otel_ai_detect.detectors.tor import TorExitDetector
from otel_ai_detect.detectors.user_agent import UserAgentDetector


class Entry(NamedTuple):
    config_key: str
    factory: Callable[..., ContentDetector | RequestDetector]
    uses_intel: bool = False  # built with the shared `intel` section too (feeds cache, DNS)


REGISTRY: tuple[Entry, ...] = (
    Entry("ascii_smuggling", AsciiSmugglingDetector),
    Entry("user_agent", UserAgentDetector),
    Entry("credentials", CredentialsDetector),
    Entry("sensitive_data", SensitiveDataDetector),
    Entry("jailbreak", JailbreakDetector),
    Entry("phishing", PhishingDetector, uses_intel=True),
    Entry("tor", TorExitDetector, uses_intel=True),
)


class Detectors(NamedTuple):
    content: tuple[ContentDetector, ...]
    request: tuple[RequestDetector, ...]


@lru_cache(maxsize=8)
def build_detectors(config: DetectorsConfig, intel: IntelConfig = IntelConfig()) -> Detectors:
    """Build every enabled detector once; `detect` calls are then cheap.

    Detectors hold no per-call state, so engines built from the same config
    (the service's and `scan`'s, or many in a test run) share them: building
    costs about a second (Presidio, pattern databases).
    """
    content, request, problems = [], [], []
    for entry in REGISTRY:
        section = getattr(config, entry.config_key)
        if not section.enabled:
            continue
        try:
            detector = entry.factory(section, intel) if entry.uses_intel else entry.factory(section)
        except (ValueError, OSError) as error:  # e.g. a spaCy model that is not installed
            where = f"detectors.{entry.config_key}"
            message = str(error)  # some detectors name their own key path already
            problems.append(message if message.startswith(where) else f"{where}: {message}")
            continue
        (request if isinstance(detector, RequestDetector) else content).append(detector)
    if problems:
        raise ConfigError(problems)
    return Detectors(tuple(content), tuple(request))
