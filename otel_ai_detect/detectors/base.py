"""The detector protocols: built once from config, then a pure, cheap call.

Content detectors look at what the model was told and answered; request
detectors look at who is calling (the trace's `Peer`) and run once per trace.
Neither sees protobuf, and no raw secret leaves a detector: evidence is masked.
"""

from __future__ import annotations

from typing import ClassVar, Iterable, NamedTuple, Protocol, runtime_checkable

from otel_ai_detect.model import (SOURCE_INPUT, SOURCE_OUTPUT, SOURCE_SYSTEM, SOURCE_TOOL,
                                  Conversation, Finding, Part, Peer)


@runtime_checkable
class ContentDetector(Protocol):
    name: ClassVar[str]

    def detect(self, conv: Conversation) -> Iterable[Finding]: ...


@runtime_checkable
class RequestDetector(Protocol):
    name: ClassVar[str]

    def detect_peer(self, peer: Peer) -> Iterable[Finding]: ...


# Where a message's text came from, as `ai.alert.source` says it.
_ROLE_SOURCE = {"system": SOURCE_SYSTEM, "developer": SOURCE_SYSTEM, "tool": SOURCE_TOOL}


class Text(NamedTuple):
    source: str  # input | output | system | tool
    role: str
    part: Part


# The last conversation's texts: every detector asks for them in turn (one engine
# thread runs one conversation at a time; a race only means computing them again).
_last: tuple[Conversation | None, tuple[Text, ...]] = (None, ())


def texts(conv: Conversation) -> tuple[Text, ...]:
    """Every text of the call with its alert source: inputs in order, then outputs.

    User turns, earlier assistant turns and content of unknown role are
    `input`; a tool result is `tool` even inside a user turn (Anthropic style).
    """
    global _last
    last = _last
    if last[0] is conv:
        return last[1]
    out = []
    for message in conv.inputs:
        source = _ROLE_SOURCE.get(message.role, SOURCE_INPUT)
        for part in message.parts:
            out.append(Text(SOURCE_TOOL if part.kind == "tool_call_response" else source,
                            message.role, part))
    for message in conv.outputs:
        for part in message.parts:
            out.append(Text(SOURCE_OUTPUT, message.role, part))
    found = tuple(out)
    _last = (conv, found)
    return found
