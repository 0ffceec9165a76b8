"""Resident memory of `otel-ai-detect serve` with the default feeds loaded, over a long run.

The performance issue's memory target: "steady state under 250 MB resident with
default feeds loaded; no growth over a 10-minute run". This script measures both.

Feeds. A local HTTP server (loopback, free port, in this process) serves
deterministic synthetic copies of the public feeds the README configures, in
their real formats and at the sizes those feeds have held (`FEEDS` below):

  openphish  OpenPhish community `feed.txt`, one URL a line          500 URLs
  urlhaus    URLhaus `csv_recent/` (30 days), `#` header, quoted CSV  50,000 URLs
  phishtank  PhishTank `online-valid.json`, full records with details 75,000 URLs
  tor        `torbulkexitlist`, one IPv4 a line                       2,000 IPs

It answers conditional GETs (ETag / Last-Modified -> 304) as the real sources do.
Each processor gets its own empty `intel.cache_dir`: a first start, fetching and
parsing every feed (the larger start-up transient).
`--feed-scale` multiplies the URL and IP counts.

Processor. Configured as a user following the README would: every default
detector on, `detectors.phishing.feeds` and `detectors.tor.feeds` pointing at
that server (OpenPhish refreshed every 12 h, the others every hour, as in the
README's example), the `otlp` exporter (gRPC, no compression) to the raw sink of
`_bench_sink.py`, own metrics on a free port (feed gauges, trace-state size and
queue size are read from `/metrics`), glibc malloc env `_bench_procs.MALLOC_ENV`
(as shipped in the Makefile and the Dockerfile).

Load. `_bench_load.steady`: open loop at `--rate` spans/s (default `auto`: half of
what one processor with these feeds takes, measured first on its own processor
with 8 closed-loop senders for 6 s; or a number), cycling 8 requests of 64 spans then 1 of 512 spans
(half the spans arrive in each size), genai_traffic content with fresh trace ids
on every send, for `--duration` seconds (600). RSS (psutil, the processor and
any children) is sampled every `--interval` seconds (5).

Baselines, in the same run, each a fresh processor, RSS after start-up with no
traffic: every detector off; every detector on without feeds. The difference
to the main processor's start-up RSS is what the feeds cost (per entry too).

    .venv/bin/python benchmarks/memory.py              # ~11 min (10 min of load)
    .venv/bin/python benchmarks/memory.py --quick      # ~1.5 min, growth not meaningful
    .venv/bin/python benchmarks/memory.py --json out.json

Exit status 1 only on errors (a processor that dies or exits badly, feeds not
loaded, RPC errors, data the sink did not get), never on the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _bench_procs import (
    MALLOC_ENV, Client, Helper, Processor, free_port, psutil, start_sink_and_client, write_config,
)
from _bench_report import machine_info

TARGET_MB = 250.0
# "No growth": the least-squares slope over the second half of the run, extrapolated to
# 10 minutes, below this. Why 5 MB: below it a 10-minute run cannot tell a leak from the
# allocator's own noise (each 512-span request is 1.7 MB on the wire and several times
# that while decoded; a few in flight move RSS by this much), and 5 MB is 2 % of the
# 250 MB budget. A leak under 0.5 MB/min (30 MB/h) needs a longer run to be seen.
GROWTH_LIMIT_MB = 5.0
SMALL_SPANS, BIG_SPANS = 64, 512
PATTERN = ["small"] * 8 + ["big"]  # 512 spans in small requests, then 512 in one big one
RPC_TIMEOUT = 30.0
DRAIN_TIMEOUT = 30.0
MB = 1e6

# name -> (entries, format, README refresh interval, why this many)
FEEDS = {
    "openphish": (500, "urls", "12h",
                  "OpenPhish community feed.txt: a few hundred live URLs"),
    "urlhaus": (50_000, "urlhaus_csv", "1h",
                "URLhaus csv_recent: the URLs of the last 30 days, tens of thousands"),
    "phishtank": (75_000, "phishtank_json", "1h",
                  "PhishTank online-valid.json: tens of thousands of verified, online phishes"),
    "tor": (2_000, "tor_bulk", "1h",
            "torbulkexitlist: the exits seen in the last day, 1,500-2,000 IPv4"),
}
PATHS = {"openphish": "/feed.txt", "urlhaus": "/downloads/csv_recent/",
         "phishtank": "/data/online-valid.json", "tor": "/torbulkexitlist"}
# genai_traffic's phishing finding: listed by openphish, so the detector really alerts.
KNOWN_PHISH = "https://secure-login.examp1e-bank.com/verify"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0,
                        help="seconds of load (default 600 = 10 minutes)")
    parser.add_argument("--warmup", type=float, default=120.0,
                        help="first seconds of load left out of the steady state (default 120; "
                             "the per-trace memory fills its 100,000 traces in ~40 s at 5 k/s)")
    parser.add_argument("--rate", default="auto",
                        help="spans/s, or 'auto' (default): half of the spans/s one processor "
                             "with the feeds takes, measured first (8 senders, 6 s)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--feed-scale", type=float, default=1.0,
                        help="multiply the feed sizes (default 1: the public feeds' sizes)")
    parser.add_argument("--max-traces", type=int, default=None,
                        help="processor.trace_state.max_traces for the measured processor "
                             "(default: the processor's own, 100,000)")
    parser.add_argument("--pool", type=int, default=16, help="distinct requests per size")
    parser.add_argument("--finding-rate", type=float, default=0.03)
    parser.add_argument("--json", help="also write the figures as JSON to this path")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 60 s of load, 20 s warm-up (growth not meaningful)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 60.0, 20.0
    if args.rate != "auto":
        try:
            args.rate = float(args.rate)
        except ValueError:
            parser.error("--rate must be a number of spans/s or 'auto'")
        if args.rate <= 0:
            parser.error("--rate must be > 0")
    if args.duration <= 0 or not 0 <= args.warmup < args.duration or args.interval <= 0:
        parser.error("need --duration > --warmup >= 0 and --interval > 0")
    return args


# --- feeds ----------------------------------------------------------------------------

WORDS = ["secure", "login", "account", "verify", "update", "billing", "support", "auth",
         "signin", "wallet", "service", "online", "portal", "client", "help", "id", "pay",
         "mail", "office", "cloud", "docs", "drive", "share", "bank", "web", "app", "my"]
BRANDS = ["paypal", "microsoft", "office365", "apple", "amazon", "netflix", "chase", "wellsfargo",
          "dhl", "usps", "facebook", "instagram", "coinbase", "metamask", "adobe", "outlook"]
TLDS = ["com", "net", "org", "info", "xyz", "top", "online", "site", "app", "io", "ru", "cn",
        "co.uk", "com.br", "de", "fr", "shop", "live", "click", "link"]
HOSTERS = ["weebly.com", "wixsite.com", "web.app", "firebaseapp.com", "000webhostapp.com",
           "pages.dev", "vercel.app", "netlify.app", "github.io", "glitch.me"]
MALWARE_FILES = ["i", "bin.sh", "Mozi.m", "Mozi.a", "x86", "arm7", "mips", "sora.sh", "a.exe",
                 "update.exe", "invoice.zip", "doc.js", "payload.ps1", "setup.msi"]
TAGS = ["32-bit,elf,mips,Mozi", "elf,ua-wget", "exe,RemcosRAT", "AgentTesla,exe", "js,zip",
        "ascii,sh", "mirai", "QakBot,zip", "exe,Formbook", "SmokeLoader,exe"]


def _public_ip(rng: random.Random) -> str:
    while True:
        first = rng.randrange(1, 224)
        if first not in (10, 100, 127, 169, 172, 192, 198, 203):
            return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _phish_url(rng: random.Random, i: int) -> str:
    kind = rng.random()
    path = "/".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
    query = f"?id={rng.getrandbits(48):x}&session={rng.getrandbits(64):016x}" \
        if rng.random() < 0.3 else ""
    if kind < 0.35:  # look-alike domain
        host = f"{rng.choice(BRANDS)}-{rng.choice(WORDS)}{i}.{rng.choice(TLDS)}"
    elif kind < 0.65:  # free hosting sub-domain
        host = f"{rng.choice(BRANDS)}{rng.choice(WORDS)}{i}.{rng.choice(HOSTERS)}"
    elif kind < 0.9:  # compromised site, deep path
        host = f"{rng.choice(WORDS)}{rng.choice(WORDS)}{i}.{rng.choice(TLDS)}"
        path = f"wp-content/{rng.choice(['plugins', 'uploads', 'themes'])}/{rng.choice(BRANDS)}/" + path
    else:  # raw IP
        host = _public_ip(rng)
    scheme = "https" if rng.random() < 0.8 else "http"
    return f"{scheme}://{host}/{path}{'.php' if rng.random() < 0.3 else ''}{query}"


def _malware_url(rng: random.Random, i: int) -> str:
    if rng.random() < 0.6:  # the IoT-botnet style that dominates URLhaus
        return f"http://{_public_ip(rng)}:{rng.randrange(1024, 65536)}/{rng.choice(MALWARE_FILES)}"
    host = f"{rng.choice(WORDS)}{rng.choice(WORDS)}{i}.{rng.choice(TLDS)}"
    return f"https://{host}/{rng.choice(WORDS)}/{rng.getrandbits(40):x}/{rng.choice(MALWARE_FILES)}"


def _stamp(rng: random.Random) -> str:
    return (f"2026-11-{rng.randint(1, 28):02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}:"
            f"{rng.randrange(60):02d}")


def make_feeds(scale: float) -> dict[str, bytes]:
    """Deterministic synthetic feeds in their real formats (seeded per feed)."""
    counts = {name: max(1, round(entries * scale)) for name, (entries, *_rest) in FEEDS.items()}
    feeds = {}
    rng = random.Random(1)
    urls = [KNOWN_PHISH] + [_phish_url(rng, i) for i in range(counts["openphish"] - 1)]
    feeds["openphish"] = ("\n".join(urls) + "\n").encode()

    rng = random.Random(2)
    lines = ["#" * 64, "# abuse.ch URLhaus Database Dump (CSV - recent URLs)", "# Last updated: "
             "2026-11-28 10:00:00 (UTC)", "#", "# Terms Of Use: https://urlhaus.abuse.ch/api/",
             "#" * 64, "#",
             "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter"]
    for i in range(counts["urlhaus"]):
        uid = 3_300_000 - i
        added = _stamp(rng)
        online = rng.random() < 0.3
        fields = [str(uid), added, _malware_url(rng, i), "online" if online else "offline",
                  added if online else "", "malware_download", rng.choice(TAGS),
                  f"https://urlhaus.abuse.ch/url/{uid}/", rng.choice(["geenensp", "abuse_ch",
                                                                      "lrz_urlhaus", "Cryptolaemus1"])]
        lines.append(",".join(f'"{f}"' for f in fields))
    feeds["urlhaus"] = ("\n".join(lines) + "\n").encode()

    rng = random.Random(3)
    records = []
    for i in range(counts["phishtank"]):
        pid = 8_700_000 - i
        when = _stamp(rng).replace(" ", "T") + "+00:00"
        records.append({
            "phish_id": pid, "url": _phish_url(rng, i),
            "phish_detail_url": f"http://www.phishtank.com/phish_detail.php?phish_id={pid}",
            "submission_time": when, "verified": "yes", "verification_time": when,
            "online": "yes", "target": rng.choice(BRANDS + ["Other"]).title(),
            "details": [{"ip_address": _public_ip(rng), "cidr_block": f"{_public_ip(rng)}/24",
                         "announcing_network": str(rng.randrange(1000, 400000)),
                         "rir": rng.choice(["arin", "ripencc", "apnic", "lacnic", "afrinic"]),
                         "country": rng.choice(["US", "DE", "NL", "RU", "CN", "FR", "GB"]),
                         "detail_time": when}]})
    feeds["phishtank"] = json.dumps(records).encode()

    rng = random.Random(4)
    ips = sorted({_public_ip(rng) for _ in range(counts["tor"] * 2)})[:counts["tor"]]
    feeds["tor"] = ("\n".join(ips) + "\n").encode()
    return feeds


class FeedServer:
    """The feeds over HTTP on loopback, with ETag / Last-Modified and 304 answers."""

    def __init__(self, feeds: dict[str, bytes]) -> None:
        modified = formatdate(time.time(), usegmt=True)
        self.files = {PATHS[name]: (data, '"' + hashlib.sha256(data).hexdigest()[:16] + '"')
                      for name, data in feeds.items()}
        self.hits = {"200": 0, "304": 0, "404": 0}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                entry = server.files.get(self.path)
                if entry is None:
                    server.hits["404"] += 1
                    self.send_error(404)
                    return
                data, etag = entry
                if self.headers.get("If-None-Match") == etag:
                    server.hits["304"] += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                server.hits["200"] += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json" if self.path.endswith(".json")
                                 else "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="feeds", daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}{PATHS[name]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def feed_config(server: FeedServer, cache_dir: Path) -> dict:
    """The README's "Pointing at the public feeds" block, at the local server."""
    def entry(name):
        _, fmt, refresh, _ = FEEDS[name]
        return {"source": server.url(name), "format": fmt, "name": name,
                "refresh_interval": refresh}
    return {"detectors": {"phishing": {"feeds": [entry("openphish"), entry("urlhaus"),
                                                 entry("phishtank")]},
                          "tor": {"feeds": [entry("tor")]}},
            "intel": {"cache_dir": str(cache_dir)}}


# --- the processor's /metrics -----------------------------------------------------------

_SAMPLE = re.compile(r'^(otelaidetect_[a-z_]+)(?:\{([^}]*)\})? ([0-9.eE+-]+|NaN)$')


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """{(metric, ((label, value), ...)): value} from the Prometheus text; {} if unreachable."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m:
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def gauge(metrics: dict, name: str) -> float | None:
    values = [v for (metric, _), v in metrics.items() if metric == name]
    return sum(values) if values else None


# --- statistics -------------------------------------------------------------------------


def slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return None
    mean_t = statistics.fmean(t for t, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    den = sum((t - mean_t) ** 2 for t, _ in points)
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / den if den else None


def summarize(samples: list[dict], args) -> dict:
    """Steady state (after the warm-up) and growth figures from the RSS samples."""
    points = [(s["t"], s["rss"] / MB) for s in samples if s["rss"] is not None]
    steady = [(t, v) for t, v in points if t >= args.warmup]
    half = [(t, v) for t, v in points if t >= args.duration / 2]
    minute = min(60.0, (args.duration - args.warmup) / 2)
    first = [v for t, v in steady if t < args.warmup + minute]
    last = [v for t, v in steady if t >= args.duration - minute]
    after_warmup = next((v for t, v in points if t >= args.warmup), None)
    slope = slope_per_minute(half)
    return {
        "after_warmup_mb": after_warmup,
        "steady_median_mb": statistics.median(v for _, v in steady) if steady else None,
        "steady_max_mb": max((v for _, v in steady), default=None),
        "run_max_mb": max((v for _, v in points), default=None),
        "slope_second_half_mb_per_min": slope,
        "growth_mb_per_10min": slope * 10 if slope is not None else None,
        "minute_s": minute,
        "first_minute_median_mb": statistics.median(first) if first else None,
        "last_minute_median_mb": statistics.median(last) if last else None,
        "samples_steady": len(steady), "samples_second_half": len(half),
    }


def _mb(value) -> str:
    return "n/a" if value is None else f"{value:.1f} MB"


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the run --------------------------------------------------------------------------


class Bench:
    def __init__(self, args, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.errors: list[str] = []
        self.processor: Processor | None = None
        self.feeds: FeedServer | None = None
        self.sink: Helper | None = None
        self.client: Client | None = None
        self.sink_port = 0
        self.metrics_port = 0

    def start(self) -> dict:
        pools = {"small": (self.args.pool, SMALL_SPANS, self.args.finding_rate, 10_000),
                 "big": (self.args.pool, BIG_SPANS, self.args.finding_rate, 1)}
        self.sink, self.client, self.sink_port, sizes = start_sink_and_client(pools)
        return sizes

    def start_processor(self, name: str, extra: dict | None = None) -> Processor:
        port, self.metrics_port = free_port(), free_port()
        if extra and "intel" in extra:  # its own, empty disk copy: a first start, fetching all
            extra = {**extra, "intel": {"cache_dir": str(self.workdir / f"feed-cache-{name}")}}
        config = write_config(self.workdir, name, port, self.sink_port, self.metrics_port, extra)
        self.processor = Processor(config, port, self.workdir / f"processor-{name}.log")
        self.processor.wait_ready(timeout=120.0)
        return self.processor

    def stop_processor(self, what: str) -> None:
        processor, self.processor = self.processor, None
        if processor is None:
            return
        code = processor.stop()
        if code != 0:
            self.errors.append(f"{what}: processor exit code {code}\n{processor.log_tail()}")

    def settled_rss(self, processor: Processor, seconds: float = 3.0) -> float | None:
        """RSS in MB `seconds` after the processor answered ready (start-up work done)."""
        time.sleep(seconds)
        rss = processor.rss()
        return None if rss is None else rss / MB

    def baseline(self, name: str, label: str, extra: dict | None = None) -> dict:
        started = time.monotonic()
        processor = self.start_processor(name, extra)
        ready = time.monotonic() - started
        rss = self.settled_rss(processor)
        self.stop_processor(f"baseline {label}")
        return {"label": label, "rss_mb": rss, "ready_s": ready}

    def saturation(self, extra: dict) -> float:
        """Spans/s one feeds-on processor takes from 8 closed-loop senders (2 s + 6 s)."""
        processor = self.start_processor("saturation", extra)
        t0 = time.monotonic() + 2.0
        load = self.client.call("saturate", "big", processor.port, 8, t0, t0 + 6.0, RPC_TIMEOUT,
                                timeout=8.0 + RPC_TIMEOUT + 15.0)
        self.stop_processor("saturation")
        self.sink.call("reset")
        if load["errors"]:
            self.errors.append(f"saturation: RPC errors {load['errors']} ({load['first_error']})")
        return load["ok_window"] * BIG_SPANS / 6.0

    def main_run(self, extra: dict, rate: float) -> dict:
        args = self.args
        self.sink.call("reset")
        started = time.monotonic()
        processor = self.start_processor("A-feeds", extra)
        ready = time.monotonic() - started
        startup_rss = self.settled_rss(processor)
        metrics = scrape(self.metrics_port)
        feeds = {dict(labels).get("feed"): int(v) for (m, labels), v in metrics.items()
                 if m == "otelaidetect_feed_entries"}
        stale = {dict(labels).get("feed"): v for (m, labels), v in metrics.items()
                 if m == "otelaidetect_feed_stale" and v}
        if stale or any(feeds.get(name, 0) == 0 for name in FEEDS):
            self.errors.append(f"feeds not loaded: entries {feeds}, stale {stale}")
        print(f"start-up: ready in {ready:.1f} s; feed entries loaded (from /metrics): "
              + ", ".join(f"{k} {v:,}" for k, v in feeds.items()))
        print(f"          RSS after start-up, feeds loaded, before load: {_mb(startup_rss)}")
        print(f"\nload: {rate:,.0f} spans/s for {args.duration:g} s; RSS every {args.interval:g} s "
              f"(progress every {60 if args.duration >= 300 else 10} s)")
        print(f"{'t (s)':>6} {'RSS MB':>8} {'traces held':>11} {'queue':>5} {'alerts':>7}  load avg")
        sys.stdout.flush()

        t0 = time.monotonic() + 0.5
        t1 = t0 + args.duration
        self.client.send("steady", PATTERN, processor.port, rate, t0, t1, RPC_TIMEOUT)
        cpu_start = processor.cpu_seconds()
        samples = self.sample(processor, t0, t1)
        cpu_end = processor.cpu_seconds()
        load = self.client.receive(max(0.0, t1 - time.monotonic()) + 2 * RPC_TIMEOUT + 30.0)
        hwm = _vm_hwm(processor.process.pid)
        end_metrics = scrape(self.metrics_port)
        delivery = self.check_delivery(load)
        cores = (None if cpu_start is None or cpu_end is None
                 else (cpu_end - cpu_start) / args.duration)
        return {"ready_s": ready, "startup_rss_mb": startup_rss, "feed_entries": feeds,
                "processor_cores": cores,
                "samples": samples, "load": load, "vm_hwm_mb": hwm, "delivery": delivery,
                "end_metrics": {k: gauge(end_metrics, k) for k in (
                    "otelaidetect_trace_state_traces", "otelaidetect_exporter_queue_size",
                    "otelaidetect_receiver_accepted_spans_total",
                    "otelaidetect_processor_alerts_produced_total",
                    "otelaidetect_exporter_dropped_spans_total")}}

    def sample(self, processor: Processor, t0: float, t1: float) -> list[dict]:
        samples, every = [], (60.0 if self.args.duration >= 300 else 10.0)
        next_print = 0.0
        time.sleep(max(0.0, t0 - time.monotonic()))
        k = 0
        while True:
            at = t0 + k * self.args.interval
            if at > t1 + 1e-6:
                break
            time.sleep(max(0.0, at - time.monotonic()))
            if processor.process.poll() is not None:
                self.errors.append(f"the processor died at t={at - t0:.0f} s "
                                   f"(exit {processor.process.returncode})\n{processor.log_tail()}")
                break
            rss = processor.rss()
            t = time.monotonic() - t0
            sample = {"t": round(t, 2), "rss": rss}
            if t >= next_print - 1e-6 or at + self.args.interval > t1 + 1e-6:
                metrics = scrape(self.metrics_port)
                sample |= {"traces": gauge(metrics, "otelaidetect_trace_state_traces"),
                           "queue": gauge(metrics, "otelaidetect_exporter_queue_size"),
                           "alerts": gauge(metrics, "otelaidetect_processor_alerts_produced_total")}
                print(f"{t:>6.0f} {_num(rss, MB):>8} {_num(sample['traces']):>11} "
                      f"{_num(sample['queue']):>5} {_num(sample['alerts']):>7}  {_load()}")
                sys.stdout.flush()
                next_print += every
            samples.append(sample)
            k += 1
        return samples

    def check_delivery(self, load: dict) -> dict:
        accepted = sum(load["ok"].values())
        processor = self.processor
        if processor.process.poll() is None:
            self.sink.call("wait", accepted, DRAIN_TIMEOUT, timeout=DRAIN_TIMEOUT + 10)
        self.stop_processor("main run")  # SIGTERM drains anything still queued
        stats = self.sink.call("stats")
        delivered = stats["requests"].get("traces", 0)
        if delivered != accepted:
            self.errors.append(f"sink got {delivered} trace requests, processor accepted {accepted}")
        if load["errors"]:
            self.errors.append(f"RPC errors {load['errors']} (first: {load['first_error']})")
        if load["stuck"]:
            self.errors.append("load client: RPCs never answered")
        return {"accepted_requests": accepted, "delivered_requests": delivered,
                "alert_requests": stats["requests"].get("logs", 0)}

    def close(self) -> None:
        if self.processor is not None:
            self.processor.stop()
            self.processor = None
        for helper in (self.client, self.sink):
            if helper is not None:
                helper.stop()
        self.client = self.sink = None
        if self.feeds is not None:
            self.feeds.stop()
            self.feeds = None


def _num(value, scale: float = 1.0) -> str:
    return "n/a" if value is None else f"{value / scale:,.0f}" if scale == 1.0 else f"{value / scale:.1f}"


def _vm_hwm(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    return None


def print_header(info: dict, args, feeds: dict[str, bytes], request_bytes: dict) -> None:
    print("otel-ai-detect resident memory with the default feeds loaded, under steady load")
    print(f"date       {info['date']}   commit {info['commit']}")
    memory = f"{info['memory_gib']:.0f} GiB" if info["memory_gib"] else "?"
    print(f"machine    {info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable), "
          f"{memory}, Linux {info['kernel']}, load {_load()} at start")
    print(f"software   Python {info['python']}, grpcio {info['grpcio']}, protobuf "
          f"{info['protobuf']} ({info['protobuf_backend']}), hyperscan {info['hyperscan']}, "
          f"otel-ai-detect {info['otel-ai-detect']}, psutil {info['psutil']}")
    print(f"processor  otel-ai-detect serve, every default detector on, otlp grpc exporter "
          f"(no compression) to a raw sink; malloc env "
          + " ".join(f"{k}={v}" for k, v in MALLOC_ENV.items()))
    print("feeds      served on loopback (synthetic, deterministic, real formats; "
          "conditional GET answered):")
    for name, data in feeds.items():
        entries, fmt, refresh, why = FEEDS[name]
        count = round(entries * args.feed_scale)
        print(f"             {name:<10} {fmt:<15} {count:>7,} entries {len(data) / MB:>6.1f} MB, "
              f"refresh {refresh:<3}  ({why})")
    print(f"traffic    genai_traffic, {SMALL_SPANS}-span ({request_bytes['small'] / 1e3:.0f} KB) and "
          f"{BIG_SPANS}-span ({request_bytes['big'] / MB:.2f} MB) requests, 8:1 (half the spans "
          f"each), {args.finding_rate:.0%} with something to find, fresh trace ids every send")
    print(f"run        {args.duration:g} s of load, first {args.warmup:g} s warm-up, RSS (psutil, "
          f"processor + children) every {args.interval:g} s"
          + (f"; processor.trace_state.max_traces {args.max_traces:,}" if args.max_traces else "")
          + ("; QUICK: too short for the growth figure to mean anything" if args.quick else ""))
    print()


def print_results(result: dict, summary: dict, baselines: list[dict], args, rate: float,
                  errors: list[str]) -> None:
    load, delivery = result["load"], result["delivery"]
    print("\nbaselines (fresh processors, RSS 3 s after ready, no traffic):")
    for b in baselines:
        print(f"  {b['label']:<36} {_mb(b['rss_mb']):>9}  (ready in {b['ready_s']:.1f} s)")
    print(f"  {'every detector on, default feeds':<36} {_mb(result['startup_rss_mb']):>9}  "
          f"(ready in {result['ready_s']:.1f} s)")
    by_label = {b["label"]: b["rss_mb"] for b in baselines}
    off, nofeeds, full = (by_label.get("every detector off"),
                          by_label.get("every detector on, no feeds"), result["startup_rss_mb"])
    entries = sum(result["feed_entries"].values())
    if None not in (off, nofeeds, full):
        print(f"  the detectors cost {nofeeds - off:.1f} MB, the feeds {full - nofeeds:.1f} MB "
              f"({(full - nofeeds) * MB / max(entries, 1):.0f} bytes per entry over "
              f"{entries:,} entries)")

    sent_spans, ok_spans = load["sent_spans"], load["ok_spans"]
    print(f"\ntraffic: {sent_spans:,} spans sent in {sum(load['sent'].values()):,} requests "
          f"({sent_spans / args.duration:,.0f} spans/s, target {rate:,.0f}), {ok_spans:,} accepted, "
          f"refused {sum(load['refused'].values())}, errors {sum(load['errors'].values())}; "
          f"sends over 1 s late {load['late_sends']} (worst {load['late_max_s']:.2f} s)")
    if load["late_sends"]:
        print("  (late sends: the processor fell behind the schedule at times, e.g. when other "
              "work took the cores; the waiting requests sit in the receiver and count in RSS)")
    check = "all of them" if delivery["delivered_requests"] == delivery["accepted_requests"] \
        else "MISMATCH"
    print(f"sink: {delivery['delivered_requests']:,} of {delivery['accepted_requests']:,} accepted "
          f"trace requests received ({check}); {delivery['alert_requests']:,} alert log requests")
    end = result["end_metrics"]
    cores = result["processor_cores"]
    print(f"processor: {'n/a' if cores is None else f'{cores:.2f}'} cores on average over the "
          f"load; at the end {_num(end['otelaidetect_trace_state_traces'])} traces held, "
          f"{_num(end['otelaidetect_processor_alerts_produced_total'])} alerts produced")

    print("\nresident memory (RSS, MB = 10^6 bytes):")
    rows = [("after start-up (feeds loaded, before load)", _mb(result["startup_rss_mb"])),
            (f"after warm-up (t = {args.warmup:g} s)", _mb(summary["after_warmup_mb"])),
            (f"steady state (t >= {args.warmup:g} s): median", _mb(summary["steady_median_mb"])
             + f", max {_mb(summary['steady_max_mb'])} ({summary['samples_steady']} samples)"),
            ("peak of the process (VmHWM, start-up included)", _mb(result["vm_hwm_mb"]))]
    for label, value in rows:
        print(f"  {label:<48} {value}")
    slope = summary["slope_second_half_mb_per_min"]
    print(f"  growth: least-squares slope over the second half (t >= {args.duration / 2:g} s, "
          f"{summary['samples_second_half']} samples): "
          + ("n/a" if slope is None else f"{slope:+.3f} MB/min"))
    first, last = summary["first_minute_median_mb"], summary["last_minute_median_mb"]
    minute = f"{summary['minute_s']:g} s"
    print(f"  growth: median of the last {minute} minus median of the first {minute} after warm-up: "
          + ("n/a" if first is None or last is None else f"{last - first:+.1f} MB "
             f"({first:.1f} -> {last:.1f})"))
    if args.quick:
        print("  (quick run: 60 s are too short for the growth figure to mean anything)")
    print(f"  load average at the end: {_load()}")

    print(f"\nTarget: \"Memory: steady state under {TARGET_MB:g} MB resident with default feeds "
          f"loaded; no growth over a 10-minute run.\"")
    median = summary["steady_median_mb"]
    steady_ok = median is not None and summary["steady_max_mb"] < TARGET_MB
    print(f"steady RSS < {TARGET_MB:g} MB: median {_mb(median)}, max {_mb(summary['steady_max_mb'])} "
          f"({'met' if steady_ok else 'missed'}: the max must be under it)")
    growth = summary["growth_mb_per_10min"]
    growth_ok = growth is not None and growth < GROWTH_LIMIT_MB
    print(f"growth over the run: {'n/a' if growth is None else f'{growth:+.1f}'} MB/10 min "
          f"(second-half slope x 10; no growth = under {GROWTH_LIMIT_MB:g} MB/10 min) "
          f"({'met' if growth_ok else 'missed'}"
          + ("; not meaningful in a quick run)" if args.quick else ")"))
    if errors:
        print(f"\nERRORS ({len(errors)}):")
        for error in errors:
            print(f"  - {error}")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    info = machine_info(psutil is not None)
    if psutil is None:
        print("error: psutil is needed for RSS (pip install -e '.[bench]')", file=sys.stderr)
        return 1
    feeds = make_feeds(args.feed_scale)
    with tempfile.TemporaryDirectory(prefix="otel-ai-detect-mem-") as workdir:
        bench = Bench(args, Path(workdir))
        try:
            request_bytes = bench.start()
            bench.feeds = FeedServer(feeds)
            extra = feed_config(bench.feeds, Path(workdir) / "feed-cache")
            if args.max_traces is not None:
                extra["processor"] = {"trace_state": {"max_traces": args.max_traces}}
            print_header(info, args, feeds, request_bytes)
            baselines = [bench.baseline("B", "every detector off"),
                         bench.baseline("A-nofeeds", "every detector on, no feeds")]
            for b in baselines:
                print(f"baseline: {b['label']}: RSS after start-up {_mb(b['rss_mb'])}")
            if args.rate == "auto":
                saturation = bench.saturation(extra)
                rate = saturation / 2
                print(f"saturation with feeds (8 senders, 512-span requests, 6 s): "
                      f"{saturation:,.0f} spans/s; load at half: {rate:,.0f} spans/s")
            else:
                rate = args.rate
            result = bench.main_run(extra, rate)
            result["feed_requests"] = dict(bench.feeds.hits)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the processor, client, sink and feed server",
                  file=sys.stderr)
            return 130
        except Exception as error:
            print(f"\nerror: {type(error).__name__}: {error}", file=sys.stderr)
            for e in bench.errors:
                print(f"  - {e}", file=sys.stderr)
            return 1
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            bench.close()
    summary = summarize(result["samples"], args)
    print_results(result, summary, baselines, args, rate, bench.errors)
    print(f"\nfeed server answered {result['feed_requests']['200']} full GETs, "
          f"{result['feed_requests']['304']} not-modified; run time "
          f"{time.monotonic() - started:.0f} s")
    if args.json:
        document = {"machine": info, "parameters": {
            **{k: v for k, v in vars(args).items() if k != "json"}, "rate_spans_per_s": rate,
            "pattern": PATTERN, "malloc_env": MALLOC_ENV, "target_mb": TARGET_MB,
            "growth_limit_mb_per_10min": GROWTH_LIMIT_MB,
            "feeds": {n: {"entries": round(FEEDS[n][0] * args.feed_scale), "format": FEEDS[n][1],
                          "bytes": len(d)} for n, d in feeds.items()}},
            "baselines": baselines, **result, "summary": summary, "errors": bench.errors,
            "load_average_end": os.getloadavg()}
        Path(args.json).write_text(json.dumps(document, indent=2, default=str))
        print(f"wrote {args.json}")
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
