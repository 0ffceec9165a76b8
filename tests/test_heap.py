"""heap.trim(): freed heap goes back to the OS after feed parsing (glibc only)."""

from __future__ import annotations

import platform
import sys

from otel_ai_detect import heap


def test_trim_runs_malloc_trim_on_glibc_and_is_a_no_op_elsewhere():
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert heap.trim() is on_glibc


def test_a_feed_swap_trims_the_heap(monkeypatch, tmp_path):
    from otel_ai_detect.config_types import FeedConfig
    from otel_ai_detect.intel.feeds import FeedSet

    calls = []
    monkeypatch.setattr(heap, "trim", lambda: calls.append(1) or True)
    path = tmp_path / "urls.txt"
    path.write_text("https://phish.example.test/login\n")
    feeds = FeedSet((FeedConfig(name="local", source=str(path), format="urls"),), str(tmp_path))
    feeds.load()
    assert calls and feeds.indicators.urls
