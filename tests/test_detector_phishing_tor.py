"""Phishing URLs by origin, and Tor exits, with feeds read from files as a user would configure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otel_ai_detect.config_types import FeedConfig, IntelConfig, PhishingConfig, TorConfig
from otel_ai_detect.detectors.phishing import (IN_APPLICATION, IN_RESPONSE, IN_USER_PROMPT,
                                               PhishingDetector)
from otel_ai_detect.detectors.tor import TorExitDetector
from otel_ai_detect.model import Conversation, Message, Part, Peer

INTEL = Path(__file__).parent / "testdata" / "intel"
LISTED_URL = "https://secure-login.examp1e-bank.com/verify"


@pytest.fixture(scope="module")
def phishing(tmp_path_factory) -> PhishingDetector:
    feeds = (FeedConfig(str(INTEL / "phishing-urls.txt"), "urls", "openphish-test"),
             FeedConfig(str(INTEL / "phishing-domains.txt"), "domains", "domains-test"))
    return PhishingDetector(PhishingConfig(feeds=feeds),
                            IntelConfig(cache_dir=str(tmp_path_factory.mktemp("cache"))))


@pytest.fixture(scope="module")
def tor(tmp_path_factory) -> TorExitDetector:
    feeds = (FeedConfig(str(INTEL / "tor-exits.txt"), "tor_bulk", "torbulkexitlist"),)
    return TorExitDetector(TorConfig(feeds=feeds),
                           IntelConfig(cache_dir=str(tmp_path_factory.mktemp("cache"))))


def msg(role: str, text: str, kind: str = "text") -> Message:
    return Message(role, (Part(kind, text, f"{role}.content"),))


def call(*inputs: Message, output: str | None = None) -> Conversation:
    outputs = (msg("assistant", output),) if output is not None else ()
    return Conversation(inputs=inputs, outputs=outputs)


def rules(findings) -> list[str]:
    return sorted(f.rule for f in findings)


@pytest.mark.parametrize("conv, expected", [
    pytest.param(call(msg("user", f"Is this legit? {LISTED_URL}"), output="No, it is a scam."),
                 [IN_USER_PROMPT], id="a listed URL the user pasted"),
    pytest.param(call(msg("user", f"Is this legit? {LISTED_URL}"),
                      output=f"Do not open {LISTED_URL}."),
                 [IN_USER_PROMPT], id="the model repeating the user's URL is still the user's"),
    pytest.param(call(msg("user", "Where do I log in?"), output=f"Log in at {LISTED_URL} now."),
                 [IN_RESPONSE], id="the model directs the user to a listed URL"),
    pytest.param(call(msg("user", "Summarize my inbox"),
                      msg("tool", f"Mail: verify your account at {LISTED_URL}", "tool_call_response")),
                 [IN_APPLICATION], id="a listed URL in a tool result"),
    pytest.param(call(msg("user", "Summarize my inbox"),
                      msg("tool", f"Mail: verify at {LISTED_URL}", "tool_call_response"),
                      output=f"Your bank asks you to verify at {LISTED_URL}."),
                 [IN_APPLICATION, IN_RESPONSE], id="a tool's URL passed on to the user raises both"),
    pytest.param(call(msg("system", f"Support portal: {LISTED_URL}"), msg("user", "help")),
                 [IN_APPLICATION], id="a listed URL in the system prompt"),
    pytest.param(call(msg("unknown", f"[raw] {LISTED_URL}")),
                 [IN_APPLICATION], id="content whose role cannot be told"),
    pytest.param(call(msg("user", "x"), output="See [the form](https://Login.Credential-Harvest.NET/a)."),
                 [IN_RESPONSE], id="a subdomain of a listed domain in a markdown link"),
    pytest.param(call(msg("user", "x"), output="Go to http://paypal-account-check.net/signin?session=1#top"),
                 [IN_RESPONSE], id="a listed URL with a fragment"),
    pytest.param(call(msg("user", "x"), output="https://docs.evil-share.net/files/invoice.pdf"),
                 [IN_RESPONSE], id="under a listed URL prefix"),
])
def test_listed_urls_raise_the_rule_of_their_origin(phishing, conv, expected):
    assert rules(phishing.detect(conv)) == expected


@pytest.mark.parametrize("text", [
    "See https://good.example.com/credential-harvest.net/login for details.",
    "Visit https://examp1e-bank.com/ for your statement.",
    "Mail credential-harvest.net.evil-twin.org? no: https://credential-harvest.net.evil-twin.org/",
    "Read https://docs.python.org/3/library/re.html",
    "The file is secure-login.py and version 1.2.3.",
], ids=["a listed domain inside the path of an unlisted host", "the parent of a listed host",
        "a listed name as a subdomain of another domain", "an ordinary link", "no URL at all"])
def test_near_misses_raise_nothing(phishing, text):
    assert phishing.detect(call(msg("user", "q"), output=text)) == []


def test_evidence_is_the_defanged_url_and_the_feed_that_listed_it(phishing):
    [finding] = phishing.detect(call(msg("user", "q"), output=f"Go to {LISTED_URL}"))
    assert "hxxps://" in finding.evidence and "[.]" in finding.evidence
    assert LISTED_URL not in finding.evidence
    assert "openphish-test" in finding.evidence
    assert finding.source == "output" and finding.confidence >= 0.9


def test_heuristics_are_off_by_default_and_low_confidence_when_on(tmp_path):
    text = "Sign in at https://xn--pypal-4ve.com/login or http://203.0.113.9/login"
    conv = call(msg("user", "q"), output=text)
    off = PhishingDetector(PhishingConfig(), IntelConfig(cache_dir=str(tmp_path)))
    assert off.detect(conv) == []
    on = PhishingDetector(PhishingConfig(heuristics=True, heuristic_confidence=0.3),
                          IntelConfig(cache_dir=str(tmp_path)))
    findings = on.detect(conv)
    assert rules(findings) == [IN_RESPONSE]  # 203.0.113.9 is documentation space, not public
    assert findings[0].confidence == 0.3 and "paypal" in findings[0].evidence


@pytest.mark.parametrize("peer, listed", [
    (Peer(("185.220.101.34", "10.1.2.3", "127.0.0.1")), True),
    (Peer(("10.0.0.5", "185.220.101.35")), True),  # the first public hop
    (Peer(("2001:db8:dead::1",)), False),  # documentation space is never public
    (Peer(("198.51.100.1",)), False),
    (Peer(("8.8.8.8",)), False),
    (Peer(()), False),
])
def test_tor_exits_are_found_in_the_configured_lists(tor, peer, listed):
    findings = tor.detect_peer(peer)
    assert bool(findings) is listed
    if listed:
        assert findings[0].rule == "AI.AccessFromAnonymizedIP"
        assert "torbulkexitlist" in findings[0].evidence and findings[0].source == "request"


# --- DNS block lists and Tor DNSEL, against a real DNS server on loopback ----------
@pytest.fixture(scope="module")
def dns_server():
    from dns_server import running_dns_server

    with running_dns_server() as address:
        yield address


def dns_intel(dns_server, tmp_path) -> IntelConfig:
    from otel_ai_detect.config_types import DnsConfig

    host, port = dns_server
    return IntelConfig(cache_dir=str(tmp_path), dns=DnsConfig(nameservers=(f"{host}:{port}",),
                                                               timeout=2.0))


def test_a_domain_on_a_dns_block_list_raises_the_rule_of_its_origin(dns_server, tmp_path):
    from dns_server import DBL_ZONE, SURBL_ZONE
    from otel_ai_detect.config_types import DnsZoneConfig

    zones = (DnsZoneConfig(DBL_ZONE, "spamhaus_dbl"), DnsZoneConfig(SURBL_ZONE, "surbl_multi"))
    detector = PhishingDetector(PhishingConfig(dns_zones=zones), dns_intel(dns_server, tmp_path))
    findings = detector.detect(call(msg("user", "q"), output="Log in at https://www.phish.example/login"))
    assert rules(findings) == [IN_RESPONSE]
    assert DBL_ZONE in findings[0].evidence and "phish" in findings[0].evidence
    # Spam-only and error answers never count.
    for host in ("spam.example", "error.example", "abuse-only.example", "refused.example"):
        assert detector.detect(call(msg("user", f"see https://{host}/x"))) == []


def test_tor_dnsel_answers_for_exits_missing_from_the_lists(dns_server, tmp_path):
    from dns_server import DNSEL_ZONE

    detector = TorExitDetector(TorConfig(dnsel=True, dnsel_zone=DNSEL_ZONE),
                               dns_intel(dns_server, tmp_path))
    [finding] = detector.detect_peer(Peer(("185.220.101.34",)))
    assert DNSEL_ZONE in finding.evidence
    assert detector.detect_peer(Peer(("198.51.100.77",))) == []
