"""DNS block-list and Tor DNSEL look-ups: cached, bounded in time and concurrency.

`DnsLookup` owns one dnspython resolver, an LRU cache of classified outcomes
and the counters (`DnsStats`) that metrics and tests read. Every public call
returns within `DnsConfig.timeout` (waiting for a free slot included) and
never raises: a failure of any kind is "not listed" plus a counted error,
because a block list being down must not block or break the pipeline.

What the answers mean lives in `dns_zones`; this module only asks and caches.

Cache lifetimes (why): a listing is kept for its DNS TTL, capped at
`MAX_POSITIVE_TTL` so a delisting is seen within the hour; "not listed"
(NXDOMAIN, no A record, uncounted answers) is kept for
`DnsConfig.negative_ttl`; errors are kept for at most `ERROR_TTL` so an
outage or a rate-limit answer is retried soon, yet a dead list is not asked
again for every span.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from otel_ai_detect.config_types import DnsConfig, DnsZoneConfig
from otel_ai_detect.intel import dns_zones
from otel_ai_detect.intel.dns_zones import ERROR, LISTED, Classifier
from otel_ai_detect.intel.indicators import Listing

log = logging.getLogger(__name__)

MAX_POSITIVE_TTL = 3600.0
ERROR_TTL = 30.0


@dataclass(frozen=True, slots=True)
class Answer:
    """What one query got: `status` ok | nxdomain | nodata, or an error kind."""

    status: str
    addresses: tuple[str, ...] = ()
    ttl: float = 0.0


@dataclass(frozen=True, slots=True)
class _Outcome:
    listing: Listing | None
    error: str | None  # the error kind, if the query or its answer was an error


@dataclass
class DnsStats:
    """Counters; read with `snapshot()`. Errors by kind: timeout, busy, refused,
    servfail, unreachable, error_answer, bad_answer, bad_name, other."""

    lookups: int = 0      # names asked for (cache hits included)
    cache_hits: int = 0
    queries: int = 0      # queries actually sent
    listed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def timeouts(self) -> int:
        return self.errors.get("timeout", 0)

    def add(self, counter: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + n)

    def error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"lookups": self.lookups, "cache_hits": self.cache_hits,
                    "queries": self.queries, "listed": self.listed,
                    "errors": dict(self.errors), "timeouts": self.errors.get("timeout", 0)}


def _nameserver(spec: str) -> dns.nameserver.Do53Nameserver:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address -> a Do53 nameserver."""
    host, port = spec.strip(), 53
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        port = int(rest.lstrip(":") or 53)
    elif host.count(":") == 1:
        host, _, port_text = host.partition(":")
        port = int(port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # dnspython needs addresses; a host name is resolved once, at start.
        host = socket.getaddrinfo(host, port, proto=socket.IPPROTO_UDP)[0][4][0]
    return dns.nameserver.Do53Nameserver(host, port)


def _error_kind(exc: dns.resolver.NoNameservers) -> str:
    """The first server's failure, as a stats kind (REFUSED vs SERVFAIL matters:
    REFUSED usually means "not for you", e.g. a public resolver barred)."""
    for error in exc.kwargs.get("errors") or ():
        what = error[3]
        if what == "REFUSED":
            return "refused"
        if what == "SERVFAIL":
            return "servfail"
        if isinstance(what, OSError):
            return "unreachable"
    return "other"


class DnsLookup:
    """Block-list and DNSEL look-ups; thread-safe, never raises from public calls."""

    def __init__(self, config: DnsConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock  # injectable so tests can expire TTLs without sleeping
        try:
            resolver = dns.resolver.Resolver(configure=not config.nameservers)
        except dns.resolver.NoResolverConfiguration:
            # No resolv.conf: every look-up fails fast and is counted; not fatal.
            log.warning("no DNS resolver configuration; DNS block lists will not answer")
            resolver = dns.resolver.Resolver(configure=False)
        if config.nameservers:
            resolver.nameservers = [_nameserver(s) for s in config.nameservers]
        resolver.search = []
        resolver.use_search_by_default = False
        resolver.timeout = config.timeout
        resolver.lifetime = config.timeout
        resolver.cache = None  # our cache keeps classified outcomes with our TTL rules
        self._resolver = resolver
        self._slots = threading.BoundedSemaphore(max(1, config.max_concurrency))
        # Keyed by (name, classifier): the same zone may be configured twice with
        # different presets/answers, and an outcome is only valid for its classifier.
        self._cache: OrderedDict[tuple[str, Classifier], tuple[float, _Outcome]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._classifiers: dict[DnsZoneConfig, Classifier] = {}
        self.stats = DnsStats()

    # -- public API ---------------------------------------------------------

    def domain_listings(self, domain: str, zones: tuple[DnsZoneConfig, ...]) -> list[Listing]:
        """Counting listings of `domain` in each zone (one per zone at most).

        The caller passes the name the list expects: for SURBL the registrable
        domain (``evil.example``, not ``login.evil.example``; the Public Suffix
        List decides, e.g. via tldextract), for Spamhaus DBL the registrable
        domain or a subdomain. Lower-case punycode; IP literals are not asked
        (DBL answers those with an error code)."""
        domain = domain.strip().rstrip(".").lower()
        if not domain or _is_ip(domain):
            return []
        listings = []
        for zone in zones:
            classify = self._classifier(zone)
            outcome = self._lookup(f"{domain}.{zone.zone.strip('.')}", zone.zone, classify)
            if outcome.listing is not None:
                listings.append(outcome.listing)
        return listings

    def tor_exit(self, ip: str, zone: str) -> Listing | None:
        """A Listing if DNSEL in `zone` says `ip` is a Tor exit, else None.

        IPv4 is asked as reversed octets, IPv6 as reversed nibbles (the zone
        may not support IPv6; then it answers NXDOMAIN and this returns None)."""
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return None
        reversed_name = address.reverse_pointer.rsplit(".", 2)[0]  # drop in-addr.arpa / ip6.arpa
        outcome = self._lookup(f"{reversed_name}.{zone.strip('.')}", zone, dns_zones.tor_dnsel)
        return outcome.listing

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    # -- internals ------------------------------------------------------------

    def _classifier(self, zone: DnsZoneConfig) -> Classifier:
        classify = self._classifiers.get(zone)
        if classify is None:
            classify = self._classifiers[zone] = dns_zones.classifier_for(zone)
        return classify

    def _lookup(self, name: str, zone: str, classify: Classifier) -> _Outcome:
        """Cached, classified look-up of one name."""
        self.stats.add("lookups")
        key = (name, classify)
        now = self._clock()
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                self._cache.move_to_end(key)
                self.stats.add("cache_hits")
                return cached[1]
        answer = self._query(name)
        outcome, ttl = self._classify(answer, zone, classify)
        if outcome.listing is not None:
            self.stats.add("listed")
        if outcome.error is not None:
            self.stats.error(outcome.error)
            log.debug("DNS look-up of %s: %s", name, outcome.error)
        # "busy" is our own back-pressure, not the list's answer: never remembered.
        if ttl > 0 and outcome.error != "busy":
            self._store(key, self._clock() + ttl, outcome)
        return outcome

    def _classify(self, answer: Answer, zone: str, classify: Classifier) -> tuple[_Outcome, float]:
        negative_ttl = self._config.negative_ttl
        error_ttl = min(negative_ttl, ERROR_TTL)
        if answer.status in ("nxdomain", "nodata"):
            return _Outcome(None, None), negative_ttl
        if answer.status != "ok":
            return _Outcome(None, answer.status), error_ttl
        error = None
        for address in sorted(answer.addresses):  # sorted: the same listing every time
            verdict = classify(address)
            if verdict.kind == LISTED:
                # Any counting answer lists the name, whatever else came along.
                listing = Listing(zone=zone, answer=address, meaning=verdict.meaning)
                return _Outcome(listing, None), min(answer.ttl, MAX_POSITIVE_TTL)
            if verdict.kind == ERROR:
                error = verdict.meaning
        if error is not None:
            return _Outcome(None, error), error_ttl
        return _Outcome(None, None), negative_ttl

    def _store(self, key: tuple[str, Classifier], expires: float, outcome: _Outcome) -> None:
        with self._cache_lock:
            self._cache[key] = (expires, outcome)
            self._cache.move_to_end(key)
            while len(self._cache) > self._config.cache_size:
                self._cache.popitem(last=False)

    def _query(self, name: str) -> Answer:
        """One A query for `name`, uncached; never raises, returns within the timeout.

        Waiting for a concurrency slot counts against the same timeout: when
        every slot is busy (a slow list), callers give up instead of queueing."""
        timeout = self._config.timeout
        started = time.monotonic()
        try:
            qname = dns.name.from_text(name)  # absolute: no search domains apply
        except (dns.exception.DNSException, ValueError):
            return Answer("bad_name")
        if not self._slots.acquire(timeout=timeout):
            return Answer("busy")
        try:
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                return Answer("busy")
            self.stats.add("queries")
            result = self._resolver.resolve(qname, dns.rdatatype.A, search=False,
                                            raise_on_no_answer=False, lifetime=remaining)
        except dns.resolver.NXDOMAIN:
            return Answer("nxdomain")
        except dns.resolver.LifetimeTimeout:
            return Answer("timeout")
        except dns.resolver.NoNameservers as exc:
            return Answer(_error_kind(exc))
        except dns.exception.Timeout:
            return Answer("timeout")
        except Exception:  # malformed answers, YXDOMAIN, anything: not listed, counted
            log.debug("DNS query for %s failed", name, exc_info=True)
            return Answer("other")
        finally:
            self._slots.release()
        # resolve() follows CNAME chains; rrset is the final A set (None: no A record).
        rrset = result.rrset
        if rrset is None:
            return Answer("nodata")
        return Answer("ok", tuple(rdata.address for rdata in rrset), float(rrset.ttl))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
