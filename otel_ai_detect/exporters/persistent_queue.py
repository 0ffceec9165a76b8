"""A sending queue on disk (`sending_queue.storage_dir`, as the Collector's file_storage queue).

Same interface and semantics as `SendingQueue` (reserve before the engine
runs, fill, take, done, close, abandon), plus durability: requests accepted
before a crash or kill are delivered after the next start.

Format: one file per request group, `<seq>.item` (seq zero-padded, so the
names sort in arrival order), written as `<seq>.tmp`, fsynced, renamed with
`os.replace` and the directory fsynced. The rename is atomic, so an `.item`
file is either complete or absent; a `.tmp` left by a crash was never
acknowledged and is deleted at start. The file holds a magic, the items
(signal, count, payload) and a CRC32 of everything before it; a file that
fails to parse (torn by the disk, truncated, edited) is skipped, counted in
`corrupt`, logged and renamed `<seq>.item.corrupt` for inspection -- never a
crash.

fsync policy: per write, in the receiving thread, before `fill` returns and
so before the sender gets its OK. That is two fsyncs (file, directory) per
accepted request: ~0.1 ms on tmpfs, ~1-10 ms on an SSD or a network volume.
Writes from concurrent handler threads run outside the queue lock, so they
overlap rather than queue behind one another. Batching (group commit) would
cost less per request but delays every OK; one file per request was chosen
for simplicity and because a lost or torn file then loses nothing else.

Delivery is at-least-once: a file is deleted only after its exporter is done
with it (delivered, or given up for good -- counted as dropped as today). A
crash between delivery and deletion, or a group half-delivered (spans sent,
alerts not), is sent again at the next start. Deletion is not fsynced: a lost
unlink only means such a duplicate.

The directory is locked (flock) so two processes never share one queue.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import threading
import zlib
from collections import deque
from pathlib import Path

from otel_ai_detect.exporters.base import SIGNALS
from otel_ai_detect.exporters.queue import QueueItem

log = logging.getLogger(__name__)

MAGIC = b"OAIDQ1\n"
_HEADER = struct.Struct(">I")  # number of items
_ITEM = struct.Struct(">HQI")  # signal length, count, payload length
_CRC = struct.Struct(">I")
Group = tuple[QueueItem, ...]


class StorageLocked(RuntimeError):
    """Another process holds this storage_dir."""


def encode(group: Group) -> bytes:
    parts = [MAGIC, _HEADER.pack(len(group))]
    for item in group:
        signal = item.signal.encode()
        parts += [_ITEM.pack(len(signal), item.count, len(item.payload)), signal, item.payload]
    body = b"".join(parts)
    return body + _CRC.pack(zlib.crc32(body))


def decode(data: bytes) -> Group:
    """The group stored in `data`; ValueError when it is not one, whole and intact."""
    if len(data) < len(MAGIC) + _HEADER.size + _CRC.size or not data.startswith(MAGIC):
        raise ValueError("no queue item header")
    body, (crc,) = data[: -_CRC.size], _CRC.unpack(data[-_CRC.size :])
    if zlib.crc32(body) != crc:
        raise ValueError("checksum mismatch")
    pos = len(MAGIC)
    (n,) = _HEADER.unpack_from(body, pos)
    pos += _HEADER.size
    items = []
    for _ in range(n):
        signal_len, count, payload_len = _ITEM.unpack_from(body, pos)
        pos += _ITEM.size
        signal = body[pos : pos + signal_len].decode()
        pos += signal_len
        payload = body[pos : pos + payload_len]
        pos += payload_len
        if signal not in SIGNALS or len(payload) != payload_len:
            raise ValueError("bad item")
        items.append(QueueItem(signal, payload, count))
    if pos != len(body) or not items:
        raise ValueError("bad length")
    return tuple(items)


class PersistentQueue:
    """FIFO of request groups with room reserved up front, each group a file in `directory`."""

    def __init__(self, capacity: int, directory: str | os.PathLike[str]) -> None:
        self.capacity = capacity
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.directory / "queue.lock", "a+b")  # noqa: SIM115 (held open)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise StorageLocked(f"sending queue storage {self.directory} is in use") from None
        self._groups: deque[tuple[int, Group]] = deque()
        self._in_flight: dict[int, tuple[int, Group]] = {}  # id(group) -> (seq, group)
        self._reserved = 0
        self._cond = threading.Condition()
        self._closed = self._abandoned = False
        self.corrupt = 0  # files found unreadable at start (skipped, renamed *.corrupt)
        self.recovered = 0  # groups loaded from disk at start
        self._next_seq = self._load()

    # --- start -----------------------------------------------------------------------
    def _load(self) -> int:
        """Queue what a previous run left, oldest first; the next free sequence number."""
        highest = -1
        for path in sorted(self.directory.iterdir()):
            stem, _, suffix = path.name.partition(".")
            if not stem.isdigit():
                continue
            highest = max(highest, int(stem))
            if suffix == "tmp":  # a write cut short: never acknowledged to the sender
                _unlink(path)
            elif suffix == "item":
                try:
                    self._groups.append((int(stem), decode(path.read_bytes())))
                except (OSError, ValueError) as exc:
                    self.corrupt += 1
                    log.error("sending queue: skipping unreadable %s (%s)", path, exc)
                    try:  # kept aside for inspection; renamed so it is not read again
                        os.replace(path, path.with_name(path.name + ".corrupt"))
                    except OSError:
                        pass
        self.recovered = len(self._groups)
        if self.recovered or self.corrupt:
            log.warning(
                "sending queue %s: %d requests from the last run to deliver, %d unreadable",
                self.directory, self.recovered, self.corrupt,
            )
        return highest + 1

    # --- the SendingQueue interface -----------------------------------------------------
    def try_reserve(self) -> bool:
        with self._cond:
            if self._closed or len(self._groups) + self._reserved >= self.capacity:
                return False
            self._reserved += 1
            return True

    def fill(self, group: Group | None) -> bool:
        """Store the group durably, then queue it (None: release the slot).

        Raises OSError when it cannot be stored (slot released): the caller must
        not acknowledge the request. True otherwise -- also after `abandon`, since
        what is on disk is delivered at the next start.
        """
        seq = -1
        if group is not None:
            with self._cond:
                seq, self._next_seq = self._next_seq, self._next_seq + 1
            try:
                self._write(seq, group)  # outside the lock: concurrent fsyncs overlap
            except OSError:
                self._release_slot(None)
                raise
        self._release_slot((seq, group) if group is not None else None)
        return True

    def take(self) -> Group | None:
        """The next group; None once closed, empty and no reservation is pending."""
        with self._cond:
            self._cond.wait_for(lambda: self._groups or (self._closed and not self._reserved))
            if not self._groups:
                return None
            seq, group = self._groups.popleft()
            self._in_flight[id(group)] = (seq, group)
            return group

    def done(self, group: Group, delivered: bool = True) -> None:
        """The exporter is finished with `group`: delete its file.

        Not after `abandon` when the export failed: that failure is the shutdown
        cutting it short, and the file is delivered at the next start instead.
        """
        with self._cond:
            seq, _ = self._in_flight.pop(id(group))
            keep = self._abandoned and not delivered
        if not keep:
            _unlink(self._path(seq, "item"))

    def close(self) -> None:
        """No more reservations; consumers finish what is queued or reserved."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abandon(self) -> list[Group]:
        """Stop for good. Nothing is lost: what was not delivered stays on disk; returns []."""
        with self._cond:
            self._closed = self._abandoned = True
            left = len(self._groups) + len(self._in_flight)
            self._groups.clear()
            self._reserved = 0
            self._cond.notify_all()
        if left:
            log.warning(
                "sending queue: %d requests stay in %s for the next start", left, self.directory
            )
        return []

    def release(self) -> None:
        """Give the directory up (the lock), once the consumers are done."""
        if not self._lock_file.closed:
            self._lock_file.close()  # closing the file drops the flock

    # --- disk ----------------------------------------------------------------------------
    def _release_slot(self, entry: tuple[int, Group] | None) -> None:
        with self._cond:
            self._reserved = max(0, self._reserved - 1)
            if entry is not None and not self._abandoned:
                self._groups.append(entry)
            self._cond.notify_all()

    def _path(self, seq: int, suffix: str) -> Path:
        return self.directory / f"{seq:020d}.{suffix}"

    def _write(self, seq: int, group: Group) -> None:
        tmp, final = self._path(seq, "tmp"), self._path(seq, "item")
        try:
            # 0600: payloads are telemetry and may hold what the redaction setting leaves in.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "wb") as f:
                f.write(encode(group))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
            # The rename itself must survive a power loss. Opened per write (microseconds,
            # next to the fsync) so a directory that was replaced is never a stale handle.
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            _unlink(tmp)
            raise


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:  # a file left behind is only a duplicate at the next start
        log.error("sending queue: cannot delete %s: %s", path, exc)
