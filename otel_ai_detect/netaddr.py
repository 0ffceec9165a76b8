"""Client address helpers: parse the address forms proxies and servers write."""

from __future__ import annotations

import ipaddress
from functools import lru_cache


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP from `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:443`, `"[::1]"`; else None."""
    value = text.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


@lru_cache(maxsize=8192)  # clients repeat across traces; parsing and is_global cost ~8 us
def first_public(addresses: tuple[str, ...]) -> str | None:
    """The first globally routable address, else the first parsable one."""
    first = None
    for text in addresses:
        ip = parse_ip(text)
        if ip is None:
            continue
        if ip.is_global:
            return str(ip)
        first = first or str(ip)
    return first


@lru_cache(maxsize=8192)
def is_global(address: str) -> bool:
    """True for a globally routable IP given in canonical form (`first_public`'s answer)."""
    return ipaddress.ip_address(address).is_global
