"""URLs in text: find them, canonicalize them Safe-Browsing style, look them up.

`extract_urls` finds URLs in prose and markdown with a linear scan (one simple
character class, no backtracking), `canonicalize` turns one into the form the
feeds are keyed by (see `otel_ai_detect.intel.indicators`), `lookup` answers
"is it listed?" with dict look-ups only, and `defang` makes a URL safe to show.

Scheme-less candidates (``example.com/login``) are the false-positive risk:
they count only when the host ends in a public suffix (PSL, tldextract's
bundled snapshot, never fetched) and has a path, or starts with ``www.``, or
ends in one of `_BARE_SUFFIXES` (generic TLDs that are not also common file
extensions: ``config.py``, ``README.md``, ``main.rs`` are ccTLDs, so a bare
``name.py`` is never a URL). E-mail addresses never count.
"""

from __future__ import annotations

import encodings.idna
import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import unquote_to_bytes

import idna
import re2
import tldextract

from otel_ai_detect.intel.indicators import Indicators

MAX_TEXT = 1_000_000   # characters scanned per text: bounds the work per span
MAX_URLS = 1000        # URLs reported per text
MAX_URL = 8192         # a longer token is not a URL we can key anyway
_UNESCAPE_ROUNDS = 16  # "repeatedly" unescape, but bounded (%25252525...)

# Runs of characters a URL may contain (RFC 3986 plus `%`); a single class with
# `+` cannot backtrack, so the scan is linear in the text length.
_TOKEN = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%\-\u00a1-\uffff]+")
# For ASCII text (the common case), the same runs but only those holding "://" or a dot
# followed by a label character: every URL form has one, plain words and the word ending a
# sentence ("year.") do not, so prose costs one RE2 pass over bytes instead of a Python
# step per word or sentence. RE2 is linear; Python's re would go quadratic on this shape.
# Other text goes through _TOKEN.
_C = rb"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%\-]"
_ASCII_CANDIDATE = re2.compile(_C + rb"*(?:\.[A-Za-z0-9_-]|://)" + _C + rb"*")


def _candidates(text: str):
    """(token, start) for each run that may hold a URL."""
    if text.isascii():
        for m in _ASCII_CANDIDATE.finditer(text.encode("ascii")):
            yield m.group().decode("ascii"), m.start()
    else:
        for m in _TOKEN.finditer(text):
            yield m.group(), m.start()
_TRAIL = ".,:;!?\"'*_~\u201c\u201d\u2018\u2019\u00bb\u3002"
_BARE_SUFFIXES = frozenset(
    "com net org info biz io co ai app dev xyz top online site shop store club live "
    "link click page cloud tech email support services security login account "
    "ru cn uk de fr jp br in eu us ca au nl".split())

_PSL = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class FoundUrl(NamedTuple):
    raw: str    # the URL as written (scheme-less forms as well)
    start: int  # offset in the text


class Match(NamedTuple):
    indicator: str  # the listed key that matched
    feed: str       # the feed that listed it
    how: str        # url | url-prefix | host | parent-domain | ip


def _strip_trailing(url: str) -> str:
    """GitHub autolink rule: drop trailing punctuation and unbalanced closers."""
    while url:
        last = url[-1]
        if last in _TRAIL:
            url = url[:-1]
        elif last == ")" and url.count(")") > url.count("("):
            url = url[:-1]
        elif last == "]" and url.count("]") > url.count("["):
            url = url[:-1]
        else:
            break
    return url


def _schemeless_ok(piece: str) -> bool:
    end = len(piece)
    for sep in "/?#":
        i = piece.find(sep)
        if i != -1:
            end = min(end, i)
    host, has_path = piece[:end], end < len(piece)
    if "@" in host or "@" in piece[:end + 1]:
        return False  # an e-mail address, or user@host without a scheme
    host = host.split(":", 1)[0].rstrip(".").lower()
    if not host or "." not in host:
        return False
    labels = host.split(".")
    if all(label.isdigit() for label in labels):
        # A dotted IPv4 with a path; `1.2.3` and bare `1.2.3.4` are versions.
        return has_path and len(labels) == 4 and all(int(x) < 256 for x in labels)
    if any(not label for label in labels):
        return False
    ext = _PSL(host)
    if not ext.suffix or not ext.domain or not any(c.isalpha() for c in ext.domain):
        return False
    return has_path or host.startswith("www.") or "." in ext.suffix or ext.suffix in _BARE_SUFFIXES


def _scan_piece(piece: str) -> tuple[int, str] | None:
    lower = piece.lower()
    for marker in ("https://", "http://"):
        i = lower.find(marker)
        if i != -1:
            return i, piece[i:]
    # Scheme-less: skip markdown/quote openers before the host.
    i = 0
    while i < len(piece) and not piece[i].isalnum():
        i += 1
    rest = piece[i:]
    return (i, rest) if _schemeless_ok(rest) else None


def extract_urls(text: str, *, limit: int = MAX_URLS) -> list[FoundUrl]:
    """URLs in `text`, in order: bare, www., scheme-less, markdown links/images, <...>."""
    found: list[FoundUrl] = []
    for token, base in _candidates(text[:MAX_TEXT]):
        # Every URL form has a dot in its host or a scheme's "://" ([::1] hosts): a plain
        # word has neither, and skipping it here is what keeps prose cheap.
        if len(token) > MAX_URL or ("." not in token and "://" not in token):
            continue
        # `[label](target)` with no spaces is one token: both sides may be URLs.
        offset = 0
        for piece in token.split("]("):
            hit = _scan_piece(piece)
            if hit is not None:
                url = _strip_trailing(hit[1])
                if len(url) > 4 and not url.lower().rstrip("/").endswith(":"):
                    found.append(FoundUrl(url, base + offset + hit[0]))
                    if len(found) >= limit:
                        return found
            offset += len(piece) + 2
    return found


def _unescape(data: bytes) -> bytes:
    for _ in range(_UNESCAPE_ROUNDS):
        if b"%" not in data:
            break
        new = unquote_to_bytes(data)
        if new == data:
            break
        data = new
    return data


def _escape(data: bytes) -> str:
    return "".join(f"%{b:02X}" if b <= 0x20 or b >= 0x7F or b in (0x23, 0x25) else chr(b)
                   for b in data)


def _ipv4(host: str) -> str | None:
    """Safe Browsing: `3279880203`, `0xc3.0250.1.1`, `1.2` style hosts -> dotted quad."""
    if not host or not all(c in "0123456789abcdefx." for c in host) or host.count(".") > 3:
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host))  # the libc reading of all IPv4 forms
    except (OSError, ValueError):
        return None


def _host(raw: bytes) -> str | None:
    try:
        host = _unescape(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None
    host = host.lower().strip(".")
    while ".." in host:
        host = host.replace("..", ".")
    if not host:
        return None
    if host.startswith("["):
        try:
            return "[" + ipaddress.IPv6Address(host.strip("[]")).compressed + "]"
        except ValueError:
            return None
    ip = _ipv4(host)
    if ip:
        return ip
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            try:  # IDNA 2003: accepts some forms (symbols) that IDNA 2008 refuses
                host = encodings.idna.Codec().encode(host)[0].decode("ascii")
            except UnicodeError:
                return None
    # Characters no registrable host has (markup, quotes, spaces): not a URL we can key.
    if any(c <= " " or c in '/\\?@<>"{}|^`' for c in host):
        return None
    return _escape(host.encode("ascii"))


def _path(raw: bytes) -> str:
    segments: list[bytes] = []
    parts = _unescape(raw).split(b"/")
    for seg in parts[1:]:
        if seg == b"..":
            if segments:
                segments.pop()
        elif seg not in (b".", b""):
            segments.append(seg)
    trailing = parts[-1] in (b"", b".", b"..") and len(parts) > 1
    path = b"/" + b"/".join(segments) + (b"/" if trailing and segments else b"")
    return _escape(path)


@lru_cache(maxsize=65536)
def _suffixes(host: str) -> tuple[tuple[str, ...], str | None]:
    if host.startswith("[") or _ipv4(host):
        return (host,), None
    ext = _PSL(host)
    if ext.suffix and ext.domain:
        registrable = f"{ext.domain}.{ext.suffix}"
    elif ext.suffix:
        return (host,), None  # the host *is* a public suffix (e.g. `co.uk`)
    else:  # PSL default rule `*`: an unknown TLD is a one-label suffix
        labels = host.split(".")
        registrable = ".".join(labels[-2:]) if len(labels) > 1 else host
    labels = host.split(".")
    stop = len(labels) - registrable.count(".")  # never above the registrable domain
    return tuple(".".join(labels[i:]) for i in range(stop)), registrable


@dataclass(frozen=True, slots=True)
class Canonical:
    scheme: str
    host: str         # lower-case punycode, dotted-quad IPv4 or [IPv6]
    port: int | None  # None when default for the scheme
    path: str         # canonical path with the query, always starting with `/`

    @property
    def url(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{self.host}{port}{self.path}"

    @property
    def key(self) -> str:
        """The full expression (no scheme): how a URL feed keys this URL."""
        return self.host + self.path

    @property
    def registrable_domain(self) -> str | None:
        return _suffixes(self.host)[1]

    @property
    def is_ip(self) -> bool:
        return self.registrable_domain is None and (self.host.startswith("[") or bool(_ipv4(self.host)))

    def host_suffixes(self) -> tuple[str, ...]:
        """The host, then its parents down to (and including) the registrable domain."""
        return _suffixes(self.host)[0]

    def expressions(self) -> list[str]:
        """Safe Browsing: up to 5 host suffixes x 6 path prefixes, most specific first."""
        path, _, query = self.path.partition("?")
        prefixes = [self.path] if query else []
        prefixes.append(path)
        parts = path.split("/")[1:-1]  # directories only
        walk = "/"
        roots = [walk]
        for seg in parts[:3]:
            walk += seg + "/"
            roots.append(walk)
        for p in roots:
            if p not in prefixes:
                prefixes.append(p)
        # The exact host, then up to 4 suffixes made of its last 5 labels or fewer.
        suffixes = self.host_suffixes()
        hosts = [suffixes[0]] + [h for h in suffixes[1:] if h.count(".") <= 4][:4]
        return [h + p for h in hosts for p in prefixes[:6]]


def canonicalize(url: str) -> Canonical | None:
    """Canonical form of `url` (scheme-less means http), or None if it has no usable host."""
    url = url.strip().replace("\t", "").replace("\r", "").replace("\n", "")
    url = url.split("#", 1)[0]
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "http", url
    scheme = scheme.lower()
    if not scheme.isalpha():
        return None
    end = len(rest)
    for c in "/?":
        i = rest.find(c)
        if i != -1:
            end = min(end, i)
    authority, tail = rest[:end], rest[end:]
    authority = authority.rpartition("@")[2]
    port: int | None = None
    hostpart = authority
    if authority.startswith("["):
        hostpart, _, after = authority.partition("]")
        hostpart += "]"
        if after.startswith(":") and after[1:].isdigit():
            port = int(after[1:])
    elif ":" in authority:
        hostpart, _, p = authority.rpartition(":")
        if p and not p.isdigit():
            return None
        port = int(p) if p else None
    if port is not None and (port > 65535 or (scheme, port) in (("http", 80), ("https", 443))):
        port = None if port <= 65535 else -1
        if port == -1:
            return None
    host = _host(hostpart.encode("utf-8"))
    if host is None:
        return None
    path_raw, q, query = tail.partition("?")
    path = _path(path_raw.encode("utf-8") or b"/")
    if q:
        path += "?" + _escape(_unescape(query.encode("utf-8")))
    return Canonical(scheme, host, port, path)


def defang(url: str, limit: int = 120) -> str:
    """`hxxps://evil[.]example/...`: not clickable, not auto-linked, bounded length."""
    scheme, sep, rest = url.partition("://")
    if sep:
        scheme = re.sub("^http", "hxxp", scheme, flags=re.IGNORECASE)
    else:
        scheme, rest = "", url
    end = min([i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i != -1] or [len(rest)])
    out = (scheme + "://" if sep else "") + rest[:end].replace(".", "[.]") + rest[end:]
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _toggled_slash(key: str) -> str:
    path, q, query = key.partition("?")
    path = path[:-1] if path.endswith("/") and path.count("/") > 1 else path + "/"
    return path + q + query


def lookup(canonical: Canonical, indicators: Indicators) -> Match | None:
    """Most specific listing first: the URL, URL prefixes, the host, its parent domains."""
    urls, hosts = indicators.urls, indicators.hosts
    if urls:
        # A feed's `evil.example/login` must match `https://evil.example/login/` too.
        key = canonical.key
        for k in (key, _toggled_slash(key)):
            if k in urls:
                return Match(k, urls[k], "url")
        for k in canonical.expressions():
            if k in urls:
                return Match(k, urls[k], "url-prefix")
    suffixes = canonical.host_suffixes()
    if canonical.host in hosts:
        return Match(canonical.host, hosts[canonical.host], "ip" if canonical.is_ip else "host")
    for parent in suffixes[1:]:
        if parent in hosts:
            return Match(parent, hosts[parent], "parent-domain")
    return None
