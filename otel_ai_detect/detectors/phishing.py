"""Known-phishing URLs in the conversation, named by where they came from.

Three rules of ALERTS.md, decided per URL from the roles it appears under:

- in a user message -> `AI.PhishingContentInUserPrompt`, and only that, also
  when the model then repeats it (the user brought it);
- in tool results, system prompts, earlier assistant turns or content whose
  role cannot be told -> `AI.PhishingContentInAIApplication`;
- in the model's output and not in the user's input ->
  `AI.PhishingContentInModelResponse`. A URL from a tool result that the model
  passes on to the user therefore raises both of the last two.

A URL is known-phishing when a configured feed lists it (full URL, URL
prefix, host, or a parent domain up to the registrable domain) or a DNS block
list lists its registrable domain. Heuristic suspicion (punycode look-alikes
of a brand, raw-IP hosts) alerts only when turned on, at a lower confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from otel_ai_detect.config_types import IntelConfig, PhishingConfig
from otel_ai_detect.detectors.base import Text, texts
from otel_ai_detect.detectors.masking import short_hash
from otel_ai_detect.detectors.phishing_heuristics import suspicion
from otel_ai_detect.intel.dns import DnsLookup
from otel_ai_detect.intel.feeds import FeedSet
from otel_ai_detect.model import (SOURCE_INPUT, SOURCE_OUTPUT, USER, Conversation, Finding)
from otel_ai_detect import urls

IN_USER_PROMPT = "AI.PhishingContentInUserPrompt"
IN_APPLICATION = "AI.PhishingContentInAIApplication"
IN_RESPONSE = "AI.PhishingContentInModelResponse"
LISTED_CONFIDENCE = 0.9
MAX_URLS_PER_CALL = 200      # URLs looked at per text: bounds the work on a text stuffed with links
MAX_URLS_TOTAL = 2000        # URLs looked at per call, over all its texts (50,000 messages)
# URL extraction walks every token in Python (~2.5 us each): a 1 MB text of short words
# costs ~1 s. Only the head and tail of a long text are scanned, and a call's texts
# share a character budget, so a request costs at most ~0.6 s here whatever it holds.
SCAN_HEAD = SCAN_TAIL = 65_536
MAX_SCAN_CHARS_PER_CALL = 262_144
MAX_DNS_DOMAINS_PER_CALL = 20  # DNS costs a round trip: only this many new domains a call


def _window(text: str, budget: int) -> str:
    """The head and tail of a long text (at most SCAN_HEAD + SCAN_TAIL and `budget` chars)."""
    head, tail = min(SCAN_HEAD, budget), min(SCAN_TAIL, max(budget - SCAN_HEAD, 0))
    if len(text) <= head + tail:
        return text
    return text[:head] + "\n" + text[-tail:] if tail else text[:head]


@dataclass(slots=True)
class _Seen:
    """One URL of the call: why it is bad, and where it appeared."""

    canonical: urls.Canonical
    raw: str
    verdict: str
    confidence: float
    first: dict[str, Text] = field(default_factory=dict)  # where -> first text: user | app | output


class PhishingDetector:
    name: ClassVar[str] = "phishing"

    def __init__(self, config: PhishingConfig, intel: IntelConfig = IntelConfig()) -> None:
        self.config = config
        self.feeds = FeedSet(config.feeds, intel.cache_dir)
        self.feeds.load()
        if config.feeds:
            self.feeds.start()
        self.dns = DnsLookup(intel.dns) if config.dns_zones else None
        # With no feed, no zone and no heuristics nothing can be known-phishing: skip the
        # URL search altogether (the default configuration).
        self.active = bool(config.feeds or config.dns_zones or config.heuristics)
        self.idle = not self.active  # nothing to look URLs up in: the engine skips it

    def detect(self, conv: Conversation) -> list[Finding]:
        if not self.active:
            return []
        seen: dict[str, _Seen] = {}
        dns_budget = [MAX_DNS_DOMAINS_PER_CALL]
        chars_left, urls_left = MAX_SCAN_CHARS_PER_CALL, MAX_URLS_TOTAL
        for text in texts(conv):
            if chars_left <= 0 or urls_left <= 0:
                break
            where = ("output" if text.source == SOURCE_OUTPUT
                     else "user" if text.role == USER and text.part.kind != "tool_call_response"
                     else "app")
            body = _window(text.part.text, chars_left)
            chars_left -= len(body)
            found_urls = urls.extract_urls(body, limit=min(MAX_URLS_PER_CALL, urls_left))
            urls_left -= len(found_urls)
            for found in found_urls:
                canonical = urls.canonicalize(found.raw)
                if canonical is None:
                    continue
                key = canonical.key
                entry = seen.get(key)
                if entry is None:
                    verdict = self._verdict(canonical, dns_budget)
                    if verdict is None:
                        continue
                    entry = seen[key] = _Seen(canonical, found.raw, *verdict)
                entry.first.setdefault(where, text)
        return [finding for entry in seen.values() for finding in self._findings(entry)]

    def _verdict(self, canonical: urls.Canonical, dns_budget: list[int]):
        """(why it is bad, confidence), or None for a URL nobody lists."""
        match = urls.lookup(canonical, self.feeds.indicators)
        if match is not None:
            return f"listed by {match.feed} ({match.how} match)", LISTED_CONFIDENCE
        domain = canonical.registrable_domain
        if self.dns is not None and domain and dns_budget[0] > 0:
            dns_budget[0] -= 1
            listings = self.dns.domain_listings(domain, self.config.dns_zones)
            if listings:
                listing = listings[0]
                return (f"listed by {listing.zone}: {listing.meaning} ({listing.answer})",
                        LISTED_CONFIDENCE)
        if self.config.heuristics:
            reason = suspicion(canonical, self.config.brands)
            if reason:
                return f"suspicious, not listed: {reason}", self.config.heuristic_confidence
        return None

    def _findings(self, entry: _Seen) -> list[Finding]:
        rules = []
        if "user" in entry.first:
            rules.append((IN_USER_PROMPT, entry.first["user"]))
        else:
            if "app" in entry.first:
                rules.append((IN_APPLICATION, entry.first["app"]))
            if "output" in entry.first:
                rules.append((IN_RESPONSE, entry.first["output"]))
        evidence = f"{urls.defang(entry.raw)} {entry.verdict}"
        return [Finding(rule=rule, detector=self.name, confidence=entry.confidence,
                        source=text.source if rule != IN_USER_PROMPT else SOURCE_INPUT,
                        path=text.part.path, evidence=evidence,
                        fingerprint=short_hash(rule + entry.canonical.key))
                for rule, text in rules]
