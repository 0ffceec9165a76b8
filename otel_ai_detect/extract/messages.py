"""Decoded message structures -> `Message`/`Part`: the two shapes every convention reuses.

- the current GenAI semconv shape: ``[{role, parts: [{type, ...}], finish_reason?}]``
  (span JSON strings and structured log attributes decode to the same thing);
- the OpenAI chat shape: ``{role, content: str | [parts], tool_calls?, tool_call_id?}``
  (OpenInference raw payloads, v1.26 span events, legacy per-message log events).

A `Sink` collects the messages of one side under a part budget shared by both
sides; text past the budget is kept in one overflow part, never dropped.
"""

from __future__ import annotations

from typing import Any

from otel_ai_detect.extract.jsontext import as_text, string_leaves
from otel_ai_detect.model import ASSISTANT, SYSTEM, TOOL, UNKNOWN, USER, Message, Part

MAX_PARTS = 4096  # per conversation; what is past it lands in one overflow part

_ROLES = {
    "system": SYSTEM, "developer": SYSTEM, "user": USER, "human": USER,
    "assistant": ASSISTANT, "model": ASSISTANT, "ai": ASSISTANT, "bot": ASSISTANT,
    "tool": TOOL, "function": TOOL, "ipython": TOOL,
}
# Part fields that are structure, not content (left out when collecting leaves).
_PART_META = frozenset(("type", "id", "mime_type", "modality", "name"))


def role_of(value: Any, default: str = UNKNOWN) -> str:
    """Normalize a role to system|user|assistant|tool|unknown (aliases like developer)."""
    if isinstance(value, str) and value:
        role = _ROLES.get(value)
        return role if role is not None else _ROLES.get(value.strip().lower(), UNKNOWN)
    return default


class Budget:
    """How many more parts a conversation may hold."""

    __slots__ = ("left",)

    def __init__(self, parts: int = MAX_PARTS) -> None:
        self.left = parts


class Sink:
    """The messages of one side (inputs or outputs)."""

    __slots__ = ("budget", "messages", "spill")

    def __init__(self, budget: Budget) -> None:
        self.messages: list[Message] = []
        self.budget = budget
        self.spill: list[str] = []

    def add(self, role: str, parts: list[Part]) -> bool:
        """Add a message; False when it has no parts (nothing was added)."""
        if not parts:
            return False
        room = self.budget.left
        if room < len(parts):
            self.spill.extend(p.text for p in parts[room:])
            parts = parts[:room]
        self.budget.left -= len(parts)
        if parts:
            self.messages.append(Message(role, tuple(parts)))
        return True

    def first_system(self, parts: list[Part]) -> None:
        """Put a system message first, unless an equal one is already there.

        OpenLIT sends the system text both as `gen_ai.system_instructions` and as a
        system message; one copy is enough (a second would double every finding).
        """
        texts = [p.text for p in parts]
        for message in self.messages:
            if message.role == SYSTEM and [p.text for p in message.parts] == texts:
                return
        before = len(self.messages)
        if self.add(SYSTEM, parts) and len(self.messages) > before:
            self.messages.insert(0, self.messages.pop())

    def finish(self) -> tuple[Message, ...]:
        if self.spill:
            self.messages.append(Message(UNKNOWN, (Part("raw", "\n".join(self.spill), "overflow"),)))
            self.spill = []
        return tuple(self.messages)


def _text_part(kind: str, value: Any, path: str) -> list[Part]:
    text = as_text(value)
    return [Part(kind, text, path)] if text else []


def semconv_part(part: Any, path: str) -> list[Part]:
    """One element of a semconv ``parts`` array (schema gen-ai-input-messages.json)."""
    if type(part) is dict and part.get("type") == "text":  # the common case, first
        content = part.get("content")
        if type(content) is str:
            return [Part("text", content, path + ".content")] if content else []
    if isinstance(part, str):
        return _text_part("text", part, path)
    if not isinstance(part, dict):
        return _text_part("raw", part, path)
    kind = part.get("type")
    kind = kind if isinstance(kind, str) and kind else "unknown"
    if kind in ("text", "reasoning", "compaction"):
        return _text_part(kind, part.get("content"), f"{path}.content")
    if kind == "tool_call":
        # Name with arguments, as the call reads: the name gives the arguments context.
        args = as_text(part.get("arguments"))
        name = part.get("name") if isinstance(part.get("name"), str) else ""
        return _text_part("tool_call", f"{name}({args})" if name else args, f"{path}.arguments")
    if kind == "tool_call_response":
        return _text_part("tool_call_response", part.get("response"), f"{path}.response")
    if kind in ("blob", "uri", "file"):
        # Binary content (base64) is not text; a transcript or a plain URI is.
        out = _text_part(kind, part.get("transcript"), f"{path}.transcript")
        uri = part.get("uri")
        if isinstance(uri, str) and not uri.startswith("data:"):
            out += _text_part(kind, uri, f"{path}.uri")
        return out
    leaves = string_leaves(part, _PART_META)
    return [Part(kind, "\n".join(leaves), path)] if leaves else []


def semconv_messages(value: Any, path: str, sink: Sink, default_role: str,
                     reasons: list[str] | None = None) -> None:
    """Add decoded ``gen_ai.{input,output}.messages``; collect per-message finish reasons."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        sink.add(UNKNOWN, _text_part("raw", value, path))
        return
    for i, message in enumerate(value):
        mpath = f"{path}[{i}]"
        if not isinstance(message, dict):
            sink.add(UNKNOWN, _text_part("raw", message, mpath))
            continue
        role = role_of(message.get("role"), default_role)
        parts_value = message.get("parts")
        parts: list[Part] = []
        if isinstance(parts_value, list):
            for j, part in enumerate(parts_value):
                parts += semconv_part(part, f"{mpath}.parts[{j}]")
        elif "content" in message:  # OpenAI-shaped message where a semconv one was expected
            role, parts = openai_message(message, mpath, default_role)
        if role != TOOL:
            for part in parts:
                if part.kind == "tool_call_response":
                    role = TOOL
                    break
        sink.add(role, parts)
        reason = message.get("finish_reason")
        if reasons is not None and isinstance(reason, str) and reason:
            reasons.append(reason)


def semconv_system(value: Any, path: str, sink: Sink) -> None:
    """``gen_ai.system_instructions`` (an array of parts) as the first, system message."""
    if isinstance(value, dict):
        value = [value]
    parts: list[Part] = []
    if isinstance(value, list):
        for j, part in enumerate(value):
            parts += semconv_part(part, f"{path}[{j}]")
    else:
        parts = _text_part("text", value, path)
    sink.first_system(parts)


def openai_content(content: Any, path: str) -> list[Part]:
    """OpenAI message content: a string, or a list of typed content parts."""
    if isinstance(content, str):
        return _text_part("text", content, path)
    if isinstance(content, list):
        parts: list[Part] = []
        for k, item in enumerate(content):
            ipath = f"{path}[{k}]"
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                parts += _text_part("text", item["text"], f"{ipath}.text")
            elif isinstance(item, dict) and isinstance(item.get("image_url"), dict):
                url = item["image_url"].get("url")
                if isinstance(url, str) and not url.startswith("data:"):
                    parts += _text_part("uri", url, f"{ipath}.image_url.url")
            elif isinstance(item, dict) and isinstance(item.get("refusal"), str):
                parts += _text_part("text", item["refusal"], f"{ipath}.refusal")
            elif isinstance(item, dict) and item.get("type") in ("input_audio", "image", "file"):
                continue  # binary media: nothing to read
            elif item is not None:
                leaves = string_leaves(item, _PART_META)
                if leaves:
                    parts.append(Part("raw", "\n".join(leaves), ipath))
        return parts
    if isinstance(content, dict):  # Traceloop writes {} for a null content
        leaves = string_leaves(content)
        return [Part("raw", "\n".join(leaves), path)] if leaves else []
    if content is None or isinstance(content, bool):
        return []
    return _text_part("raw", content, path)


def openai_tool_calls(calls: Any, path: str) -> list[Part]:
    """OpenAI ``tool_calls``: ``[{id, type, function: {name, arguments}}]``."""
    parts: list[Part] = []
    if not isinstance(calls, list):
        return parts
    for j, call in enumerate(calls):
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else call
        name = function.get("name") if isinstance(function.get("name"), str) else ""
        args = as_text(function.get("arguments"))
        parts += _text_part("tool_call", f"{name}({args})" if name else args,
                            f"{path}[{j}].function.arguments")
    return parts


def openai_message(message: dict, path: str, default_role: str) -> tuple[str, list[Part]]:
    """An OpenAI chat message as (role, parts)."""
    role = role_of(message.get("role"), default_role)
    parts = openai_content(message.get("content"), f"{path}.content")
    if isinstance(message.get("refusal"), str):
        parts += _text_part("text", message["refusal"], f"{path}.refusal")
    parts += openai_tool_calls(message.get("tool_calls"), f"{path}.tool_calls")
    if message.get("tool_call_id") is not None and role == UNKNOWN:
        role = TOOL
    if role == TOOL:
        parts = [Part("tool_call_response", p.text, p.path) if p.kind == "text" else p
                 for p in parts]
    return role, parts


def openai_messages(value: Any, path: str, sink: Sink, default_role: str) -> None:
    """A list of OpenAI chat messages (v1.26 `gen_ai.prompt`, a chat request's messages)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        sink.add(UNKNOWN, _text_part("raw", value, path))
        return
    for i, message in enumerate(value):
        if isinstance(message, dict):
            sink.add(*openai_message(message, f"{path}[{i}]", default_role))
        else:
            sink.add(default_role, _text_part("raw", message, f"{path}[{i}]"))
