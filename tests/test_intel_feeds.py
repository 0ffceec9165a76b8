"""FeedSet against real files and a real local HTTP server; an injected clock drives refresh."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from otel_ai_detect.config_types import FeedConfig
from otel_ai_detect.intel.feeds import FeedSet, mask_source

from feed_server import FeedServer

SECRET = "s3cr3t-api-key-value"   # a header value: never logged, at any level
QUERY_KEY = "q-key-in-url-9876"    # a URL query key: masked in our logs and status
# (urllib3's own DEBUG log prints the request line, query included: out of our hands.)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server():
    srv = FeedServer(b"https://evil.com/login\n")
    yield srv
    try:
        srv.stop()
    except OSError:
        pass


def url_feed(srv: FeedServer, **kw) -> FeedConfig:
    return FeedConfig(source=srv.url("/feed.txt?key=" + QUERY_KEY), format="urls", refresh_interval=60.0,
                      headers=(("Authorization", "Bearer " + SECRET),), **kw)


def test_loads_from_file(tmp_path: Path) -> None:
    path = tmp_path / "domains.txt"
    path.write_text("evil.com\nbad line here/\n")
    fs = FeedSet((FeedConfig(source=str(path), format="auto"),), str(tmp_path / "cache"))
    fs.load()
    assert dict(fs.indicators.hosts) == {"evil.com": "domains.txt"}
    (st,) = fs.status()
    assert (st.name, st.entries, st.skipped, st.stale, st.failures) == ("domains.txt", 1, 1, False, 0)


def test_file_feed_reread_when_mtime_changes(tmp_path: Path) -> None:
    path = tmp_path / "ips.txt"
    path.write_text("1.1.1.1\n")
    clock = Clock()
    fs = FeedSet((FeedConfig(source=str(path), format="ips", refresh_interval=10),), str(tmp_path), clock=clock)
    fs.load()
    first = fs.indicators
    clock.now += 11
    assert fs.refresh_once() is False and fs.indicators is first  # unchanged mtime: not re-read
    path.write_text("2.2.2.2\n")
    os.utime(path, ns=(10**18, 10**18))
    clock.now += 11
    assert fs.refresh_once() is True
    assert set(fs.indicators.ips) == {"2.2.2.2"}


def test_loads_from_url_and_sends_headers(server: FeedServer, tmp_path: Path) -> None:
    fs = FeedSet((url_feed(server),), str(tmp_path))
    fs.load()
    assert dict(fs.indicators.urls) == {"evil.com/login": "127.0.0.1"}
    path, headers = server.requests[0]
    assert headers["Authorization"] == "Bearer " + SECRET and QUERY_KEY in path
    (st,) = fs.status()
    assert st.name == "127.0.0.1" and QUERY_KEY not in st.source and st.source.endswith("?***")


def test_refresh_picks_up_changes_304_keeps_set(server: FeedServer, tmp_path: Path) -> None:
    clock = Clock()
    fs = FeedSet((url_feed(server),), str(tmp_path), clock=clock)
    fs.load()
    first = fs.indicators
    # Interval not elapsed: no request at all.
    assert fs.refresh_once() is False and server.count == 1
    clock.now += 61
    assert fs.refresh_once() is False and fs.indicators is first
    _, headers = server.requests[-1]
    assert headers["If-None-Match"] == server.etag and headers["If-Modified-Since"] == server.last_modified
    assert fs.status()[0].stale is False
    server.set_content(b"https://evil.com/login\nhttps://new-phish.com/x\n")
    clock.now += 61
    assert fs.refresh_once() is True
    assert fs.indicators is not first
    assert set(fs.indicators.urls) == {"evil.com/login", "new-phish.com/x"}


def test_failures_keep_last_good_copy_and_mark_stale(server: FeedServer, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    fs = FeedSet((url_feed(server),), str(tmp_path), clock=clock, timeout=2.0)
    fs.load()
    good = fs.indicators
    caplog.set_level(logging.DEBUG)
    for breakage in ("500", "drop", "html", "stop"):
        if breakage == "500":
            server.fail_with = 500
        elif breakage == "drop":
            server.fail_with, server.drop = None, True
        elif breakage == "html":
            server.drop = False
            server.set_content(b"<html><body>maintenance</body></html>\n")
        else:
            server.stop()
        clock.now += 61
        assert fs.refresh_once() is False
        assert fs.indicators is good
        st = fs.status()[0]
        assert st.stale and st.last_error
    assert fs.status()[0].failures == 4
    assert "HTTP 500" in caplog.text
    assert SECRET not in caplog.text
    assert QUERY_KEY not in "".join(r.getMessage() for r in caplog.records if r.name.startswith("otel_ai"))
    assert all(SECRET not in str(s) and QUERY_KEY not in str(s) for s in fs.status())


def test_restart_without_server_uses_disk_copy(server: FeedServer, tmp_path: Path) -> None:
    cfg = url_feed(server)
    FeedSet((cfg,), str(tmp_path)).load()
    assert any(name.endswith(".data") for name in os.listdir(tmp_path))
    assert all(SECRET not in (tmp_path / n).read_text() and QUERY_KEY not in (tmp_path / n).read_text()
               for n in os.listdir(tmp_path))
    server.stop()
    fs = FeedSet((cfg,), str(tmp_path))
    fs.load()
    assert set(fs.indicators.urls) == {"evil.com/login"}
    st = fs.status()[0]
    assert st.stale and st.failures == 1 and st.entries == 1


def test_restart_with_server_sends_validators_of_disk_copy(server: FeedServer, tmp_path: Path) -> None:
    cfg = url_feed(server)
    FeedSet((cfg,), str(tmp_path)).load()
    fs = FeedSet((cfg,), str(tmp_path))
    fs.load()
    assert server.requests[-1][1].get("If-None-Match") == server.etag
    assert set(fs.indicators.urls) == {"evil.com/login"} and not fs.status()[0].stale


def test_unreachable_or_missing_sources_never_raise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    srv = FeedServer(b"")
    dead = srv.url("/x")
    srv.stop()
    feeds = (FeedConfig(source=str(tmp_path / "missing.txt")),
             FeedConfig(source=dead, headers=(("X-Api-Key", SECRET),), name="dead"))
    fs = FeedSet(feeds, str(tmp_path), timeout=2.0)
    fs.load()
    assert fs.indicators.size == 0
    assert [s.failures for s in fs.status()] == [1, 1]
    assert SECRET not in caplog.text


def test_merge_across_feeds_first_names(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("evil.com\n")
    b.write_text("evil.com\nother.com\n")
    fs = FeedSet((FeedConfig(source=str(a), format="domains"),
                  FeedConfig(source=str(b), format="domains", name="B")), str(tmp_path))
    fs.load()
    assert dict(fs.indicators.hosts) == {"evil.com": "a.txt", "other.com": "B"}


def test_background_thread_starts_and_stops_promptly(tmp_path: Path) -> None:
    path = tmp_path / "d.txt"
    path.write_text("evil.com\n")
    fs = FeedSet((FeedConfig(source=str(path), refresh_interval=3600),), str(tmp_path))
    fs.load()
    fs.start()
    fs.stop(timeout=5.0)  # woken by the event, not after an hour
    assert fs._thread is None


@pytest.mark.parametrize("source, masked", [
    ("https://user:pw@feeds.example/x?key=1", "https://***@feeds.example/x?***"),
    ("https://feeds.example/x", "https://feeds.example/x"),
    ("/var/feeds/a.txt", "/var/feeds/a.txt"),
])
def test_mask_source(source: str, masked: str) -> None:
    assert mask_source(source) == masked
