"""Which operation, model and provider a GenAI call used (copied onto alert records)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from sys import intern
from typing import Any

from otel_ai_detect import semconv as sc
from otel_ai_detect.extract.jsontext import any_value_str
from otel_ai_detect.model import CallInfo

# Preference order within each field: the first present wins.
_OPERATION = (sc.GEN_AI_OPERATION_NAME, sc.TRACELOOP_REQUEST_TYPE)
_MODEL = (sc.GEN_AI_REQUEST_MODEL, sc.GEN_AI_RESPONSE_MODEL, sc.OPENINFERENCE_MODEL_NAME)
_PROVIDER = (sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_SYSTEM,
             sc.OPENINFERENCE_LLM_SYSTEM, sc.OPENINFERENCE_LLM_PROVIDER)
KEYS = frozenset(_OPERATION + _MODEL + _PROVIDER)


def call_info(attribute_lists: Iterable[Iterable[Any]]) -> CallInfo:
    """Call info from one or more attribute lists (a span's, or a log call's records')."""
    found: dict[str, str] = {}
    for attributes in attribute_lists:
        for kv in attributes:
            key = kv.key
            if key in KEYS and key not in found:
                text = any_value_str(kv.value)
                if text:
                    found[key] = text
    return _info(found)


def call_info_from(values: Mapping[str, Any]) -> CallInfo:
    """Call info from attribute values already picked by key (`SpanView.attrs`).

    The strings are interned: the per-trace memory keeps one CallInfo per trace, and
    copies of "chat", "gpt-4o-mini" and a user agent per trace cost ~28 MB at 100,000 traces.
    """
    operation = _first(values, _OPERATION)
    model = _first(values, _MODEL)
    for key in _PROVIDER:
        value = values.get(key)
        if value is not None:
            text = any_value_str(value)
            if text:
                return CallInfo(operation, model, intern(text), key)
    return CallInfo(operation, model, None)


def _first(values: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = values.get(key)
        if value is not None:
            text = any_value_str(value)
            if text:
                return intern(text)
    return None


def _info(found: dict[str, str]) -> CallInfo:
    operation = next((found[k] for k in _OPERATION if k in found), None)
    model = next((found[k] for k in _MODEL if k in found), None)
    for key in _PROVIDER:
        if key in found:
            return CallInfo(operation, model, found[key], key)
    return CallInfo(operation, model, None)
