"""Threat-intelligence feed parsers: bytes in one of FEED_FORMATS -> `Indicators`.

`parse(fmt, data, name)` returns a `Parsed` (a named tuple: ``indicators``,
``skipped``): a malformed line or record is skipped and counted, never fatal,
so one bad entry cannot empty a feed. `#` comments and blank lines are not
counted. Work is bounded: at most `MAX_ENTRIES` indicators per feed and
`MAX_LINE` characters per line (longer lines are skipped).

What each format yields (keys are canonical, see `otel_ai_detect.urls`):
  urls, phishtank_json, phishtank_csv, urlhaus_csv -> `urls` (``host/path?query``,
  no scheme, so http/https and default ports fall together);
  domains -> `hosts` (listed with every subdomain);
  tor_bulk, tor_exit_addresses, onionoo, ips -> `ips` (IPv4 and IPv6).
"""

from __future__ import annotations

import csv
import ipaddress
import json
import re
from types import MappingProxyType
from typing import Callable, Iterable, Iterator, NamedTuple

from otel_ai_detect.intel.indicators import Indicators
from otel_ai_detect.netaddr import parse_ip
from otel_ai_detect.urls import canonicalize

MAX_ENTRIES = 2_000_000
MAX_LINE = 8192


class Parsed(NamedTuple):
    indicators: Indicators
    skipped: int  # malformed lines/records (and entries beyond MAX_ENTRIES)


class _Sink:
    """Collects one kind of indicator, counting what it had to skip."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.items: dict[str, str] = {}
        self.skipped = 0

    def add(self, key: str | None) -> None:
        if not key:
            self.skipped += 1
        elif len(self.items) >= MAX_ENTRIES:
            self.skipped += 1
        else:
            self.items.setdefault(key, self.name)


def _lines(data: bytes) -> Iterator[str | None]:
    """Content lines; None for an over-long line (skipped by the caller, counted)."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.splitlines():
        if len(line) > MAX_LINE:
            yield None
            continue
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def _url_key(url: str | None) -> str | None:
    if not url or len(url) > MAX_LINE:
        return None
    c = canonicalize(url)
    return c.key if c is not None else None


def _domain_key(text: str | None) -> str | None:
    if not text:
        return None
    # Hosts-file lines (`0.0.0.0 evil.example`) and `*.evil.example` wildcards.
    token = text.split()[-1].removeprefix("*.")
    c = canonicalize("http://" + token + "/") if "/" not in token and "@" not in token else None
    if c is None or "." not in c.host:
        return None
    # `300.1.2.3` is no domain (and no IP): a listed host needs a letter in its TLD.
    last = c.host.rsplit(".", 1)[1]
    return c.host if c.host[0] == "[" or not last.isdigit() or _is_ip(c.host) else None


def _ip_key(text: str | None) -> str | None:
    ip = parse_ip(text) if text else None
    return ip.compressed if ip is not None else None


def _urls(data: bytes, sink: _Sink) -> None:
    for line in _lines(data):
        sink.add(_url_key(line))


def _domains(data: bytes, sink: _Sink) -> None:
    for line in _lines(data):
        sink.add(_domain_key(line))


def _ips(data: bytes, sink: _Sink) -> None:
    for line in _lines(data):
        sink.add(_ip_key(line.split()[0] if line else None))


def _exit_addresses(data: bytes, sink: _Sink) -> None:
    for line in _lines(data):
        if line is None:
            sink.skipped += 1
        elif line.startswith("ExitAddress"):
            parts = line.split()
            sink.add(_ip_key(parts[1] if len(parts) > 1 else None))
        # ExitNode / Published / LastStatus lines carry no address: not errors.


def _onionoo(data: bytes, sink: _Sink) -> None:
    try:
        relays = json.loads(data).get("relays")
    except (ValueError, AttributeError):
        sink.skipped += 1
        return
    for relay in relays if isinstance(relays, list) else ():
        if not isinstance(relay, dict):
            sink.skipped += 1
            continue
        # exit_addresses are what sites see; or_addresses are the fallback when absent.
        addrs = relay.get("exit_addresses") or relay.get("or_addresses") or []
        for addr in addrs if isinstance(addrs, list) else [None]:
            sink.add(_ip_key(addr) if isinstance(addr, str) else None)


def _phishtank_json(data: bytes, sink: _Sink) -> None:
    """The `url` of every record. The array is decoded one record at a time: `json.loads`
    of the whole ~40 MB file held ~150 MB of records at once (the start-up peak), for one
    field of each. All or nothing, as before: a document that does not decode adds none."""
    try:
        urls = list(_array_field(data.decode("utf-8-sig"), "url"))
    except ValueError:  # not JSON, not an array, truncated, or not UTF-8
        sink.skipped += 1
        return
    for url in urls:
        sink.add(_url_key(url) if isinstance(url, str) else None)


_JSON = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _array_field(text: str, field: str) -> Iterator[object]:
    """`record[field]` (None when absent) of each element of a top-level JSON array."""
    pos = _WHITESPACE.match(text, 0).end()
    if not text.startswith("[", pos):
        raise ValueError("not a JSON array")
    pos = _WHITESPACE.match(text, pos + 1).end()
    if text.startswith("]", pos):
        return
    while True:
        record, pos = _JSON.raw_decode(text, pos)
        yield record.get(field) if isinstance(record, dict) else None
        pos = _WHITESPACE.match(text, pos).end()
        if text.startswith("]", pos):
            return
        if not text.startswith(",", pos):
            raise ValueError(f"expected ',' or ']' at {pos}")
        pos = _WHITESPACE.match(text, pos + 1).end()


def _csv_rows(data: bytes) -> Iterable[list[str]]:
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = (ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
    reader = csv.reader(lines)
    try:
        yield from reader
    except csv.Error:
        return


def _csv_urls(data: bytes, sink: _Sink, default_col: int) -> None:
    col = default_col
    for i, row in enumerate(_csv_rows(data)):
        if i == 0 and "url" in (c.strip().lower() for c in row):
            col = [c.strip().lower() for c in row].index("url")  # a header, not data
            continue
        sink.add(_url_key(row[col]) if len(row) > col else None)


_PARSERS: dict[str, tuple[str, Callable[[bytes, _Sink], None]]] = {
    "urls": ("urls", _urls),
    "domains": ("hosts", _domains),
    "phishtank_json": ("urls", _phishtank_json),
    "phishtank_csv": ("urls", lambda d, s: _csv_urls(d, s, 1)),
    "urlhaus_csv": ("urls", lambda d, s: _csv_urls(d, s, 2)),
    "tor_bulk": ("ips", _ips),
    "ips": ("ips", _ips),
    "tor_exit_addresses": ("ips", _exit_addresses),
    "onionoo": ("ips", _onionoo),
}


def parse(fmt: str, data: bytes, name: str, *, source: str = "") -> Parsed:
    """Parse `data` as `fmt` (``auto``: `detect_format(source, data)`). Never raises on content."""
    if fmt == "auto":
        fmt = detect_format(source, data)
    if fmt not in _PARSERS:
        raise ValueError(f"unknown feed format {fmt!r}")
    kind, parser = _PARSERS[fmt]
    sink = _Sink(name)
    parser(data, sink)
    items = MappingProxyType(sink.items)
    ind = Indicators(**{k: (items if k == kind else MappingProxyType({}))
                        for k in ("urls", "hosts", "ips")})
    return Parsed(ind, sink.skipped)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def detect_format(source: str, data: bytes) -> str:
    """Tell the format from the file name, then from the first bytes of content."""
    lower = source.lower().split("?", 1)[0]
    if "torbulkexitlist" in lower:
        return "tor_bulk"
    if lower.endswith("exit-addresses"):
        return "tor_exit_addresses"
    if "onionoo" in lower:
        return "onionoo"
    head = data[:65536].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if head.startswith(("[", "{")):
        if '"relays"' in head:
            return "onionoo"
        if '"phish_id"' in head:
            return "phishtank_json"
    if "urlhaus" in head[:2048].lower() and head.startswith("#"):
        return "urlhaus_csv"
    lines = [ln.strip() for ln in head.splitlines()[:200] if ln.strip() and not ln.startswith("#")]
    first = lines[0].lower().replace('"', "") if lines else ""
    if first.startswith("phish_id,url"):
        return "phishtank_csv"
    if first.startswith("id,dateadded,url"):
        return "urlhaus_csv"
    sample = lines[:20]
    if any(ln.startswith("ExitNode ") for ln in lines[:5]):
        return "tor_exit_addresses"
    # Majorities, not unanimity: the feed may hold the odd malformed line.
    if sample and sum(_is_ip(ln.split()[0]) for ln in sample) * 3 >= len(sample) * 2:
        return "ips"
    if sample and sum("://" in ln for ln in sample) * 2 >= len(sample):
        return "urls"
    return "domains"
