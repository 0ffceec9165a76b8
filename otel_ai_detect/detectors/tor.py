"""`AI.AccessFromAnonymizedIP`: the end user's IP is a Tor exit node.

The address is the trace's peer (the first public hop of X-Forwarded-For,
Forwarded, X-Real-IP, client.address: `Peer.address`), looked up in memory in
the configured exit lists (constant time); Tor's DNSEL is an optional second
source for addresses the lists do not have. The engine runs request
detectors once per trace, so the alert is once per trace, on its GenAI
activity.
"""

from __future__ import annotations

from typing import ClassVar

from otel_ai_detect.config_types import IntelConfig, TorConfig
from otel_ai_detect.detectors.masking import short_hash
from otel_ai_detect.intel.dns import DnsLookup
from otel_ai_detect.intel.feeds import FeedSet
from otel_ai_detect.model import SOURCE_REQUEST, Finding, Peer
from otel_ai_detect.netaddr import is_global

RULE = "AI.AccessFromAnonymizedIP"


class TorExitDetector:
    name: ClassVar[str] = "tor"

    def __init__(self, config: TorConfig, intel: IntelConfig = IntelConfig()) -> None:
        self.config = config
        self.feeds = FeedSet(config.feeds, intel.cache_dir)
        self.feeds.load()
        if config.feeds:
            self.feeds.start()
        self.dns = DnsLookup(intel.dns) if config.dnsel else None

    @property
    def idle(self) -> bool:
        """No exit list and no DNSEL: nothing could ever be found (the engine skips it)."""
        return not self.config.feeds and self.dns is None

    def detect_peer(self, peer: Peer) -> list[Finding]:
        address = peer.address
        if address is None:
            return []
        if not is_global(address):
            return []
        key = address
        feed = self.feeds.indicators.ips.get(key)
        if feed is not None:
            verdict, confidence = f"listed by {feed}", 0.95
        elif self.dns is not None and (listing := self.dns.tor_exit(key, self.config.dnsel_zone)):
            verdict, confidence = f"listed by {listing.zone} ({listing.answer})", 0.9
        else:
            return []
        return [Finding(rule=RULE, detector=self.name, confidence=confidence, source=SOURCE_REQUEST,
                        path="client.address", evidence=f"{key} is a Tor exit node, {verdict}",
                        fingerprint=short_hash(key))]
