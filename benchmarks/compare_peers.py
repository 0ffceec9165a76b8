"""Our detectors against the peers users would otherwise run, on the same texts (not a test).

Sections (each a function called from `main`, printing its own table):

- ``credentials``: our `CredentialsDetector` vs detect-secrets 1.5 (`scan_line`
  under `default_settings()`, every default plugin, line by line as it works).
  Throughput on ~1.3 KB model responses (20 % with a planted credential), the
  ratio (target: ours >= 300x), recall on texts with exactly one planted
  credential of a known family (a finding counts when its value and the planted
  one overlap), and false positives on benign look-alikes.

- ``pii``: our `SensitiveDataDetector` (prefilter, then Presidio only on hits) vs
  Presidio alone on every text (`compare_presidio.py`): texts per second, the
  ratio (target: ours >= 20x), and the findings, which must be identical.

To add a section, write ``<name>_section(args)`` and list it in SECTIONS.
Texts come from `_corpus.py` (seeded: the same on every run).

    .venv/bin/python benchmarks/compare_peers.py
    .venv/bin/python benchmarks/compare_peers.py --section credentials --quick
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).parent))

import _corpus  # noqa: E402

from otel_ai_detect.config_types import CredentialsConfig  # noqa: E402
from otel_ai_detect.detectors.credentials import CredentialsDetector  # noqa: E402
from otel_ai_detect.model import Conversation, Message, Part  # noqa: E402

OUT = "gen_ai.output.messages[0].parts[0].content"


# --- shared helpers -----------------------------------------------------------------

from _bench_report import cpu_model, version  # noqa: E402  (the machine header, as throughput.py)


def header() -> None:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    print(f"machine  {cpu_model()}, {os.cpu_count()} CPUs, {platform.platform()}, "
          f"load {load[0]:.2f}")
    print(f"python   {platform.python_version()} ({platform.python_implementation()})")
    print("versions " + ", ".join(f"{d} {version(d)}" for d in (
        "otel-ai-detect", "hyperscan", "google-re2", "detect-secrets")))
    print(f"date     {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(median, min, max) seconds of `repeat` calls of fn."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs), max(runs)


def answer(text: str) -> Conversation:
    return Conversation(outputs=(Message("assistant", (Part("text", text, OUT),)),))


def overlaps(found: str, planted: str, minimum: int = 8) -> bool:
    """A reported value names the planted credential: one holds the other, or they share
    `minimum` consecutive characters. detect-secrets' typed plugins sometimes report only
    a token's prefix (its GitHub plugin reports "ghp"): pass a smaller minimum for them."""
    if planted in found or (len(found) >= minimum and found in planted):
        return True
    return any(found[i:i + 12] in planted for i in range(len(found) - 11))


# --- credentials ----------------------------------------------------------------------

def _detect_secrets():
    """(per_line, per_text, settings) or None if missing.

    `scan_line` is detect-secrets' API for a string. Line by line is how it is
    meant to run (its filters and keyword rules think in lines); the whole text
    in one call is faster, so the speed ratio is taken against that (the
    conservative choice) and recall against whichever finds more.
    """
    try:
        from detect_secrets.core.scan import scan_line
        from detect_secrets.settings import default_settings
    except ImportError:
        return None

    def per_line(text: str) -> list[tuple[str, str]]:
        return [(s.type, s.secret_value or "") for line in text.splitlines()
                for s in scan_line(line)]

    def per_text(text: str) -> list[tuple[str, str]]:
        return [(s.type, s.secret_value or "") for s in scan_line(text)]
    return per_line, per_text, default_settings


ENTROPY_PLUGINS = ("Base64 High Entropy String", "Hex High Entropy String")


def credentials_section(args: argparse.Namespace) -> None:
    print("\n== credentials: CredentialsDetector vs detect-secrets (scan_line, default plugins) ==")
    detector = CredentialsDetector(CredentialsConfig())
    print(f"ours: {len(detector.rules)} rules, {len({r.family for r in detector.rules})} families, "
          f"engine {detector._scanner.engine}")
    peer = _detect_secrets()
    if peer is None:
        print("detect-secrets is not installed: `pip install detect-secrets==1.5.0`")
    traffic = _corpus.traffic(120 if args.quick else 400)
    positives = _corpus.labelled_positives(1 if args.quick else 3)
    benign = _corpus.benign_texts(3 if args.quick else 10)
    convs = [answer(t) for t in traffic]
    n = len(traffic)

    def ours_pass() -> None:
        for conv in convs:
            detector.detect(conv)

    # Rounds interleave the two scanners, so a noisy neighbour slows both alike; each
    # round's ratio compares two numbers measured seconds apart. Ours is repeated
    # within a round to time a long enough window.
    rounds, inner = (2, 10) if args.quick else (5, 20)
    ours_pass()
    ours_t, whole_t, ratios = [], [], []
    per_line = per_text = settings = None
    if peer is not None:
        per_line, per_text, settings = peer
    with settings() if settings else _nothing():
        if per_text:
            per_text(traffic[0])
        for _ in range(rounds):
            ours_t.append(timed(ours_pass, inner)[0])
            if per_text:
                whole_t.append(timed(lambda: [per_text(t) for t in traffic], 1)[0])
                ratios.append(whole_t[-1] / ours_t[-1])
        lines_t = timed(lambda: [per_line(t) for t in traffic], 1)[0] if per_line else None
        scans = {}
        if per_text:
            scans = {mode: ([scan(item.text) for item in positives], [scan(t) for t in benign])
                     for mode, scan in (("whole text", per_text), ("line by line", per_line))}

    print(f"\nthroughput: {n} model responses, mean {statistics.mean(map(len, traffic)):.0f} chars, "
          f"{sum(1 for t in traffic if detector.scan(t))} holding a credential we confirm; "
          f"{rounds} interleaved rounds")
    print(f"  {'scanner':42} {'us/text':>9} {'texts/s':>9}   per round, us/text")
    rows = [("ours: detect()", ours_t)]
    if per_text:
        rows += [("detect-secrets: scan_line, whole text", whole_t),
                 ("detect-secrets: scan_line, line by line", [lines_t])]
    for name, runs in rows:
        med = statistics.median(runs)
        print(f"  {name:42} {med / n * 1e6:9.1f} {n / med:9.0f}   "
              + " ".join(f"{r / n * 1e6:.1f}" for r in runs))
    if ratios:
        ratio = statistics.median(ratios)
        verdict = "meets" if ratio >= 300 else "MISSES"
        print(f"  ratio (detect-secrets whole text / ours, median of rounds): {ratio:.0f}x "
              f"[{min(ratios):.0f}-{max(ratios):.0f}]; {verdict} the 300x target")

    def hit(found: list[tuple[str, str]], item: _corpus.Labelled) -> bool:
        return any(overlaps(v, item.secret, 8 if t in ENTROPY_PLUGINS else 3) for t, v in found)

    ours_pos = [[("ours", r.value) for f in detector.detect(answer(item.text)) for r in f.redactions]
                for item in positives]
    ours_ben = [detector.detect(answer(text)) for text in benign]

    def recall_line(name: str, values: list[list[tuple[str, str]]]) -> None:
        found = [hit(v, item) for v, item in zip(values, positives)]
        missed = sorted({item.family for ok, item in zip(found, positives) if not ok})
        print(f"  {name:48} {sum(found):4}/{len(positives)} = {sum(found) / len(positives):6.1%}"
              f"   misses: {', '.join(missed) or 'none'}")

    print(f"\nrecall: {len(positives)} texts, one planted credential each, "
          f"{len(_corpus.FAMILIES)} families (a finding counts if its value overlaps the planted one)")
    recall_line("ours", ours_pos)
    for mode, (their_pos, _) in scans.items():
        recall_line(f"detect-secrets, {mode}", their_pos)
        recall_line(f"detect-secrets, {mode}, no entropy plugins",
                    [[(t, v) for t, v in f if t not in ENTROPY_PLUGINS] for f in their_pos])

    print(f"\nfalse positives: {len(benign)} benign texts (prose, code, hashes, UUIDs, base64 "
          "blobs and images, public keys, certificates, doc examples, placeholders)")
    print(f"  {'ours':48} {sum(map(bool, ours_ben)):4}/{len(benign)} texts alerted")
    for mode, (_, their_ben) in scans.items():
        strict = [[t for t, _ in f if t not in ENTROPY_PLUGINS] for f in their_ben]
        types = sorted({t for f in strict for t in f})
        print(f"  {'detect-secrets, ' + mode:48} {sum(map(bool, their_ben)):4}/{len(benign)} flagged")
        print(f"  {'detect-secrets, ' + mode + ', no entropy plugins':48} "
              f"{sum(map(bool, strict)):4}/{len(benign)} flagged ({', '.join(types) or '-'})")


@contextlib.contextmanager
def _nothing():
    yield


def pii_section(args: argparse.Namespace) -> None:
    """Our personal-data path (prefilter + Presidio on hits) vs Presidio alone on every text:
    texts per second, the ratio (target >= 20x), and the findings, which must be identical."""
    import compare_presidio

    print("\n== personal data: SensitiveDataDetector vs Presidio alone ==")
    compare_presidio.main(["--texts", "300", "--repeat", "2"] if args.quick else [])


SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {
    "credentials": credentials_section,
    "pii": pii_section,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--section", action="append", choices=sorted(SECTIONS),
                        help="run only this section (repeatable); default: all")
    parser.add_argument("--quick", action="store_true", help="fewer texts and repetitions")
    args = parser.parse_args(argv)
    header()
    for name in args.section or list(SECTIONS):
        SECTIONS[name](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
