"""OTLP/JSON <-> protobuf, with the spec's hex trace and span ids.

OTLP/JSON writes traceId/spanId/parentSpanId as hex, while protobuf's JSON
mapping reads and writes bytes fields as base64: used as-is it silently yields
wrong ids. These helpers convert the id fields on the way in and out.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)
_ID_KEYS = frozenset(("traceId", "spanId", "parentSpanId"))
_MAX_DEPTH = 64


class OtlpJsonError(ValueError):
    """The text is not valid OTLP/JSON for the expected message."""


def _convert_ids(node: object, convert, depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        raise OtlpJsonError("JSON nested too deeply")
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = convert(value)
            elif isinstance(value, (dict, list)):
                _convert_ids(value, convert, depth + 1)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _convert_ids(item, convert, depth + 1)


def _hex_to_base64(value: str) -> str:
    try:
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    except ValueError:
        raise OtlpJsonError(f"trace/span id is not hex: {value[:40]!r}") from None


def _base64_to_hex(value: str) -> str:
    try:
        return base64.b64decode(value).hex()
    except binascii.Error:
        return value


def parse_dict(doc: dict, message: M) -> M:
    """Fill `message` from a decoded OTLP/JSON document (modified in place)."""
    _convert_ids(doc, _hex_to_base64)
    try:
        return json_format.ParseDict(doc, message, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise OtlpJsonError(str(error)) from None


def parse(text: str | bytes, message: M) -> M:
    """Fill `message` from OTLP/JSON text."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise OtlpJsonError(f"invalid JSON: {error}") from None
    if not isinstance(doc, dict):
        raise OtlpJsonError("OTLP/JSON body must be a JSON object")
    return parse_dict(doc, message)


def to_dict(message: Message) -> dict:
    # The OTLP/JSON spec encodes enums as integers.
    doc = json_format.MessageToDict(message, use_integers_for_enums=True)
    _convert_ids(doc, _base64_to_hex)
    return doc


def dumps(message: Message) -> str:
    """Compact OTLP/JSON text of a message, ids as hex."""
    return json.dumps(to_dict(message), ensure_ascii=False, separators=(",", ":"))
