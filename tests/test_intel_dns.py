"""DNS block lists and Tor DNSEL against a real dnsmasq on loopback (tests/dns_server.py)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from dns_server import DBL_ZONE, DNSEL_ZONE, SURBL_ZONE, free_port, running_dns_server

from otel_ai_detect.config_types import DnsConfig, DnsZoneConfig
from otel_ai_detect.intel import dns_zones
from otel_ai_detect.intel.dns import ERROR_TTL, DnsLookup
from otel_ai_detect.intel.indicators import Listing

DBL = DnsZoneConfig(zone=DBL_ZONE, preset="spamhaus_dbl")
SURBL = DnsZoneConfig(zone=SURBL_ZONE, preset="surbl_multi")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def dns_server():
    with running_dns_server() as address:
        yield address


def make_lookup(server, clock=time.monotonic, **config) -> DnsLookup:
    host, port = server
    config.setdefault("timeout", 1.0)
    return DnsLookup(DnsConfig(nameservers=(f"{host}:{port}",), **config), clock=clock)


@pytest.fixture
def lookup(dns_server) -> DnsLookup:
    return make_lookup(dns_server)


# -- what the answers mean (no network) ---------------------------------------

@pytest.mark.parametrize("answer, kind", [
    ("127.0.1.2", "uncounted"), ("127.0.1.4", "listed"), ("127.0.1.5", "listed"),
    ("127.0.1.6", "listed"), ("127.0.1.102", "listed"), ("127.0.1.103", "listed"),
    ("127.0.1.104", "listed"), ("127.0.1.105", "listed"), ("127.0.1.106", "listed"),
    ("127.0.1.255", "error"), ("127.255.255.252", "error"), ("127.255.255.254", "error"),
    ("127.255.255.255", "error"), ("10.0.0.1", "error"), ("127.0.1.77", "uncounted"),
])
def test_dbl_counts_phishing_malware_cc_and_abused_legit_but_not_spam(answer, kind):
    assert dns_zones.classifier_for(DBL)(answer).kind == kind


@pytest.mark.parametrize("answer, kind, meaning", [
    ("127.0.0.8", "listed", "phishing"),
    ("127.0.0.16", "listed", "malware"),
    ("127.0.0.24", "listed", "phishing and malware"),
    ("127.0.0.80", "listed", "malware (also abuse)"),
    ("127.0.0.64", "uncounted", "abuse"),
    ("127.0.0.128", "uncounted", "cracked site"),
    ("127.0.0.1", "error", "error_answer"),
    ("127.255.255.254", "error", "error_answer"),
])
def test_surbl_meaning_is_built_from_the_bits_and_only_ph_mw_count(answer, kind, meaning):
    verdict = dns_zones.classifier_for(SURBL)(answer)
    assert (verdict.kind, verdict.meaning) == (kind, meaning)


def test_custom_zone_counts_exactly_the_configured_answers_and_never_the_error_range():
    zone = DnsZoneConfig(zone="x.test", preset="custom",
                         listed=(("127.0.0.2", "bad"), ("127.255.255.254", "misconfigured")))
    classify = dns_zones.classifier_for(zone)
    assert classify("127.0.0.2") == dns_zones.Verdict("listed", "bad")
    assert classify("127.0.0.3").kind == "uncounted"
    assert classify("127.255.255.254").kind == "error"


# -- against dnsmasq ---------------------------------------------------------

@pytest.mark.parametrize("domain, answer, meaning", [
    ("phish.example", "127.0.1.4", "phishing domain"),
    ("malware.example", "127.0.1.5", "malware domain"),
    ("cc.example", "127.0.1.6", "botnet C&C domain"),
    ("abused-phish.example", "127.0.1.104", "abused legitimate domain: phishing"),
    ("multi.example", "127.0.1.4", "phishing domain"),       # .2 and .4: any counting answer
    ("alias.example", "127.0.1.4", "phishing domain"),       # CNAME chain followed
    ("PHISH.Example.", "127.0.1.4", "phishing domain"),      # normalized
])
def test_dbl_listings_that_count(lookup, domain, answer, meaning):
    assert lookup.domain_listings(domain, (DBL,)) == [Listing(DBL_ZONE, answer, meaning)]
    assert lookup.stats.listed == 1 and lookup.stats.errors == {}


@pytest.mark.parametrize("domain, error", [
    ("spam.example", None),                 # low reputation only: not counted
    ("nothing.example", None),              # NXDOMAIN
    ("txt-only.example", None),             # TXT but no A record
    ("error.example", "error_answer"),      # 127.255.255.254: open resolver
    ("dbl-error.example", "error_answer"),  # 127.0.1.255
    ("hijacked.example", "bad_answer"),     # outside 127/8
])
def test_dbl_answers_that_do_not_count(lookup, domain, error):
    assert lookup.domain_listings(domain, (DBL,)) == []
    assert lookup.stats.listed == 0
    assert lookup.stats.errors == ({error: 1} if error else {})


@pytest.mark.parametrize("domain, expected, error", [
    ("ph.example", "phishing", None),
    ("mw-abuse.example", "malware (also abuse)", None),
    ("abuse-only.example", None, None),
    ("refused.example", None, "error_answer"),  # 127.0.0.1
    ("nothing.example", None, None),
])
def test_surbl_listings(lookup, domain, expected, error):
    listings = lookup.domain_listings(domain, (SURBL,))
    assert [listing.meaning for listing in listings] == ([expected] if expected else [])
    assert lookup.stats.errors == ({error: 1} if error else {})


def test_one_listing_per_zone_that_lists(lookup):
    custom = DnsZoneConfig(zone=DBL_ZONE, preset="custom", listed=(("127.0.1.2", "spammy"),))
    listings = lookup.domain_listings("spam.example", (DBL, SURBL, custom))
    assert listings == [Listing(DBL_ZONE, "127.0.1.2", "spammy")]


def test_ip_literals_and_empty_names_are_not_asked(lookup):
    assert lookup.domain_listings("192.0.2.1", (DBL,)) == []
    assert lookup.domain_listings(" ", (DBL,)) == []
    assert lookup.stats.queries == 0


def test_refused_is_an_error_not_a_listing(lookup):
    zone = DnsZoneConfig(zone="refused.test", preset="spamhaus_dbl")
    assert lookup.domain_listings("phish.example", (zone,)) == []
    assert lookup.stats.errors == {"refused": 1}


def test_a_silent_upstream_times_out_within_the_configured_timeout(dns_server):
    lookup = make_lookup(dns_server, timeout=0.3)
    zone = DnsZoneConfig(zone="timeout.test", preset="spamhaus_dbl")
    started = time.monotonic()
    assert lookup.domain_listings("phish.example", (zone,)) == []
    assert time.monotonic() - started < 0.3 + 0.2
    assert lookup.stats.timeouts == 1


def test_a_nameserver_that_is_not_there_fails_within_the_timeout():
    lookup = DnsLookup(DnsConfig(nameservers=(f"127.0.0.1:{free_port()}",), timeout=0.3))
    started = time.monotonic()
    assert lookup.domain_listings("phish.example", (DBL,)) == []
    assert time.monotonic() - started < 0.3 + 0.2
    assert sum(lookup.stats.errors.values()) == 1


def test_second_call_is_answered_from_the_cache(lookup):
    for _ in range(3):
        assert lookup.domain_listings("phish.example", (DBL,))
        assert lookup.domain_listings("nothing.example", (DBL,)) == []
    assert lookup.stats.snapshot()["queries"] == 2
    assert lookup.stats.cache_hits == 4


def test_cached_answer_survives_the_server_going_away():
    with running_dns_server() as server:
        lookup = make_lookup(server)
        assert lookup.tor_exit("185.220.101.34", DNSEL_ZONE)
    assert lookup.tor_exit("185.220.101.34", DNSEL_ZONE) == Listing(
        DNSEL_ZONE, "127.0.0.2", "Tor exit node")
    assert lookup.stats.queries == 1


def test_entries_expire_after_ttl_negative_ttl_and_error_ttl(dns_server):
    clock = FakeClock()
    lookup = make_lookup(dns_server, clock=clock, negative_ttl=60.0)
    refused = DnsZoneConfig(zone="refused.test", preset="spamhaus_dbl")

    def ask_all():
        lookup.domain_listings("phish.example", (DBL,))      # TTL 300 (dnsmasq --local-ttl)
        lookup.domain_listings("nothing.example", (DBL,))    # negative_ttl 60
        lookup.domain_listings("phish.example", (refused,))  # error: min(60, ERROR_TTL)

    ask_all()
    assert lookup.stats.queries == 3
    clock.now += ERROR_TTL + 1
    ask_all()
    assert lookup.stats.queries == 4   # only the error was asked again
    clock.now += 60
    ask_all()
    assert lookup.stats.queries == 6   # error and negative
    clock.now += 300
    ask_all()
    assert lookup.stats.queries == 9   # everything


def test_cache_is_bounded_lru(dns_server):
    lookup = make_lookup(dns_server, cache_size=2)
    for domain in ("phish.example", "malware.example", "phish.example", "cc.example"):
        lookup.domain_listings(domain, (DBL,))
    assert lookup.stats.queries == 3                          # phish.example was a hit
    lookup.domain_listings("phish.example", (DBL,))           # still cached (recently used)
    lookup.domain_listings("malware.example", (DBL,))         # evicted
    assert lookup.stats.queries == 4


def test_when_all_slots_are_busy_a_call_gives_up_after_the_timeout(dns_server):
    lookup = make_lookup(dns_server, timeout=0.2, max_concurrency=2)
    # White-box: hold both slots, as two hung queries to a slow list would.
    assert lookup._slots.acquire(timeout=1) and lookup._slots.acquire(timeout=1)
    started = time.monotonic()
    assert lookup.domain_listings("phish.example", (DBL,)) == []
    assert 0.15 < time.monotonic() - started < 0.2 + 0.2
    assert lookup.stats.errors == {"busy": 1}
    lookup._slots.release()
    assert lookup.domain_listings("phish.example", (DBL,))


def test_concurrent_callers_never_exceed_max_concurrency(dns_server):
    lookup = make_lookup(dns_server, timeout=0.5, max_concurrency=2)
    zone = DnsZoneConfig(zone="timeout.test", preset="spamhaus_dbl")
    threads = [threading.Thread(target=lookup.domain_listings, args=(f"n{i}.example", (zone,)))
               for i in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    in_use = 2 - lookup._slots._value  # slots held while the two first queries hang
    for thread in threads:
        thread.join(5)
    assert in_use == 2
    assert lookup.stats.queries <= 3  # two at once; a waiter may get a slot as one frees
    assert lookup.stats.errors.get("busy", 0) >= 1
    assert sum(lookup.stats.errors.values()) == 4
    assert time.monotonic() - started < 0.5 + 0.5


def test_dnsel_ipv4_hit_and_miss(lookup):
    assert lookup.tor_exit("185.220.101.34", DNSEL_ZONE) == Listing(
        DNSEL_ZONE, "127.0.0.2", "Tor exit node")
    assert lookup.tor_exit("198.51.100.7", DNSEL_ZONE) is None
    assert lookup.stats.errors == {}


def test_dnsel_ipv6_is_asked_as_reversed_nibbles(lookup):
    assert lookup.tor_exit("2001:db8::1", DNSEL_ZONE) is not None
    assert lookup.tor_exit("2001:db8::2", DNSEL_ZONE) is None


def test_dnsel_ignores_what_is_not_an_ip(lookup):
    assert lookup.tor_exit("not-an-ip", DNSEL_ZONE) is None
    assert lookup.stats.lookups == 0


def test_system_resolver_is_used_without_nameservers():
    # configure=True reads resolv.conf; no query is sent here.
    lookup = DnsLookup(DnsConfig(timeout=0.1))
    assert lookup._resolver.search == [] and lookup._resolver.lifetime == 0.1


def test_free_port_is_bindable():
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", port))
