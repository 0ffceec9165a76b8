"""The sending queue in front of an exporter (the Collector's `sending_queue`).

A bounded FIFO of request groups: one group is everything one received
request produced for this exporter (its spans and the alerts found in them),
so `queue_size` counts requests, as in the Collector. Payloads are bytes,
serialized once by the service; consumers are the service's threads.

`persistent_queue.PersistentQueue` has the same interface and keeps groups on
disk (`storage_dir`); `done` and `release` matter only there and cost nothing here.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueItem:
    signal: str  # traces | logs | metrics | alerts
    payload: bytes  # a serialized Export*ServiceRequest (alerts: ExportLogsServiceRequest)
    count: int  # spans, log records, data points or alert records


class SendingQueue:
    """FIFO of request groups with room reserved up front.

    A submit reserves a slot (under the service's admission lock) BEFORE the
    engine runs, then fills it with its group or cancels it. So a request is
    refused before anything happens to it, and the engine's per-trace memory
    never sees a request that was then refused.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._groups: deque[tuple[QueueItem, ...]] = deque()
        self._reserved = 0
        self._cond = threading.Condition()
        self._closed = self._abandoned = False

    def try_reserve(self) -> bool:
        with self._cond:
            if len(self._groups) + self._reserved >= self.capacity:
                return False
            self._reserved += 1
            return True

    def fill(self, group: tuple[QueueItem, ...] | None) -> bool:
        """Use a reserved slot (None: release it). False if the queue was abandoned meanwhile."""
        with self._cond:
            self._reserved -= 1
            if group is not None and not self._abandoned:
                self._groups.append(group)
            self._cond.notify_all()
            return not self._abandoned

    def take(self) -> tuple[QueueItem, ...] | None:
        """The next group; None once closed, empty and no reservation is pending."""
        with self._cond:
            self._cond.wait_for(lambda: self._groups or (self._closed and not self._reserved))
            return self._groups.popleft() if self._groups else None

    def done(self, group: tuple[QueueItem, ...], delivered: bool = True) -> None:
        """The exporter is finished with a taken group (in memory: nothing to clean up)."""

    def close(self) -> None:
        """No more reservations; consumers finish what is queued or reserved."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abandon(self) -> list[tuple[QueueItem, ...]]:
        """Stop for good and hand back what was never taken."""
        with self._cond:
            self._closed = self._abandoned = True
            rest, self._groups = list(self._groups), deque()
            self._reserved = 0
            self._cond.notify_all()
        return rest

    def release(self) -> None:
        """Give up resources once the consumers are done (in memory: none)."""
