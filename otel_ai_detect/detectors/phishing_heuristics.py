"""Suspicion without a listing: off by default, and only ever a low-confidence alert.

Two signals that phishing kits use and ordinary links rarely do:
- a punycode host whose Unicode form, with look-alike letters folded to
  ASCII, spells a configured brand that the registrable domain is not
  (`xn--pypal-4ve.com` renders as "pаypal.com" with a Cyrillic а);
- a raw public IP address as the host of a web link.
"""

from __future__ import annotations

import ipaddress

from otel_ai_detect import urls

# Letters from other scripts that render like ASCII ones (a common subset of
# Unicode's confusables: Cyrillic, Greek, and Latin look-alikes).
_CONFUSABLE = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "һ": "h", "ԁ": "d", "ɡ": "g", "ӏ": "l", "ո": "n", "ս": "u", "ԝ": "w",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "τ": "t", "ι": "i", "κ": "k", "ε": "e",
    "ı": "i", "ł": "l", "ø": "o", "ß": "b", "à": "a", "á": "a", "â": "a", "ä": "a", "ã": "a",
    "è": "e", "é": "e", "ê": "e", "ë": "e", "ì": "i", "í": "i", "î": "i", "ï": "i",
    "ò": "o", "ó": "o", "ô": "o", "ö": "o", "õ": "o", "ù": "u", "ú": "u", "û": "u", "ü": "u",
    "ç": "c", "ñ": "n", "ý": "y",
})


def _unicode_host(host: str) -> str:
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label = label[4:].encode("ascii").decode("punycode")
            except (UnicodeError, ValueError):
                pass
        labels.append(label)
    return ".".join(labels)


def suspicion(canonical: "urls.Canonical", brands: tuple[str, ...]) -> str | None:
    """Why the URL looks like phishing, or None."""
    host = canonical.host
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return "raw IP host" if address.is_global else None
    if "xn--" not in host:
        return None
    folded = _unicode_host(host).translate(_CONFUSABLE)
    registrable = (canonical.registrable_domain or host).split(".")[0]
    for brand in brands:
        if brand in folded.replace("-", "") and registrable != brand:
            return f"punycode look-alike of {brand} ({_unicode_host(host)!a})"
    return None
