"""Who called: client address candidates and user agent from an HTTP SERVER span.

Python's WSGI/ASGI instrumentations record the socket peer as ``client.address``
and do not parse forwarding headers, so behind a proxy the end user is only in the
captured request headers. Candidates, most original first:
leftmost..rightmost ``X-Forwarded-For`` entries, ``Forwarded: for=`` values,
``X-Real-IP``, then ``client.address``, ``http.client_ip``, ``net.peer.ip``,
``net.sock.peer.addr``, ``network.peer.address``. Only parsable IPs are kept
(normalized: no port, brackets or quotes), de-duplicated, at most `MAX_ADDRESSES`.
"""

from __future__ import annotations

from functools import lru_cache
from sys import intern
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_ai_detect import semconv as sc
from otel_ai_detect.extract.jsontext import any_value_str, any_value_strings
from otel_ai_detect.model import Peer
from otel_ai_detect.netaddr import parse_ip

MAX_ADDRESSES = 16
_MAX_HEADER_ENTRIES = 64  # an attacker can send thousands of XFF hops

_XFF, _FORWARDED, _REAL_IP, _UA_HEADER = "xff", "forwarded", "real_ip", "ua_header"
_HEADERS = {
    **{sc.HTTP_REQUEST_HEADER_PREFIX + h: _XFF for h in sc.HEADER_X_FORWARDED_FOR},
    **{sc.HTTP_REQUEST_HEADER_PREFIX + h: _FORWARDED for h in sc.HEADER_FORWARDED},
    **{sc.HTTP_REQUEST_HEADER_PREFIX + h: _REAL_IP for h in sc.HEADER_X_REAL_IP},
    **{sc.HTTP_REQUEST_HEADER_PREFIX + h: _UA_HEADER for h in sc.HEADER_USER_AGENT},
}
_ADDRESS_ATTRS = (sc.CLIENT_ADDRESS, sc.HTTP_CLIENT_IP, sc.NET_PEER_IP,
                  sc.NET_SOCK_PEER_ADDR, sc.NETWORK_PEER_ADDRESS)
_UA_ATTRS = (sc.USER_AGENT_ORIGINAL, sc.HTTP_USER_AGENT)
_HEADER_KEYS = frozenset(_HEADERS)
_WANTED = _HEADER_KEYS | frozenset(_ADDRESS_ATTRS) | frozenset(_UA_ATTRS)
SERVER = Span.SpanKind.SPAN_KIND_SERVER  # resolved once: the enum wrapper lookup is slow


def span_peer(span: Any) -> Peer | None:
    """The caller of an HTTP SERVER span; None for other kinds or when nothing is found."""
    if span.kind != SERVER:
        return None
    found: dict[str, Any] = {}
    for kv in span.attributes:
        key = kv.key
        if key in _WANTED:
            found[key] = kv.value
    if not found:
        return None
    if _HEADER_KEYS.isdisjoint(found):  # the common case: no captured headers
        return _peer([], found, None)
    headers: dict[str, list[str]] = {}
    for key, value in found.items():
        slot = _HEADERS.get(key)
        if slot is not None:
            headers.setdefault(slot, []).extend(any_value_strings(value))
    candidates = _split(headers.get(_XFF, ()), ",")
    for element in _split(headers.get(_FORWARDED, ()), ","):
        for pair in element.split(";"):
            name, _, value = pair.partition("=")
            if name.strip().lower() == "for":
                candidates.append(value)
    candidates += headers.get(_REAL_IP, [])
    header_ua = headers.get(_UA_HEADER)
    return _peer(candidates, found, header_ua[0] if header_ua else None)


def _peer(candidates: list[str], found: dict[str, Any], header_ua: str | None) -> Peer | None:
    """Header candidates, then the address attributes; the user-agent attribute, else the
    captured header."""
    candidates += [s for key in _ADDRESS_ATTRS if key in found for s in any_value_strings(found[key])]
    addresses = _normalize(candidates) if candidates else ()
    user_agent = next((any_value_str(found[k]) for k in _UA_ATTRS if k in found), None)
    user_agent = user_agent or header_ua
    if not addresses and not user_agent:
        return None
    # Interned: the per-trace memory holds a Peer per trace, and user agents repeat.
    return Peer(addresses, intern(user_agent) if user_agent else None)


def _split(values: Any, separator: str) -> list[str]:
    """Header values (possibly several, each possibly comma-joined) as entries, capped."""
    entries: list[str] = []
    for value in values:
        for entry in value.split(separator, _MAX_HEADER_ENTRIES):
            entries.append(entry)
            if len(entries) >= _MAX_HEADER_ENTRIES:
                return entries
    return entries


def _normalize(candidates: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for candidate in dict.fromkeys(candidates):  # the same IP often sits in 3 headers
        ip = _canonical(candidate)
        if ip is not None:
            seen.setdefault(ip, None)
            if len(seen) >= MAX_ADDRESSES:
                break
    return tuple(seen)


@lru_cache(maxsize=4096)  # clients repeat across spans; ipaddress parsing costs ~4 us
def _canonical(candidate: str) -> str | None:
    """``" [2001:db8::1]:443"`` -> ``2001:db8::1``; None when it is not an IP."""
    ip = parse_ip(candidate.strip().strip('"'))
    return str(ip) if ip is not None else None
