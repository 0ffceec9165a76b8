"""What a call says about its outcome, gathered from every convention present.

Messages come from one adapter per side; finish reasons, errors and verdicts are
gathered from all of them (and from the convention-neutral attributes), then
de-duplicated with their first-seen order kept.
"""

from __future__ import annotations

from otel_ai_detect.extract import filters
from otel_ai_detect.model import NO_PEER, Conversation, FilterVerdict, Message, Peer

# Error texts kept per call (status + exception events). De-duplication compares every
# pair, so without a cap 100,000 exception events on one span cost minutes.
MAX_ERRORS = 64


class Facts:
    __slots__ = ("error_type", "errors", "reasons", "verdicts")

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.verdicts: list[FilterVerdict] = []
        self.error_type: str | None = None
        self.errors: list[str] = []

    def error(self, message: str, path: str) -> None:
        """An error text (status description, exception message); may hold Azure verdicts."""
        if message and len(self.errors) < MAX_ERRORS:
            self.errors.append(message)
            filters.error_text(message, path, self.verdicts)

    def conversation(self, inputs: tuple[Message, ...], outputs: tuple[Message, ...],
                     convention: str, peer: Peer = NO_PEER) -> Conversation:
        return Conversation(
            inputs=inputs,
            outputs=outputs,
            finish_reasons=_unique(self.reasons) if self.reasons else (),
            error_type=self.error_type,
            error_messages=_unique_texts(self.errors) if self.errors else (),
            provider_filter=_unique_verdicts(self.verdicts) if self.verdicts else (),
            peer=peer,
            convention=convention,
        )


def _unique(items: list) -> tuple:
    return tuple(dict.fromkeys(items))


def _unique_verdicts(verdicts: list[FilterVerdict]) -> tuple[FilterVerdict, ...]:
    """One verdict per (category, filtered, detected, target), first path kept.

    The same Azure body shows up in the status and in each exception event.
    """
    seen: dict[tuple, FilterVerdict] = {}
    for v in verdicts:
        seen.setdefault((v.category, v.filtered, v.detected, v.target), v)
    return tuple(seen.values())


def _unique_texts(texts: list[str]) -> tuple[str, ...]:
    """De-duplicate error texts, also dropping one contained in another.

    The status description often repeats the exception message with a prefix
    (``BadRequestError: Error code: 400 - ...``): one copy is enough.
    """
    kept: list[str] = []
    for text in dict.fromkeys(texts):
        if any(text in other for other in kept):
            continue
        kept = [other for other in kept if other not in text]
        kept.append(text)
    return tuple(kept)
