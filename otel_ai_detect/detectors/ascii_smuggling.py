"""AI.ASCIISmuggling: instructions hidden in characters a human cannot see.

A model reads text that a reviewer's screen does not show. This module finds
three invisible encodings in every part of a conversation and decodes them:

- Unicode tag characters U+E0000-U+E007F, each mirroring one ASCII character
  (U+E0069 is "i");
- variation-selector smuggling: one byte per selector, U+FE00-U+FE0F for
  bytes 0-15 and U+E0100-U+E01EF for bytes 16-255;
- zero-width binary: bits spelled with two (or more) zero-width characters.

Texts may hold them as code points or, in raw fallback content that was never
JSON-decoded, as escapes (``\\udb40\\udc69``); both are found.

Everyday Unicode never alerts: subdivision flags (black flag + tag letters +
CANCEL TAG), ZWJ in emoji sequences, ZWNJ/ZWJ in Persian, Arabic and Indic
text, a BOM at the start, one presentation selector after a character, an
ideographic variation sequence, soft hyphens (not even looked at).

Cost: `str.isascii()` settles most texts (~0.1 us); otherwise one linear RE2
pass says whether anything may hide (~5 us per 1.3 KB), and only then a
character-class regex walks the candidate runs, at most _MAX_RUNS of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import re2

from otel_ai_detect.config_types import AsciiSmugglingConfig
from otel_ai_detect.detectors.base import texts
from otel_ai_detect.detectors.masking import evidence_text, short_hash
from otel_ai_detect.model import Conversation, Finding

RULE = "AI.ASCIISmuggling"
TAG, SELECTOR, ZERO_WIDTH, DENSE = "tag", "variation_selector", "zero_width", "dense"
PAYLOAD_LIMIT = 120   # characters of decoded payload shown in the evidence
EVIDENCE_LIMIT = 200  # the whole evidence string
_DECODE_MAX = 4096    # hidden characters decoded per part: bounds the work on huge texts
_SELECTOR_MIN = 3     # fewer suspicious selectors carry nothing worth a high-severity alert
_ZERO_WIDTH_MIN = 8   # one byte's worth of bits
_ZERO_WIDTH_MIN_MANY = 16  # runs of 3+ symbols: no natural text has this many in a row
_MAX_RUNS = 50_000    # candidate runs walked per text: ~0.1 s at worst, then we stop

_TAGS = "\U000E0000-\U000E007F"
_SELECTORS = "\uFE00-\uFE0F\U000E0100-\U000E01EF"
_ZERO_WIDTHS = "\u180E\u200B-\u200F\u2060-\u2064\uFEFF"  # as used by steganography tools
_BMP = f"{_ZERO_WIDTHS}\uFE00-\uFE0F"
_ASTRAL = "\U000E0000-\U000E01EF"  # tags, unassigned, supplementary VS: one range scans faster
# The prefilter says exactly "something may hide": an astral tag or selector, or two
# invisible BMP characters in a row; a lone ZWNJ, ZWJ, VS16 or BOM never does. RE2,
# as it is an alternation: ~5 us per non-ASCII 1.3 KB text, Python `re` ~17. Bytes,
# as we encode with "surrogatepass": text cut from truncated JSON may hold lone
# surrogates, which RE2's own encoding rejects.
_SUSPECT = re2.compile(f"[{_ASTRAL}]|[{_BMP}][{_BMP}]".encode())
# Python `re` only for single character classes: they cannot backtrack.
_CANDIDATE = re.compile(f"[{_BMP}{_ASTRAL}]+")
_TAG_RUN = re.compile(f"[{_TAGS}]+")
_SELECTOR_RUN = re.compile(f"[{_SELECTORS}]+")
_ZERO_WIDTH_RUN = re.compile(f"[{_ZERO_WIDTHS}]+")
# A few of these in a row (ZWJ, ZWNJ, VS16 + ZWJ in emoji, a BOM) carry nothing.
_EVERYDAY = "\u180E\u200B\u200C\u200D\u200E\u200F\u2060\u2061\u2062\u2063\u2064\uFEFF\uFE0E\uFE0F"

# JSON / Python escapes of the characters above; RE2 because this is more than a class.
_ESCAPED_HINT = re2.compile(r"(?i)\\+u(?:db40\\+ud[cd][0-9a-f]{2}|fe0[0-9a-f]|200[b-f]"
                            r"|206[0-4]|feff|180e)|\\+U000e0[01][0-9a-f]{2}")
_ESCAPE_RUN = re2.compile(r"(?:\\+u[0-9a-fA-F]{4}|\\+U[0-9a-fA-F]{8})+")

BLACK_FLAG, CANCEL_TAG, VS16 = "\U0001F3F4", "\U000E007F", "\uFE0F"
FIRST_SUPPLEMENTARY_VS = "\U000E0100"
_FLAG_TAGS = frozenset(chr(0xE0000 + ord(c)) for c in "abcdefghijklmnopqrstuvwxyz0123456789")
_TAG_TO_ASCII = {cp: cp - 0xE0000 for cp in range(0xE0000, 0xE0080)}


@dataclass(frozen=True, slots=True)
class Hidden:
    """One invisible payload found in one text."""

    technique: str     # tag | variation_selector | zero_width | dense (too many runs to walk)
    count: int         # invisible characters carrying it
    decoded: str       # the payload as text (at most _DECODE_MAX characters decoded)
    confidence: float
    escaped: bool      # seen as JSON/Python escapes rather than code points
    note: str = ""     # why nothing was decoded, when that happens


def _unescape(text: str) -> str:
    """Turn runs of ``\\uXXXX`` / ``\\UXXXXXXXX`` escapes into the characters they name."""
    out: list[str] = []
    pos = 0
    for m in _ESCAPE_RUN.finditer(text):
        run = m.group()
        while "\\\\" in run:  # escaped more than once: one backslash per escape
            run = run.replace("\\\\", "\\")
        chars = run.encode("ascii").decode("unicode_escape", "replace")  # C, not a Python loop
        # Re-pair UTF-16 surrogates (\udb40\udc69 -> U+E0069); lone ones stay as they are.
        chars = chars.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        out += (text[pos:m.start()], chars)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _is_ideograph(ch: str) -> bool:
    cp = ord(ch)
    return 0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3FFFF


def _hidden_tags(text: str, i: int, run: str) -> str:
    """The tag characters of `run` (at text[i]) that are not part of a subdivision flag.

    A flag (UTS #51) is the black flag, 2-6 tags from [a-z0-9], then CANCEL TAG.
    """
    base = text[i - 1] if i >= 1 else ""
    if base == VS16 and i >= 2:  # tolerate a stray VS16 after the black flag
        base = text[i - 2]
    if base == BLACK_FLAG:
        end = run.find(CANCEL_TAG)
        if 2 <= end <= 6 and _FLAG_TAGS.issuperset(run[:end]):
            return run[end + 1:]
    return run


def _bytes_text(data: bytes) -> tuple[str, bool]:
    """(text, is UTF-8): payloads read as text in any script; other bytes show as \\xNN."""
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", "backslashreplace"), False


def _readable(s: str) -> bool:
    """Looks like words, not noise: what separates a payload from a stray character."""
    printable = sum(c.isprintable() and c != "\ufffd" for c in s)
    letters = sum(c.isalpha() for c in s)
    return len(s) >= 4 and printable >= 0.9 * len(s) and letters >= max(3, 0.3 * len(s))


def _best_reading(readings: list[tuple[str, bool]]) -> tuple[str, bool]:
    """Of several (text, is UTF-8) decodings: the most text-like, and whether it reads."""
    text, utf8 = max(readings, key=lambda r: (r[1] and _readable(r[0]), r[1],
                                              sum(c.isalnum() or c == " " for c in r[0])))
    return text, utf8 and _readable(text)


def _decode_zero_width(run: str) -> tuple[str, bool, str]:
    """(payload, readable, note): the bits of a zero-width run, trying both 0/1 assignments."""
    symbols = sorted(set(run))
    if len(symbols) == 2:
        if len(run) % 8:
            return "", False, f"{len(run)} bits, not whole bytes"
        bits = [run.translate({ord(zero): "0", ord(one): "1"})
                for zero, one in (symbols, symbols[::-1])]
        return (*_best_reading([_bytes_text(int(b, 2).to_bytes(len(b) // 8, "big"))
                                for b in bits]), "")
    if len(symbols) == 3:  # commonly one separates characters and two spell their bits
        for sep in symbols:
            zero, one = (s for s in symbols if s != sep)
            groups = [g for g in run.split(sep) if g]
            if groups and all(len(g) <= 21 for g in groups):
                readings = []
                for table in ({ord(zero): "0", ord(one): "1"}, {ord(zero): "1", ord(one): "0"}):
                    cps = (int(g.translate(table), 2) for g in groups)
                    readings.append(("".join(chr(c) for c in cps if c <= 0x10FFFF), True))
                best, readable = _best_reading(readings)
                if readable:
                    return best, True, ""
    kinds = " ".join(f"U+{ord(s):04X}" for s in symbols)
    return "", False, f"{len(symbols)} kinds ({kinds}), not decoded"


def _selectors_payload(runs: list[str], escaped: bool) -> Hidden:
    joined = "".join(runs)
    data = bytes(ord(c) - 0xFE00 if c <= VS16 else ord(c) - 0xE0100 + 16
                 for c in joined[:_DECODE_MAX])
    decoded, utf8 = _bytes_text(data)
    return Hidden(SELECTOR, len(joined), decoded, 0.9 if utf8 and _readable(decoded) else 0.7,
                  escaped)


def _zero_width_payload(runs: list[str], escaped: bool) -> Hidden | None:
    decoded, notes, count, readable = [], [], 0, False
    for run in runs:
        if len(set(run)) > 2 and len(run) < _ZERO_WIDTH_MIN_MANY:
            continue
        count += len(run)
        text, ok, note = _decode_zero_width(run[:_DECODE_MAX * 8])
        readable |= ok
        decoded += [text] if text else []
        notes += [note] if note else []
    if not count:
        return None
    return Hidden(ZERO_WIDTH, count, " ".join(decoded), 0.9 if readable else 0.6, escaped,
                  "; ".join(notes))


class AsciiSmugglingDetector:
    """Finds and decodes invisible payloads in every message of a conversation."""

    name: ClassVar[str] = "ascii_smuggling"

    def __init__(self, config: AsciiSmugglingConfig) -> None:
        self.config = config
        self._selectors = config.variation_selectors
        self._zero_width = config.zero_width_binary

    def detect(self, conv: Conversation) -> list[Finding]:
        if not self.config.enabled:
            return []
        findings: list[Finding] = []
        for source, _role, part in texts(conv):
            for hidden in self.scan(part.text):
                findings.append(Finding(
                    rule=RULE, detector=self.name, confidence=hidden.confidence, source=source,
                    path=part.path, evidence=describe(hidden),
                    fingerprint=short_hash(hidden.decoded or hidden.note)))
        return findings

    def scan(self, text: str) -> list[Hidden]:
        """Every invisible payload in `text`, at most one per technique."""
        escaped = False
        # memchr for a backslash first: most prose has none, so this costs ~nothing.
        if "\\" in text and ("\\u" in text or "\\U" in text) and _ESCAPED_HINT.search(text):
            text, escaped = _unescape(text), True
        if text.isascii():  # O(1) in CPython
            return []
        data = text.encode("utf-8", "surrogatepass")
        suspect = _SUSPECT.search(data)
        if suspect is None:
            return []
        first = len(data[:suspect.start()].decode("utf-8", "surrogatepass"))
        tags: list[str] = []
        selectors: list[str] = []
        zero_widths: list[str] = []
        dense = False
        # One char back: a lone BMP selector just before an astral one belongs to its run.
        for n, m in enumerate(_CANDIDATE.finditer(text, max(0, first - 1))):
            if n == _MAX_RUNS:  # bounded work whatever the text; reported if nothing else is
                dense = True
                break
            run = m.group()
            if len(run) < _ZERO_WIDTH_MIN and not run.strip(_EVERYDAY):
                continue  # a ZWNJ, a ZWJ, a VS16, a BOM, VS16 + ZWJ in an emoji sequence
            start = m.start()
            # Fast exits for the two everyday astral cases: a subdivision flag, an IVS.
            if run[-1] == CANCEL_TAG and len(run) <= 7 and not _hidden_tags(text, start, run):
                continue
            if (len(run) == 1 and run >= FIRST_SUPPLEMENTARY_VS and start
                    and _is_ideograph(text[start - 1])):
                continue
            for t in _TAG_RUN.finditer(run):
                hidden = _hidden_tags(text, start + t.start(), t.group())
                if hidden:
                    tags.append(hidden)
            if self._selectors:
                _collect_selectors(text, start, run, selectors)
            if self._zero_width:
                for z in _ZERO_WIDTH_RUN.finditer(run):
                    s = z.group()
                    if start + z.start() == 0 and s[0] == "\uFEFF":
                        s = s[1:]  # a byte-order mark opening the text is normal
                    if len(s) >= _ZERO_WIDTH_MIN and len(set(s)) >= 2:
                        zero_widths.append(s)
        found: list[Hidden] = []
        if tags:
            count = sum(map(len, tags))
            decoded = "".join(tags)[:_DECODE_MAX].translate(_TAG_TO_ASCII)
            confidence = 0.95 if _readable(decoded) else 0.75 if count >= 4 else 0.5
            found.append(Hidden(TAG, count, decoded, confidence, escaped))
        if sum(map(len, selectors)) >= _SELECTOR_MIN:
            found.append(_selectors_payload(selectors, escaped))
        zero = _zero_width_payload(zero_widths, escaped)
        found += [zero] if zero else []
        if dense and not found:
            found.append(Hidden(DENSE, _MAX_RUNS, "", 0.5, escaped,
                                f"only the first {_MAX_RUNS} examined"))
        return found


def _collect_selectors(text: str, start: int, run: str, out: list[str]) -> None:
    """Selector runs in `run` (at text[start]) that cannot be ordinary presentation."""
    for v in _SELECTOR_RUN.finditer(run):
        s = v.group()
        if len(s) == 1:
            if s <= VS16:
                continue  # one standardized/emoji selector after a character: normal
            i = start + v.start()
            if i and _is_ideograph(text[i - 1]):
                continue  # an ideographic variation sequence (e.g. Japanese names)
        elif not s.strip("\uFE0E\uFE0F"):
            continue  # repeated presentation selectors: sloppy, carries no bytes
        out.append(s)


_TITLES = {TAG: "Unicode tag characters", SELECTOR: "variation-selector smuggling",
           ZERO_WIDTH: "zero-width binary", DENSE: "invisible characters"}
_UNITS = {TAG: "hidden chars", SELECTOR: "hidden bytes", ZERO_WIDTH: "invisible chars",
          DENSE: "runs or more"}


def describe(hidden: Hidden) -> str:
    """The evidence line: technique, size and the decoded payload, escaped and capped."""
    title = _TITLES[hidden.technique] + (" (JSON-escaped)" if hidden.escaped else "")
    head = f"{title}: {hidden.count} {_UNITS[hidden.technique]}"
    if hidden.decoded:
        text = f'{head}, decoded "{evidence_text(hidden.decoded, PAYLOAD_LIMIT)}"'
    else:
        text = f"{head}, {hidden.note}"
    return evidence_text(text, EVIDENCE_LIMIT)
