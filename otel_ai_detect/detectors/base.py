"""The detector protocols: built once from config, then a pure, cheap call.

Content detectors look at what the model was told and answered; request
detectors look at who is calling (the trace's `Peer`) and run once per trace.
Neither sees protobuf, and no raw secret leaves a detector: evidence is masked.
"""

from __future__ import annotations

from typing import ClassVar, Iterable, Protocol, runtime_checkable

from otel_ai_detect.model import Conversation, Finding, Peer


@runtime_checkable
class ContentDetector(Protocol):
    name: ClassVar[str]

    def detect(self, conv: Conversation) -> Iterable[Finding]: ...


@runtime_checkable
class RequestDetector(Protocol):
    name: ClassVar[str]

    def detect_peer(self, peer: Peer) -> Iterable[Finding]: ...
