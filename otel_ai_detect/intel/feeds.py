"""Threat-intelligence feeds: load at start, refresh in the background, keep a disk copy.

A `FeedSet` owns the configured feeds. `indicators` is one merged, immutable
`Indicators` held in a single attribute: a refresh builds a new one and swaps
it in, so readers on the span path never see a half-built set and never wait.

URL feeds are fetched with urllib3 (timeout, the feed's headers, no retries:
the next interval is the retry) and sent conditionally (If-None-Match /
If-Modified-Since). Each good response is written to ``cache_dir`` as
``<safe name>-<hash of source>.data`` plus a ``.meta`` JSON (ETag,
Last-Modified, fetched time) via temp file + ``os.replace``; when the source is
unreachable at start, that copy is used and the feed is reported stale. File
feeds are re-read when their mtime changes. Nothing here raises for a bad or
unreachable source: it is logged (never header values, never URL queries or
credentials), counted, and shown by `status()`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable

import urllib3

from otel_ai_detect import heap
from otel_ai_detect.config_types import FeedConfig
from otel_ai_detect.intel.formats import parse
from otel_ai_detect.intel.indicators import EMPTY, Indicators

log = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024 * 1024  # a feed larger than this is refused, not half-read


@dataclass(frozen=True, slots=True)
class FeedStatus:
    name: str
    source: str               # credentials and query masked
    entries: int
    skipped: int              # malformed lines in the copy in use
    last_success: float | None
    last_error: str | None
    stale: bool               # the last attempt failed: serving an older copy (or nothing)
    failures: int


def mask_source(source: str) -> str:
    """`https://user:pw@host/p?key=x` -> `https://***@host/p?***`; paths unchanged."""
    if "://" not in source:
        return source
    scheme, _, rest = source.partition("://")
    rest, q, _ = rest.partition("?")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}://{authority}{slash}{path}" + ("?***" if q else "")


class _Feed:
    def __init__(self, config: FeedConfig) -> None:
        self.config = config
        self.is_url = config.source.lower().startswith(("http://", "https://"))
        src = config.source.partition("?")[0]
        default = (src.partition("://")[2].partition("/")[0].rpartition("@")[2].partition(":")[0]
                   if self.is_url else os.path.basename(src))
        self.name = config.name or default or "feed"
        self.masked = mask_source(config.source)
        digest = hashlib.sha256(self.masked.encode()).hexdigest()[:8]
        self.safe = re.sub(r"[^A-Za-z0-9._-]", "_", self.name)[:64] + "-" + digest
        self.indicators: Indicators = EMPTY
        self.skipped = 0
        self.digest: str | None = None  # of the bytes in use: same bytes -> no swap
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.pending: tuple[str | None, str | None] | None = None
        self.mtime: float | None = None
        self.next_due = 0.0
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.stale = False
        self.failures = 0


def _error_text(exc: BaseException) -> str:
    # Exception messages from urllib3 can carry the full URL (with query keys): keep the type
    # and, for OS errors, the reason only.
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, urllib3.exceptions.HTTPError):
        return f"{type(exc).__name__}: {exc.strerror}"
    return str(exc) if isinstance(exc, _FeedError) else type(exc).__name__


class _FeedError(Exception):
    """A failure whose message is ours (safe to log)."""


class FeedSet:
    def __init__(self, feeds: tuple[FeedConfig, ...], cache_dir: str, *,
                 clock: Callable[[], float] = time.time, timeout: float = 10.0) -> None:
        self._feeds = [_Feed(f) for f in feeds]
        self._cache_dir = cache_dir
        self._clock = clock
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout), retries=False)
        self._indicators: Indicators = EMPTY
        self._lock = threading.Lock()  # one refresher at a time (thread and direct callers)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def indicators(self) -> Indicators:
        return self._indicators

    # -- loading -----------------------------------------------------------------------

    def load(self) -> None:
        """Read every feed once (disk copy as fallback). Never raises for a feed's problems."""
        with self._lock:
            for feed in self._feeds:
                if feed.is_url:
                    self._read_cache(feed)
                self._update(feed, start=True)
            self._swap()

    def refresh_once(self) -> bool:
        """Refresh the feeds whose interval elapsed; True if the merged set changed."""
        with self._lock:
            changed = False
            for feed in self._feeds:
                if self._clock() >= feed.next_due:
                    changed |= self._update(feed, start=False)
            if changed:
                self._swap()
            return changed

    def _swap(self) -> None:
        self._indicators = Indicators.merge(f.indicators for f in self._feeds)
        heap.trim()  # parsing left tens of MB of freed temporaries: give them back

    def _update(self, feed: _Feed, *, start: bool) -> bool:
        now = self._clock()
        feed.next_due = now + feed.config.refresh_interval
        try:
            data = self._fetch(feed) if feed.is_url else self._read_file(feed, force=start)
            if data is None:  # 304 / unchanged file
                feed.stale, feed.last_success, feed.last_error = False, now, None
                return False
            parsed = parse(feed.config.format, data, feed.name, source=feed.config.source)
            if parsed.indicators.size == 0 and parsed.skipped:
                # An HTML error page served with 200 must not empty a good feed.
                raise _FeedError(f"no valid entries ({parsed.skipped} malformed lines)")
        except Exception as exc:  # noqa: BLE001 - a feed's failure is reported, never fatal
            feed.pending = None
            feed.failures += 1
            feed.stale = True
            feed.last_error = _error_text(exc)
            log.warning("threat-intel feed %s (%s) failed: %s%s", feed.name, feed.masked,
                        feed.last_error, "; keeping the last good copy" if feed.digest else "")
            return False
        digest = hashlib.sha256(data).hexdigest()
        if feed.pending is not None:
            feed.etag, feed.last_modified = feed.pending
            feed.pending = None
        if feed.is_url and (start or digest != feed.digest):
            self._write_cache(feed, data, now)
        feed.stale, feed.last_success, feed.last_error = False, now, None
        if digest == feed.digest:
            return False
        feed.indicators, feed.skipped, feed.digest = parsed.indicators, parsed.skipped, digest
        if parsed.skipped:
            log.info("threat-intel feed %s: %d malformed lines skipped", feed.name, parsed.skipped)
        return True

    def _read_file(self, feed: _Feed, *, force: bool) -> bytes | None:
        mtime = os.stat(feed.config.source).st_mtime_ns
        if not force and mtime == feed.mtime:
            return None
        with open(feed.config.source, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise _FeedError(f"larger than {MAX_BYTES} bytes")
        feed.mtime = mtime
        return data

    def _fetch(self, feed: _Feed) -> bytes | None:
        headers = dict(feed.config.headers)
        if feed.digest is not None:  # validators only when we hold the copy they describe
            if feed.etag:
                headers["If-None-Match"] = feed.etag
            if feed.last_modified:
                headers["If-Modified-Since"] = feed.last_modified
        resp = self._http.request("GET", feed.config.source, headers=headers,
                                  preload_content=False, redirect=True)
        try:
            if resp.status == 304 and feed.digest is not None:
                return None
            if resp.status != 200:
                raise _FeedError(f"HTTP {resp.status}")
            chunks, size = [], 0
            for chunk in resp.stream(1 << 16):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise _FeedError(f"larger than {MAX_BYTES} bytes")
                chunks.append(chunk)
        finally:
            resp.release_conn()
        # Validators are adopted only once this body parses (see _update).
        feed.pending = (resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
        return b"".join(chunks)

    # -- disk copy ---------------------------------------------------------------------

    def _paths(self, feed: _Feed) -> tuple[str, str]:
        base = os.path.join(self._cache_dir, feed.safe)
        return base + ".data", base + ".meta"

    def _read_cache(self, feed: _Feed) -> None:
        data_path, meta_path = self._paths(feed)
        try:
            with open(meta_path, encoding="utf-8") as fh:
                meta = json.load(fh)
            with open(data_path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
            parsed = parse(feed.config.format, data, feed.name, source=feed.config.source)
        except (OSError, ValueError):
            return  # no usable copy: the fetch decides
        feed.indicators, feed.skipped = parsed.indicators, parsed.skipped
        feed.digest = hashlib.sha256(data).hexdigest()
        feed.etag, feed.last_modified = meta.get("etag"), meta.get("last_modified")
        feed.last_success = meta.get("fetched")

    def _write_cache(self, feed: _Feed, data: bytes, now: float) -> None:
        meta = {"source": feed.masked, "etag": feed.etag, "last_modified": feed.last_modified,
                "fetched": now}
        data_path, meta_path = self._paths(feed)
        try:
            os.makedirs(self._cache_dir, exist_ok=True)
            # Data first, then meta: a crash in between leaves validators that do not match
            # the data only if the old meta survives, and a full GET then repairs it.
            _atomic_write(data_path, data)
            _atomic_write(meta_path, json.dumps(meta).encode())
        except OSError as exc:
            log.warning("threat-intel feed %s: cannot write the disk copy: %s",
                        feed.name, _error_text(exc))

    # -- background thread -------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="intel-feeds", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        period = max(1.0, min((f.config.refresh_interval for f in self._feeds), default=3600.0))
        while not self._stop.wait(period):
            try:
                self.refresh_once()
            except Exception:  # noqa: BLE001 - the refresher must outlive any bug in one round
                log.exception("threat-intel refresh failed")

    def status(self) -> list[FeedStatus]:
        return [FeedStatus(f.name, f.masked, f.indicators.size, f.skipped, f.last_success,
                           f.last_error, f.stale, f.failures) for f in self._feeds]


def _atomic_write(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
