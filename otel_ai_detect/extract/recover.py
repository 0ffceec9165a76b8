"""Recover the text of a message JSON string that does not decode (usually truncated).

The SDK attribute limit (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`) cuts span JSON strings
without a marker, so `gen_ai.input.messages` may end mid-literal. We still want every
word of it. The scan is linear and uses `str.find` only (no regex, no backtracking):

1. walk the JSON string literals in order; a literal followed by ``:`` is a key;
2. decode each literal with `json` (escapes such as ``\\udb40\\udc69`` become the real
   characters); a literal cut at the end is decoded after dropping a dangling escape;
3. remember the most recent ``"role"`` value, so content keeps its role where the
   role came before it (the order every captured instrumentation writes);
4. values of content keys become parts of that kind; values of structural keys
   (type, id, ...) are skipped; any other string value is kept as a ``raw`` part.

Text with no string literal at all is returned whole as one ``raw`` part.
"""

from __future__ import annotations

import json

from otel_ai_detect.extract.messages import Sink, role_of
from otel_ai_detect.model import TOOL, UNKNOWN, Part

MAX_LITERALS = 200_000

# Keys whose string value is content, and the part kind it becomes.
_CONTENT_KEYS = {
    "content": "text", "text": "text", "response": "tool_call_response",
    "arguments": "tool_call", "transcript": "blob", "uri": "uri", "refusal": "text",
}
# Keys whose value is structure or metadata, not content.
_STRUCTURAL_KEYS = frozenset((
    "role", "type", "id", "name", "finish_reason", "mime_type", "modality",
    "tool_call_id", "file_id", "index",
))
_WHITESPACE = " \t\r\n"


def decode_literal(body: str) -> str:
    """The text of a complete JSON string literal body (between the quotes)."""
    if "\\" not in body:
        return body
    try:
        return json.loads(f'"{body}"', strict=False)
    except ValueError:
        return body  # an invalid escape: keep the raw text rather than lose it


def decode_cut_literal(body: str) -> str:
    """The text of a literal cut short: drop a dangling escape, then decode."""
    last = body.rfind("\\", max(0, len(body) - 6))
    if last != -1:
        start = last
        while start > 0 and body[start - 1] == "\\":
            start -= 1
        if (last - start) % 2 == 0:  # `last` opens an escape (not the 2nd of a `\\` pair)
            escape = body[last + 1:]
            if not escape or (escape[0] == "u" and len(escape) < 5):
                body = body[:last]
    text = decode_literal(body)
    if text and "\ud800" <= text[-1] <= "\udbff":
        text = text[:-1]  # the low half of the surrogate pair was cut off
    return text


def _literal_end(text: str, start: int) -> int:
    """Index of the quote closing the literal opened at ``start - 1``; -1 when cut off."""
    pos = start
    while True:
        end = text.find('"', pos)
        if end == -1:
            return -1
        run = end - 1
        while run >= start and text[run] == "\\":
            run -= 1
        if (end - 1 - run) % 2 == 0:  # an even run of backslashes: the quote is real
            return end
        pos = end + 1


def _looks_like_key(text: str) -> bool:
    return len(text) <= 40 and text.isascii() and text.replace("_", "").replace(".", "").isalnum()


def recover_messages(text: str, path: str, sink: Sink, default_role: str = UNKNOWN,
                     reasons: list[str] | None = None) -> None:
    """Add the messages recoverable from undecodable message JSON to ``sink``."""
    base = f"{path}(truncated)"
    role, key = default_role, None
    parts: list[Part] = []
    message_index = 0
    pos, count = 0, 0
    found_literal = False

    def flush() -> None:
        nonlocal parts, message_index
        if parts:
            if any(p.kind == "tool_call_response" for p in parts):
                sink.add(TOOL, parts)
            else:
                sink.add(role, parts)
            message_index += 1
        parts = []

    while count < MAX_LITERALS:
        quote = text.find('"', pos)
        if quote == -1:
            break
        found_literal = True
        count += 1
        end = _literal_end(text, quote + 1)
        if end == -1:  # cut off: the last, partial literal
            value = decode_cut_literal(text[quote + 1:])
            if key is not None or not _looks_like_key(value):
                _take(value, key, role, parts, f"{base}[{message_index}]", reasons)
            break
        value = decode_literal(text[quote + 1:end])
        after = end + 1
        while after < len(text) and text[after] in _WHITESPACE:
            after += 1
        pos = end + 1
        if after < len(text) and text[after] == ":":
            key = value
            continue
        if key == "role":
            flush()
            role = role_of(value, UNKNOWN)
        else:
            _take(value, key, role, parts, f"{base}[{message_index}]", reasons)
        key = None
    flush()
    if not found_literal and text.strip():
        sink.add(default_role, [Part("raw", text, base)])


def _take(value: str, key: str | None, role: str, parts: list[Part], mpath: str,
          reasons: list[str] | None) -> None:
    """File one recovered string value under the key it belonged to."""
    if not value:
        return
    if key == "finish_reason":
        if reasons is not None:
            reasons.append(value)
        return
    if key in _STRUCTURAL_KEYS:
        return
    kind = _CONTENT_KEYS.get(key or "", "raw")
    parts.append(Part(kind, value, f"{mpath}.{key}" if key else mpath))
