"""Offline confirmation of credential candidates: checksums, structure, placeholders.

The credentials detector finds candidates with one multi-pattern scan and RE2;
this module decides whether a candidate is really a credential. A check gets
the whole text (bytes, as scanned) and the candidate's span, and returns a
`Verdict` (possibly widening the span, e.g. a PEM block to its END line) or
None to drop it. Nothing here logs or keeps a value.

Checks are pure Python over one short value (or a window of at most a few KB
around it), and run only on the rare texts where the scan fired.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import string
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

import re2

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


class Candidate(NamedTuple):  # a tuple: built for every candidate on the hot path
    data: bytes   # the whole text, UTF-8 (surrogatepass), as scanned
    start: int    # byte span of the value in `data`
    end: int
    value: str    # data[start:end] decoded


@dataclass(frozen=True, slots=True)
class Verdict:
    """A confirmed credential; None fields keep the rule's own."""

    confidence: float | None = None
    note: str = ""                        # why / what, never any part of the value
    kind: str | None = None
    span: tuple[int, int] | None = None   # a wider or other span of `data` holding the value
    key: str | None = None                # the value normalized, for de-duplication
    probe: str | None = None              # a piece that shows the value in the user's prompt


ACCEPT = Verdict()

# Documentation examples published by the providers themselves: never a leak.
DOC_EXAMPLES = frozenset({
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    # Azurite / the Azure Storage emulator's well-known account key.
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",   # GitHub docs
    "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",  # jwt.io's sample signature
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",             # Stripe docs
})

_PLACEHOLDER_WORDS = ("example", "placeholder", "dummy", "changeme", "change_me", "your_",
                      "your-", "yourkey", "yourtoken", "yourpass", "redacted", "replace_me",
                      "xxxx", "****", "...", "\u2026", "<", ">", "${", "{{", "}}", "%(", "%s")


# -- generic filters -----------------------------------------------------------

def entropy(s: str) -> float:
    """Shannon entropy in bits per character."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def _placeholder_pattern() -> str:
    """Placeholder words, six identical characters, six in (reverse) alphabetical or
    numeric order: one alternation of literals, so one linear RE2 pass."""
    pieces = set(_PLACEHOLDER_WORDS) | {ch * 6 for ch in string.printable if not ch.isspace()}
    for alphabet in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        for i in range(len(alphabet) - 5):
            pieces |= {alphabet[i:i + 6], alphabet[i:i + 6][::-1]}
    return "(?i)" + "|".join(sorted(re.escape(p) for p in pieces))


_PLACEHOLDER = re2.compile(_placeholder_pattern().encode())  # bytes: no offset decoding


def is_placeholder(value: str) -> bool:
    """A template, a masked value or a made-up string rather than a secret.

    Placeholder words and template syntax (``YOUR_API_KEY``, ``<token>``,
    ``${SECRET}``, ``{{api_key}}``, ``****``, ``EXAMPLE``), six identical
    characters in a row, six-character sequences (``abcdef``, ``123456``,
    ``fedcba``), or a long value made of very few distinct characters.
    For random tokens each of these has a chance below 1e-4.
    """
    if len(value) >= 16 and len(set(value)) < 6:
        return True
    return _PLACEHOLDER.search(value.encode("utf-8", "surrogatepass")) is not None


def low_entropy(value: str, minimum: float) -> bool:
    """Shannon entropy below `minimum` bits per character.

    16 or more distinct characters settle it without counting: after the
    placeholder checks (no six-character runs) such a value is never that
    uniform, and random tokens almost always have that many.
    """
    return len(set(value)) < 16 and entropy(value) < minimum


def classes(s: str) -> int:
    """How many of upper case, lower case and digits `s` uses."""
    return (any(c.isupper() for c in s) + any(c.islower() for c in s)
            + any(c.isdigit() for c in s))


def b64decode(s: str, urlsafe: bool = False) -> bytes | None:
    """Strict base64 (or base64url) decoding, padding optional; None when invalid."""
    if urlsafe:
        s = s.translate(_URLSAFE)
    s = s.rstrip("=")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None


_URLSAFE = str.maketrans("-_", "+/")


def _json_object(s: str) -> dict | None:
    raw = b64decode(s, urlsafe=True)
    if raw is None:
        return None
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


# -- checksums -----------------------------------------------------------------

def _base62_value(s: str) -> int:
    n = 0
    for c in s:
        n = n * 62 + BASE62.index(c)
    return n


def github_checksum(c: Candidate) -> Verdict | None:
    """GitHub (gh?_) and npm (npm_) tokens: the last 6 characters are the base62 CRC32
    of the 30 random characters before them."""
    v = c.value
    body, check = v[4:-6], v[-6:]
    if _base62_value(check) != zlib.crc32(body.encode("ascii")):
        return None
    return Verdict(note="crc32 ok")


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def gitlab_routable(c: Candidate) -> Verdict | None:
    """GitLab routable tokens: ``<prefix><payload>.[<version>.]<len36><crc36>``; the 7-char
    base36 CRC32 covers everything before it, the 2-char base36 length is the payload's."""
    v = c.value
    head, crc = v[:-7], v[-7:]
    if _base36(zlib.crc32(head.encode("ascii"))).rjust(7, "0") != crc:
        return None
    payload = v[v.index("-") + 1:v.index(".")]
    if int(head[-2:], 36) != len(payload):
        return None
    return Verdict(note="crc32 ok")


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk


def age_bech32(c: Candidate) -> Verdict | None:
    """age secret keys are bech32: HRP ``age-secret-key-`` and a 6-character checksum."""
    low = c.value.lower()
    hrp, _, data = low.rpartition("1")
    values = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]
    values += [BECH32.index(ch) for ch in data]
    return Verdict(note="bech32 ok") if _bech32_polymod(values) == 1 else None


# -- structure -----------------------------------------------------------------

def jwt(c: Candidate) -> Verdict | None:
    """Header and payload decode to JSON objects, the header names a real `alg`."""
    head, payload, signature = c.value.split(".")
    header, claims = _json_object(head), _json_object(payload)
    if header is None or claims is None:
        return None
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        return None
    if signature in DOC_EXAMPLES or (claims.get("sub") == "1234567890"
                                     and claims.get("name") == "John Doe"):
        return None  # the jwt.io sample
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        return Verdict(confidence=0.7, note="expired")
    return ACCEPT


def json_token(c: Candidate) -> Verdict | None:
    """Tokens that carry base64 JSON after their prefix (1Password ops_, Grafana glc_,
    Sentry sntrys_): the JSON must decode."""
    v = c.value
    body = v[v.index("_") + 1:]
    if v.startswith("sntrys_"):
        body = body.rsplit("_", 1)[0]
    return ACCEPT if _json_object(body) is not None else None


def pypi_macaroon(c: Candidate) -> Verdict | None:
    """PyPI tokens are base64url macaroons: version 2, location pypi.org, an identifier."""
    raw = b64decode(c.value[5:][: (len(c.value) - 5) // 4 * 4], urlsafe=True)
    if raw is None or not raw.startswith(b"\x02\x01\x08pypi.org") or len(raw) < 16:
        return None
    if raw[11] != 0x02 or not 8 <= raw[12] <= 127 or len(raw) < 13 + raw[12]:
        return None  # the identifier field: type 2, a short length, that many bytes
    return Verdict(note="macaroon ok")


def discord_bot(c: Candidate) -> Verdict | None:
    """Discord bot tokens start with the bot's numeric user id, base64-encoded."""
    raw = b64decode(c.value.split(".", 1)[0], urlsafe=True)
    if raw is None or not raw.isdigit() or not 17 <= len(raw) <= 20:
        return None
    return ACCEPT


def bedrock(c: Candidate) -> Verdict | None:
    v = c.value
    if v.startswith("ABSK"):
        raw = b64decode(v[4:])
        if raw is None:
            return None
        return Verdict(confidence=0.95, note="decodes") if raw.startswith(b"BedrockAPIKey-") \
            else ACCEPT
    return ACCEPT


def aws_key_id(c: Candidate) -> Verdict | None:
    if c.value.startswith("AKIA"):
        return Verdict(note="long-term")
    return Verdict(confidence=0.85, note="temporary" if c.value.startswith("ASIA") else "")


def random_secret(c: Candidate) -> Verdict | None:
    """Shape-plus-context secrets with no structure of their own (AWS secret keys,
    context-only API keys): mixed character classes, not hex, high entropy."""
    v = c.value
    if classes(v) < 2 or all(ch in "0123456789abcdefABCDEF" for ch in v) or entropy(v) < 3.5:
        return None
    return ACCEPT


def azure_key(c: Candidate) -> Verdict | None:
    raw = b64decode(c.value)
    return ACCEPT if raw is not None and len(raw) in (32, 64) else None


_AZURE_SIGNATURES = {
    "+ASt": "azure-storage-account-key", "ACDb": "azure-cosmosdb-key",
    "APIM": "azure-apim-key", "+ABa": "azure-batch-key", "+AMC": "azure-ml-key",
    "AzCa": "azure-cache-redis-key", "AIoT": "azure-iot-key", "+ASb": "azure-service-bus-key",
    "+AEh": "azure-event-hubs-key", "+ARm": "azure-relay-key", "AZEG": "azure-event-grid-key",
    "AzFu": "azure-function-key", "AzSe": "azure-search-key",
    "+ACR": "azure-container-registry-key", "JQQJ": "azure-cask-key",
}


def azure_identifiable(c: Candidate) -> Verdict | None:
    """Microsoft's identifiable keys carry a 4-character signature at a fixed place:
    offset 76 of 88-character keys, 52 (CASK), 44 (Functions), 42 (Search, ACR), 33
    (44-character keys). The signature names the service."""
    v = c.value
    for at in (76, 52, 44, 42, 33):
        kind = _AZURE_SIGNATURES.get(v[at:at + 4])
        if kind:
            return Verdict(kind=kind, note="identifiable signature")
    return None


def entra_secret(c: Candidate) -> Verdict | None:
    return ACCEPT if entropy(c.value) >= 3.5 and classes(c.value) >= 2 else None
