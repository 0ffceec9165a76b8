"""Payloads hidden by encoding, decoded so the phrase families can look again.

An attacker who writes ``aWdub3JlIGFsbCBwcmV2aW91cyBpbnN0cnVjdGlvbnM=`` or
``1gn0r3 4ll pr3v10u5 1n5truct10n5`` hopes a keyword filter reads past it.
This module owns the cheap tests that say "something here may be encoded"
(`HINTS`, compiled into the same scan as the phrases, so they cost nothing
extra) and the decoders that turn a candidate back into text:

- base64 / base64url segments (line-wrapped ones are joined), and one level of
  base64 inside base64;
- hex (``69676e6f7265``, ``69 67 6e``, ``\\x69\\x67``);
- rot13 (hinted by rot13 of common jailbreak words, or the word "rot13");
- leetspeak (a digit between letters: ``1gn0r3``), read with 1 as i and as l;
- hidden Unicode text (tag characters, variation selectors, zero-width bits),
  via `ascii_smuggling`'s decoder.

A decoding counts only when it reads as text (printable, with letters and
spaces), so hashes, keys and images decode to nothing. Work is bounded: at most
`MAX_VARIANTS` decodings per text, each of at most `MAX_DECODED` characters.
Only RE2 (linear) and single character classes touch attacker text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
from dataclasses import dataclass

import re2

from otel_ai_detect.config_types import AsciiSmugglingConfig
from otel_ai_detect.detectors.ascii_smuggling import AsciiSmugglingDetector

MAX_VARIANTS = 8        # decodings looked at per text
MAX_DECODED = 16_384    # characters kept of one decoding
MAX_SEGMENT = 65_536    # longer encoded segments are cut to this before decoding
MIN_BASE64 = 20         # characters: shorter runs are words and identifiers

BASE64, HEX, ROT13, LEET, HIDDEN = "base64", "hex", "rot13", "leetspeak", "hidden"
_HIDDEN_TITLES = {"tag": "Unicode tag characters", "variation_selector": "variation selectors",
                  "zero_width": "zero-width characters"}

# name -> pattern, scanned with the phrases (caseless). Written for RE2's DFA: no
# counted repeats of groups beyond a few, so a base64 blob costs ~10 us per KB.
HINTS: tuple[tuple[str, str], ...] = (
    (BASE64, r"[A-Za-z0-9+/_-]{%d,}" % MIN_BASE64),
    (HEX, r"[0-9a-f]{24,}|(?:[0-9a-f]{2}[ :,]){11}[0-9a-f]{2}|(?:\\x[0-9a-f]{2}){8}"),
    (LEET, r"[a-z][013457@$][a-z]"),
    # rot13 of: ignore disregard forget previous instruction(s) system prompt rules jailbreak
    # restrictions developer reveal anything guidelines override pretend assistant repeat
    # above everything, and of the, and, you, your (common words no English text has)
    (ROT13, r"\b(?:vtaber|qvfertneq|sbetrg|cerivbhf|vafgehpgvbaf?|flfgrz|cebzcg|ehyrf|wnvyoernx"
            r"|erfgevpgvbaf|qrirybcre|erirny|nalguvat|thvqryvarf|bireevqr|cergraq|nffvfgnag"
            r"|ercrng|nobir|rirelguvat|gur|naq|lbh|lbhe)\b|\brot[- ]?13\b"),
)

_BASE64_RUN = re2.compile(r"[A-Za-z0-9+/_-]{%d,}={0,2}" % MIN_BASE64)
_HEX_RUN = re2.compile(r"(?i)(?:[0-9a-f]{2}(?:[ :,]|\\x)?){12,}|(?:\\x[0-9a-f]{2}){8,}")
_HEX_DROP = str.maketrans("", "", " :,\\xX")
_URLSAFE = str.maketrans("-_", "+/")
_LEET_I = str.maketrans("0134579@$", "oieastgas")
_LEET_L = str.maketrans("0134579@$", "oleastgas")
_SMUGGLING = AsciiSmugglingDetector(AsciiSmugglingConfig())


@dataclass(frozen=True, slots=True)
class Variant:
    how: str   # "base64", "hex", "rot13", "leetspeak", "Unicode tag characters", "base64 > hex"
    text: str


def textlike(s: str) -> bool:
    """Reads as words: printable, mostly letters, with spaces. Hashes and keys do not."""
    if len(s) < 8:
        return False
    sample = s[:2048]
    printable = sum(c.isprintable() or c in "\n\r\t" for c in sample)
    letters = sum(c.isalpha() for c in sample)
    spaces = sample.count(" ") + sample.count("\n")
    return printable >= 0.95 * len(sample) and letters >= 0.5 * len(sample) and spaces >= 1


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_base64(segment: str) -> str | None:
    s = segment.strip().rstrip("=").translate(_URLSAFE)
    s = s[: len(s) - len(s) % 4] if len(s) % 4 == 1 else s
    try:
        data = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _utf8(data)


def decode_hex(segment: str) -> str | None:
    digits = segment.translate(_HEX_DROP)
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        return _utf8(bytes.fromhex(digits))
    except ValueError:
        return None


def _base64_segments(text: str) -> list[str]:
    """Runs of base64 characters; runs separated only by line breaks are one (wrapped) run."""
    groups: list[list[str]] = []
    end = -1
    for n, m in enumerate(_BASE64_RUN.finditer(text)):
        if n >= 4 * MAX_VARIANTS:
            break
        run = m.group()
        if groups and text[end:m.start()].isspace():
            groups[-1].append(run)
        else:
            groups.append([run])
        end = m.end()
    out: list[str] = []
    for group in groups:
        out.append("".join(group)[:MAX_SEGMENT])
        if len(group) > 1:
            out.extend(run[:MAX_SEGMENT] for run in group)
    return out


def variants(text: str, hints: frozenset[str], *, depth: int = 0) -> list[Variant]:
    """Readable decodings of `text`, as the hints suggest; at most MAX_VARIANTS."""
    out: list[Variant] = []

    def add(how: str, decoded: str | None) -> bool:
        if decoded and textlike(decoded) and len(out) < MAX_VARIANTS:
            out.append(Variant(how, decoded[:MAX_DECODED]))
            return True
        return False

    if not text.isascii():
        for hidden in _SMUGGLING.scan(text):
            add(_HIDDEN_TITLES.get(hidden.technique, HIDDEN), hidden.decoded)
    if BASE64 in hints:
        for segment in _base64_segments(text):
            decoded = decode_base64(segment)
            if decoded is None or len(out) >= MAX_VARIANTS:
                continue
            if not add(BASE64, decoded) and depth == 0 and _BASE64_RUN.search(decoded):
                # base64 of base64 (no spaces inside): look one level further
                inner = decode_base64(decoded.strip())
                add(f"{BASE64} > {BASE64}", inner)
    if HEX in hints:
        for n, m in enumerate(_HEX_RUN.finditer(text)):
            if n >= MAX_VARIANTS or len(out) >= MAX_VARIANTS:
                break
            add(HEX, decode_hex(m.group()[:MAX_SEGMENT]))
    if ROT13 in hints:
        add(ROT13, codecs.encode(text, "rot13"))
    if LEET in hints:
        for table in (_LEET_I, _LEET_L):
            translated = text.translate(table)
            if translated != text:
                add(LEET, translated)
    return out
