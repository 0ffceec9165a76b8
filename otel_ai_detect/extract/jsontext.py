"""Bounded decoding of content values: JSON text and OTLP AnyValue into plain Python.

Everything here handles attacker-controlled content, so:
- structured values are converted with a depth bound (`MAX_DEPTH`); what lies deeper
  is kept as its joined string leaves rather than dropped;
- string leaves are collected with an explicit stack, never by recursion;
- JSON goes through orjson when it is installed (faster) and falls back to the
  standard library when orjson refuses (it rejects lone surrogates, which
  `json.dumps` happily writes and which a smuggling payload may contain).
"""

from __future__ import annotations

import json
from typing import Any

try:  # orjson is optional: faster, but stricter than the json module
    import orjson as _orjson

    _orjson_loads = _orjson.loads
    _OrjsonError: type[Exception] = _orjson.JSONDecodeError
except ImportError:  # pragma: no cover - depends on the environment
    _orjson_loads = None
    _OrjsonError = ValueError

_json_decode = json.JSONDecoder().decode  # json.loads minus its per-call argument handling

MAX_DEPTH = 32          # nesting kept as structure; deeper values become joined text
MAX_LEAVES = 100_000    # string leaves collected from one value


def loads(text: str) -> Any:
    """Decode JSON text. Raises ValueError when the text is not (complete) JSON."""
    if _orjson_loads is not None:
        try:
            return _orjson_loads(text)
        except _OrjsonError:
            pass  # json decides: lone surrogates are valid to it
    try:
        return _json_decode(text)
    except RecursionError as exc:  # absurd nesting: treat as undecodable, scan as text
        raise ValueError("JSON nested too deeply") from exc


def dumps(value: Any) -> str:
    """Compact JSON text with raw (unescaped) non-ASCII, for objects found in content."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return "\n".join(string_leaves(value))


def as_text(value: Any) -> str:
    """A content value as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return dumps(value)


def string_leaves(value: Any, skip_keys: frozenset[str] = frozenset()) -> list[str]:
    """Non-empty string leaves of a decoded value, in document order, without recursion.

    ``skip_keys`` drops the values of those keys at the top level only (e.g. a part's
    ``type`` and ``id``, which are structure, not content).
    """
    out: list[str] = []
    if isinstance(value, dict) and skip_keys:
        stack: list[Any] = [v for k, v in reversed(value.items()) if k not in skip_keys]
    else:
        stack = [value]
    while stack and len(out) < MAX_LEAVES:
        item = stack.pop()
        if isinstance(item, str):
            if item:
                out.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(item.values()))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return out


def from_any_value(value: Any, depth: int = 0) -> Any:
    """An OTLP AnyValue as str/int/float/bool/None/dict/list; bytes (binary) become None."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "kvlist_value":
        if depth >= MAX_DEPTH:
            return "\n".join(_any_value_leaves(value))
        return {kv.key: from_any_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "array_value":
        if depth >= MAX_DEPTH:
            return "\n".join(_any_value_leaves(value))
        return [from_any_value(v, depth + 1) for v in value.array_value.values]
    if kind is None or kind == "bytes_value":
        return None
    return getattr(value, kind)


def _any_value_leaves(value: Any) -> list[str]:
    """String leaves of an AnyValue, iteratively (used past the depth bound)."""
    out: list[str] = []
    stack = [value]
    while stack and len(out) < MAX_LEAVES:
        item = stack.pop()
        kind = item.WhichOneof("value")
        if kind == "string_value":
            if item.string_value:
                out.append(item.string_value)
        elif kind == "kvlist_value":
            stack.extend(kv.value for kv in reversed(item.kvlist_value.values))
        elif kind == "array_value":
            stack.extend(reversed(item.array_value.values))
    return out


def any_value_strings(value: Any) -> list[str]:
    """The string(s) of a string or string-array attribute (e.g. captured HTTP headers)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return [value.string_value]
    if kind == "array_value":
        return [v.string_value for v in value.array_value.values
                if v.WhichOneof("value") == "string_value"]
    return []


def any_value_str(value: Any) -> str | None:
    """The string of a string attribute, else None (numbers and lists are not names)."""
    if value.WhichOneof("value") == "string_value":
        return value.string_value
    return None


class Decoded:
    """A content attribute after decoding: ``value`` when it decoded, else ``text`` to recover."""

    __slots__ = ("ok", "text", "value")

    def __init__(self, value: Any, ok: bool, text: str) -> None:
        self.value = value
        self.ok = ok
        self.text = text


def decode_any_value(value: Any) -> Decoded:
    """Decode a content attribute given as a JSON string or as a structured AnyValue."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return decode_text(value.string_value)
    return Decoded(from_any_value(value), True, "")


def decode_text(text: str) -> Decoded:
    """Decode JSON text once; on failure keep the text for recovery."""
    if not text or text.isspace():  # isspace, not strip: no copy of a 50 KB prompt
        return Decoded(None, True, "")
    try:
        return Decoded(loads(text), True, text)
    except ValueError:
        return Decoded(None, False, text)
