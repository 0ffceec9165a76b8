"""Evidence helpers shared by detectors: show text safely and briefly, hash it.

Evidence lands in span events, log records and SIEM tickets. It must be one
readable line that cannot itself smuggle anything: control and invisible
characters are shown as escapes, and its length is capped so that one alert
never carries a megabyte prompt. Fingerprints are short hashes, so alerts can
be correlated without storing what was found.
"""

from __future__ import annotations

import hashlib

ELLIPSIS = "\u2026"


def _escape_char(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def escape(text: str) -> str:
    """Printable characters as they are, every other one as a Python-style escape.

    "Printable" is Python's `str.isprintable`: letters of every script stay
    readable, while controls, newlines, format characters (zero-width,
    bidi, tags) and unassigned code points become ``\\xNN`` / ``\\uNNNN`` /
    ``\\UNNNNNNNN``.
    """
    if text.isprintable():  # C fast path: the common case allocates nothing
        return text
    return "".join(ch if ch.isprintable() else _escape_char(ch) for ch in text)


def evidence_text(text: str, limit: int = 120) -> str:
    """`text` escaped and cut to at most `limit` characters.

    A cut text ends with ``…(N chars)``, N being the length of the original,
    so a reader knows how much was left out. Escapes are never cut in half.
    Only the head of `text` is looked at, so the cost is bounded by `limit`.
    """
    if len(text) <= limit and text.isprintable():
        return text
    suffix = f"{ELLIPSIS}({len(text)} chars)"
    budget = limit - len(suffix)
    pieces: list[str] = []
    used = 0
    for ch in text[:limit]:
        piece = ch if ch.isprintable() else _escape_char(ch)
        if used + len(piece) > limit:
            break
        pieces.append(piece)
        used += len(piece)
    else:
        if len(text) <= limit:  # everything fitted once escaped
            return "".join(pieces)
    # It does not fit: drop pieces until the suffix fits too.
    while pieces and used > budget:
        used -= len(pieces.pop())
    return ("".join(pieces) + suffix)[:limit]


def short_hash(text: str | bytes, length: int = 12) -> str:
    """The first `length` hex digits of SHA-256: enough to correlate, useless to recover.

    Lone surrogates (possible in text decoded from truncated JSON) are hashed
    as they are instead of raising.
    """
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:length]
