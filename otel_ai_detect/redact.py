"""Masks detected secrets (and, if asked, personal data) in re-exported content.

The trace backend must never store a credential the processor found. Each
value is replaced, wherever it appears in the span's attributes, its events'
attributes, or a log record's body and attributes, by
``[REDACTED:<kind>:<short hash>]``. Content often sits in JSON strings
(`gen_ai.input.messages`), where the value may appear JSON-escaped: both forms
are replaced, and the mask holds no character JSON escapes, so a JSON-string
attribute stays valid JSON.
"""

from __future__ import annotations

import json
from typing import Iterable

from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_ai_detect.detectors.masking import short_hash
from otel_ai_detect.model import Redaction

OFF, SECRETS, SECRETS_AND_PII = "off", "secrets", "secrets_and_pii"
_MAX_DEPTH = 32  # structured attribute values nest at most this deep here
_MIN_LENGTH = 4  # shorter values would mask ordinary words


def mask(redaction: Redaction) -> str:
    return f"[REDACTED:{redaction.kind}:{short_hash(redaction.value, 6)}]"


class Redactor:
    """Built once from the `processor.redaction` setting."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    @property
    def enabled(self) -> bool:
        return self.mode != OFF

    def _replacements(self, redactions: Iterable[Redaction]) -> list[tuple[str, str]]:
        """(text to find, mask) pairs, longest first so a value inside another is not cut."""
        pairs: dict[str, str] = {}
        for redaction in redactions:
            if redaction.personal and self.mode != SECRETS_AND_PII:
                continue
            if len(redaction.value) < _MIN_LENGTH:
                continue
            masked = mask(redaction)
            for form in _forms(redaction.value):
                pairs.setdefault(form, masked)
        return sorted(pairs.items(), key=lambda pair: -len(pair[0]))

    def redact_span(self, span: Span, redactions: Iterable[Redaction]) -> int:
        """Mask the values in the span's attributes and event attributes; the count replaced."""
        pairs = self._replacements(redactions) if self.enabled else []
        if not pairs:
            return 0
        count = sum(_in_value(kv.value, pairs, 0) for kv in span.attributes)
        for event in span.events:
            count += sum(_in_value(kv.value, pairs, 0) for kv in event.attributes)
        return count

    def redact_log(self, record: LogRecord, redactions: Iterable[Redaction]) -> int:
        """Mask the values in the log record's body and attributes; the count replaced."""
        pairs = self._replacements(redactions) if self.enabled else []
        if not pairs:
            return 0
        count = _in_value(record.body, pairs, 0)
        return count + sum(_in_value(kv.value, pairs, 0) for kv in record.attributes)


def _forms(value: str) -> set[str]:
    """The value as written raw and as JSON escapes it (ASCII-only and UTF-8 dumps)."""
    forms = {value}
    try:
        forms.add(json.dumps(value)[1:-1])
        forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    except (TypeError, ValueError):
        pass
    return forms


def _in_value(value: AnyValue, pairs: list[tuple[str, str]], depth: int) -> int:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        count = 0
        for form, masked in pairs:
            if form in text:
                count += text.count(form)
                text = text.replace(form, masked)
        if count:
            value.string_value = text
        return count
    if depth >= _MAX_DEPTH:
        return 0
    if kind == "array_value":
        return sum(_in_value(item, pairs, depth + 1) for item in value.array_value.values)
    if kind == "kvlist_value":
        return sum(_in_value(kv.value, pairs, depth + 1) for kv in value.kvlist_value.values)
    return 0
