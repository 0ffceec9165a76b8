"""Feed parsers: every format, auto-detection, malformed lines skipped and counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otel_ai_detect.config_types import FEED_FORMATS
from otel_ai_detect.intel import formats
from otel_ai_detect.intel.formats import detect_format, parse

FEEDS = Path(__file__).parent / "testdata" / "feeds"

# file, format, kind, expected keys, skipped
CASES = [
    ("openphish.txt", "urls", "urls",
     {"paypal-login.com/signin/", "secure-update.example-bank.com/login.php?session=1",
      "evil.com/verify", "sites.example.net/view/phish/"}, 2),
    ("domains.txt", "domains", "hosts",
     {"evil.com", "paypal-login.com", "hosts-style.example.org", "wildcard-phish.net",
      "xn--mnchen-phish-dlb.de"}, 1),
    ("phishtank.json", "phishtank_json", "urls",
     {"account-verify.example-login.com/auth/index.html", "198.51.100.23/wp-admin/bank/login.php"}, 2),
    ("phishtank.csv", "phishtank_csv", "urls",
     {"account-verify.example-login.com/auth/index.html", "mail-box.example-secure.org/owa/?user=a,b"}, 1),
    ("urlhaus.csv", "urlhaus_csv", "urls",
     {"192.0.2.44/bins/mozi.m", "cdn.malware-drop.example.com/payload.exe"}, 1),
    ("torbulkexitlist", "tor_bulk", "ips", {"185.220.101.1", "185.220.101.2", "171.25.193.77"}, 1),
    ("exit-addresses", "tor_exit_addresses", "ips",
     {"162.247.74.201", "185.220.100.240", "185.220.100.241"}, 1),
    ("onionoo.json", "onionoo", "ips", {"162.247.74.201", "2001:db8::1", "185.220.100.240"}, 1),
    ("ips.txt", "ips", "ips", {"203.0.113.9", "2001:db8::dead:beef"}, 1),
]


@pytest.mark.parametrize("file, fmt, kind, keys, skipped", CASES)
def test_every_format_parses(file: str, fmt: str, kind: str, keys: set[str], skipped: int) -> None:
    result = parse(fmt, (FEEDS / file).read_bytes(), "feed-x")
    mapping = getattr(result.indicators, kind)
    assert set(mapping) == keys
    assert set(mapping.values()) == {"feed-x"}
    assert result.skipped == skipped
    others = [k for k in ("urls", "hosts", "ips") if k != kind]
    assert all(len(getattr(result.indicators, k)) == 0 for k in others)


def test_every_configured_format_has_a_parser() -> None:
    covered = {fmt for _, fmt, *_ in CASES}
    assert covered == set(FEED_FORMATS) - {"auto"}


@pytest.mark.parametrize("file, fmt, kind, keys, skipped", CASES)
def test_auto_detects_from_name_and_content(file: str, fmt: str, kind: str, keys: set[str],
                                            skipped: int) -> None:
    data = (FEEDS / file).read_bytes()
    assert detect_format(file, data) == fmt
    # Content alone (a URL with no telling name): Tor bulk lists look like plain IP lists.
    assert detect_format("https://feeds.example/download", data) == ("ips" if fmt == "tor_bulk" else fmt)
    auto = parse("auto", data, "n", source=file)
    assert set(getattr(auto.indicators, kind)) == keys


def test_comments_blank_lines_and_bom_are_not_errors() -> None:
    data = "\ufeff# header\n\n   \nevil.com\n# trailing\n".encode()
    result = parse("domains", data, "d")
    assert dict(result.indicators.hosts) == {"evil.com": "d"} and result.skipped == 0


def test_same_url_in_any_scheme_or_form_is_one_key() -> None:
    data = b"http://Evil.com/a/\nhttps://evil.com:443/a/\nhttps://evil.com/a/#x\n"
    assert list(parse("urls", data, "u").indicators.urls) == ["evil.com/a/"]


def test_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_ENTRIES", 2)
    result = parse("ips", b"1.1.1.1\n2.2.2.2\n3.3.3.3\n", "i")
    assert len(result.indicators.ips) == 2 and result.skipped == 1
    long_line = b"evil.com/" + b"a" * (formats.MAX_LINE + 1)
    assert parse("urls", long_line + b"\nhttps://ok.com/\n", "u").skipped == 1


@pytest.mark.parametrize("fmt, data", [
    ("phishtank_json", b"{not json"), ("onionoo", b"[1,2"), ("phishtank_json", b'{"a": 1}'),
    ("urlhaus_csv", b'"unterminated\n'), ("urls", b"\xff\xfe\x00garbage"),
])
def test_malformed_documents_never_raise(fmt: str, data: bytes) -> None:
    result = parse(fmt, data, "x")
    assert result.indicators.size == 0


def test_phishtank_json_is_read_record_by_record_with_the_same_urls_as_a_whole_decode() -> None:
    # Records are decoded one at a time (the whole 40 MB file held ~150 MB of records);
    # a BOM, any JSON whitespace and nested details change nothing.
    records = [{"phish_id": i, "url": f"https://login-{i}.example-phish.test/a?b={i}",
                "details": [{"ip_address": "198.51.100.7", "url": "not-this-one"}]}
               for i in range(50)] + [{"phish_id": 99}, "not a record"]
    document = "\ufeff [\n" + " ,\r\n\t".join(json.dumps(r) for r in records) + "\n] \n"
    result = parse("phishtank_json", document.encode(), "pt")
    assert set(result.indicators.urls) == {f"login-{i}.example-phish.test/a?b={i}" for i in range(50)}
    assert result.skipped == 2
    assert parse("phishtank_json", b"[]", "pt").indicators.size == 0


def test_a_truncated_phishtank_document_adds_nothing() -> None:
    # All or nothing, as a whole decode was: a cut-off download must not replace a good
    # copy with its first half.
    document = json.dumps([{"url": f"https://p{i}.example-phish.test/"} for i in range(10)])
    result = parse("phishtank_json", document[:-40].encode(), "pt")
    assert result.indicators.size == 0 and result.skipped == 1


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse("xml", b"", "x")
