"""What the threat-intelligence sources say is bad, as plain immutable lookups.

Feeds are parsed into `Indicators` (one per feed, merged into one snapshot
that is swapped in atomically on refresh); DNS block lists answer with
`Listing`s. Detectors only read these: a lookup is a dict access.

Keys are canonical (see `otel_ai_detect.urls`): URL expressions are
Safe-Browsing style ``host/path`` without scheme (e.g. ``evil.example/login``),
hosts are lower-case punycode without a trailing dot, IPs are the compressed
text form of `ipaddress`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Indicators:
    """Indicator -> the name of the feed that listed it."""

    urls: Mapping[str, str] = field(default_factory=lambda: _EMPTY)   # host/path expressions (exact or prefix)
    hosts: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # domains and IP hosts: listed with every subdomain
    ips: Mapping[str, str] = field(default_factory=lambda: _EMPTY)    # client IPs (Tor exits)

    @property
    def size(self) -> int:
        return len(self.urls) + len(self.hosts) + len(self.ips)

    @staticmethod
    def merge(parts: Iterable["Indicators"]) -> "Indicators":
        """One lookup over several feeds; the first feed to list an indicator names it."""
        urls: dict[str, str] = {}
        hosts: dict[str, str] = {}
        ips: dict[str, str] = {}
        for part in parts:
            for target, source in ((urls, part.urls), (hosts, part.hosts), (ips, part.ips)):
                for key, name in source.items():
                    target.setdefault(key, name)
        return Indicators(MappingProxyType(urls), MappingProxyType(hosts), MappingProxyType(ips))


EMPTY = Indicators()


@dataclass(frozen=True, slots=True)
class Listing:
    """A DNS block list's answer that counts as listed (error answers never do)."""

    zone: str      # e.g. dbl.spamhaus.org
    answer: str    # e.g. 127.0.1.4
    meaning: str   # e.g. phishing domain
