"""URL extraction, Safe-Browsing canonicalization, expressions and look-ups."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from otel_ai_detect.intel.indicators import Indicators
from otel_ai_detect.urls import canonicalize, defang, extract_urls, lookup


def raws(text: str) -> list[str]:
    return [f.raw for f in extract_urls(text)]


@pytest.mark.parametrize("text, expected", [
    ("go to https://evil.com/login now", ["https://evil.com/login"]),
    ("HTTP://EVIL.COM/x.", ["HTTP://EVIL.COM/x"]),
    ("see (https://evil.com/a), ok", ["https://evil.com/a"]),
    ("wiki https://en.wikipedia.org/wiki/Foo_(bar) end", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
    ("[click here](https://evil.com/p?a=1).", ["https://evil.com/p?a=1"]),
    ("![x](https://img.evil.com/t.png)", ["https://img.evil.com/t.png"]),
    ("[https://good.com](https://evil.com/)", ["https://good.com", "https://evil.com/"]),
    ("<https://evil.com/a>", ["https://evil.com/a"]),
    ('"https://evil.com/q"', ["https://evil.com/q"]),
    ("'https://evil.com/q'", ["https://evil.com/q"]),
    ("visit www.evil.com/login!", ["www.evil.com/login"]),
    ("visit www.evil.com", ["www.evil.com"]),
    ("open evil.com/login please", ["evil.com/login"]),
    ("open paypal-login.com", ["paypal-login.com"]),
    ("bank.co.uk is here", ["bank.co.uk"]),
    ("http://192.0.2.1/x and 192.0.2.1/y", ["http://192.0.2.1/x", "192.0.2.1/y"]),
    ("http://[2001:db8::1]:8080/p]", ["http://[2001:db8::1]:8080/p"]),
    ("a\nhttps://a.com/1\thttps://b.com/2", ["https://a.com/1", "https://b.com/2"]),
    # near misses: none of these is a URL
    ("edit config.py and README.md, main.rs", []),
    ("e.g. this, i.e. that", []),
    ("version 1.2.3 or 10.0.0.1", []),
    ("mail bob@evil.com or alice@paypal-login.com", []),
    ("src/utils/helpers.py", []),
    ("just http:// nothing", []),
])
def test_extract(text: str, expected: list[str]) -> None:
    assert raws(text) == expected


def test_extract_offsets_and_cap() -> None:
    text = "x https://a.com/1 y"
    (found,) = extract_urls(text)
    assert text[found.start:found.start + len(found.raw)] == found.raw
    many = " ".join(f"https://h{i}.com/" for i in range(50))
    assert len(extract_urls(many, limit=10)) == 10


def test_extract_is_linear_on_hostile_input() -> None:
    # Would blow up a backtracking pattern; must finish quickly and find nothing odd.
    text = "a." * 200_000 + "(" * 100_000 + "http:" * 50_000
    assert extract_urls(text) == [] or len(extract_urls(text)) <= 1000


@pytest.mark.parametrize("url, canonical", [
    # Safe Browsing's own canonicalization examples (those this module supports)
    ("http://host/%25%32%35", "http://host/%25"),
    ("http://host/%25%32%35%25%32%35", "http://host/%25%25"),
    ("http://host/%2525252525252525", "http://host/%25"),
    ("http://host/asdf%25%32%35asd", "http://host/asdf%25asd"),
    ("http://host/%%%25%32%35asd%%", "http://host/%25%25%25asd%25%25"),
    ("http://www.google.com/", "http://www.google.com/"),
    ("http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
     "http://168.188.99.26/.secure/www.ebay.com/"),
    ("http://3279880203/blah", "http://195.127.0.11/blah"),
    ("http://www.google.com/blah/..", "http://www.google.com/"),
    ("www.google.com/", "http://www.google.com/"),
    ("www.google.com", "http://www.google.com/"),
    ("http://www.evil.com/blah#frag", "http://www.evil.com/blah"),
    ("http://www.GOOgle.com/", "http://www.google.com/"),
    ("http://www.google.com.../", "http://www.google.com/"),
    ("http://www.google.com/foo\tbar\rbaz\n2", "http://www.google.com/foobarbaz2"),
    ("http://www.google.com/q?", "http://www.google.com/q?"),
    ("http://www.google.com/q?r?", "http://www.google.com/q?r?"),
    ("http://www.google.com/q?r?s", "http://www.google.com/q?r?s"),
    ("http://evil.com/foo#bar#baz", "http://evil.com/foo"),
    ("http://evil.com/foo;", "http://evil.com/foo;"),
    ("http://evil.com/foo?bar;", "http://evil.com/foo?bar;"),
    ("http://notrailingslash.com", "http://notrailingslash.com/"),
    ("http://www.gotaport.com:1234/", "http://www.gotaport.com:1234/"),
    ("  http://www.google.com/  ", "http://www.google.com/"),
    ("https://www.securesite.com/", "https://www.securesite.com/"),
    ("http://host.com/ab%23cd", "http://host.com/ab%23cd"),
    ("http://host.com//twoslashes?more//slashes", "http://host.com/twoslashes?more//slashes"),
    ("http://host%23.com/%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833%252944_55%252B",
     "http://host%23.com/~a!b@c%23d$e%25f^00&11*22(33)44_55+"),
    # ours: default ports, IP forms, IDN, user info
    ("https://evil.com:443/a", "https://evil.com/a"),
    ("http://evil.com:80/a", "http://evil.com/a"),
    ("https://evil.com:80/a", "https://evil.com:80/a"),
    ("http://0x12.0x12.0x12.0x12/", "http://18.18.18.18/"),
    ("http://0300.0250.0.01/", "http://192.168.0.1/"),
    ("http://user:pw@evil.com/", "http://evil.com/"),
    ("http://münchen.de/", "http://xn--mnchen-3ya.de/"),
    ("http://M%C3%BCnchen.DE/", "http://xn--mnchen-3ya.de/"),
    ("http://[2001:DB8:0::1]:443/x", "http://[2001:db8::1]:443/x"),
    ("http://evil.com/%E2%82%AC", "http://evil.com/%E2%82%AC"),
])
def test_canonicalize(url: str, canonical: str) -> None:
    c = canonicalize(url)
    assert c is not None and c.url == canonical


@pytest.mark.parametrize("url", ["", "http://", "http://evil.com:99999/", "http://a.com:x/",
                                 "ht tp://a.com/", "http://..../",
                                 # Safe Browsing keeps `%20host`; no real host has one: rejected
                                 "http:// leadingspace.com/", "http://%20leadingspace.com/"])
def test_canonicalize_rejects(url: str) -> None:
    assert canonicalize(url) is None


def test_expressions_safe_browsing_example() -> None:
    c = canonicalize("http://a.b.c/1/2.html?param=1")
    assert c is not None
    assert c.expressions() == [
        "a.b.c/1/2.html?param=1", "a.b.c/1/2.html", "a.b.c/", "a.b.c/1/",
        "b.c/1/2.html?param=1", "b.c/1/2.html", "b.c/", "b.c/1/"]
    deep = canonicalize("http://a.b.c.d.e.f.g/1.html")
    assert deep is not None
    assert [e for e in deep.expressions() if e.endswith("1.html")] == [
        "a.b.c.d.e.f.g/1.html", "c.d.e.f.g/1.html", "d.e.f.g/1.html", "e.f.g/1.html", "f.g/1.html"]
    ip = canonicalize("http://1.2.3.4/1/")
    assert ip is not None and ip.expressions() == ["1.2.3.4/1/", "1.2.3.4/"]


def test_host_suffixes_stop_at_registrable_domain() -> None:
    c = canonicalize("https://a.b.bank.co.uk/x")
    assert c is not None
    assert c.host_suffixes() == ("a.b.bank.co.uk", "b.bank.co.uk", "bank.co.uk")
    assert c.registrable_domain == "bank.co.uk"
    assert all("co.uk/" != e.split("/")[0] + "/" for e in c.expressions())


def test_defang() -> None:
    assert defang("https://evil.example.com/a.b?c.d") == "hxxps://evil[.]example[.]com/a.b?c.d"
    assert defang("http://x.com/" + "a" * 300).endswith("…")
    assert len(defang("http://x.com/" + "a" * 300)) == 120


IND = Indicators(
    urls=MappingProxyType({"paypal-login.com/signin/": "openphish", "evil.org/login.php": "openphish",
                           "sites.example.net/view/phish/": "openphish"}),
    hosts=MappingProxyType({"evil.com": "domains", "xn--mnchen-3ya.de": "domains",
                            "198.51.100.7": "domains"}),
)


@pytest.mark.parametrize("url, how, indicator", [
    ("https://evil.com/", "host", "evil.com"),
    ("https://login.evil.com/x", "parent-domain", "evil.com"),
    ("https://EVIL.COM./x", "host", "evil.com"),
    ("https://evil.com:443/x", "host", "evil.com"),
    ("https://%65vil.com/x", "host", "evil.com"),
    ("http://münchen.de/", "host", "xn--mnchen-3ya.de"),
    ("http://xn--mnchen-3ya.de/", "host", "xn--mnchen-3ya.de"),
    ("http://198.51.100.7/a", "ip", "198.51.100.7"),
    ("http://3325256711/a", "ip", "198.51.100.7"),
    ("http://paypal-login.com/signin/", "url", "paypal-login.com/signin/"),
    ("https://paypal-login.com/signin", "url", "paypal-login.com/signin/"),
    ("https://evil.org/login.php/", "url", "evil.org/login.php"),
    ("https://evil.org/login.php#x", "url", "evil.org/login.php"),
    ("https://evil.org/login.php?id=7", "url-prefix", "evil.org/login.php"),
    ("https://sites.example.net/view/phish/page.html", "url-prefix", "sites.example.net/view/phish/"),
])
def test_lookup_hits(url: str, how: str, indicator: str) -> None:
    c = canonicalize(url)
    assert c is not None
    m = lookup(c, IND)
    assert m is not None and (m.how, m.indicator) == (how, indicator)


@pytest.mark.parametrize("url", [
    "https://good.example/evil.com/login",     # listed name inside the path of an unlisted host
    "https://paypa1.com/signin/",              # look-alike, unlisted
    "https://evil.com.good.example/",          # evil.com as a subdomain label of another domain
    "https://notevil.com/",                    # suffix without the dot boundary
    "https://paypal-login.com/other",          # listed URL, different path on the same host
    "https://sites.example.net/view/",         # parent of a listed prefix
    "https://evil.org/",
])
def test_lookup_misses(url: str) -> None:
    c = canonicalize(url)
    assert c is not None and lookup(c, IND) is None
