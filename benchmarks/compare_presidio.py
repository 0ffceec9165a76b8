"""Our sensitive-data path (prefilter, then Presidio on hits) against Presidio alone.

Both run in the same process on the same texts: deterministic ~1.3 KB model
answers with the numbers real answers carry (years, versions, prices, counts,
dates, ids, code), a few percent of them with planted personal data. Prints a
machine/versions header, texts per second of each path (median of the
repetitions, interleaved, min-max in brackets), their ratio, and the results
per entity of both paths, which must be identical.

    .venv/bin/python benchmarks/compare_presidio.py [--texts 1500] [--repeat 5] [--pii 0.03]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from otel_ai_detect.config_types import SensitiveDataConfig
from otel_ai_detect.detectors.sensitive_data import SensitiveDataDetector

SENTENCES = [
    "Revenue grew 12% year over year to $4.2 million in Q3 2024, driven by the enterprise segment.",
    "The number of active users reached 1,204,332 at the end of March, up from 985,100.",
    "Version 3.4.1 was released on 2024-03-15 and fixes the memory leak reported in 3.4.0.",
    "Run `pip install requests==2.32.3` and then restart the service on port 8080.",
    "The meeting is scheduled for 10:30 am on Tuesday, June 4th, in room 402.",
    "Your order #100234557 has shipped and should arrive within 3 to 5 business days.",
    "In 2023 the team closed 1,842 tickets, with a median resolution time of 4.5 hours.",
    "The function runs in O(n log n) time and uses about 256 MB for 10 million rows.",
    "Set the timeout to 30 seconds and the retry limit to 5 attempts with exponential backoff.",
    "The population of the city was 8,336,817 in the 2020 census, covering 783.8 square km.",
    "Use the ISO 8601 format, for example 2024-11-28T07:45:00Z, in every log record.",
    "The recipe needs 250 g of flour, 2 eggs and 125 ml of milk; bake at 180 C for 25 minutes.",
    "Our SLA guarantees 99.95% availability, which allows about 21.9 minutes of downtime a month.",
    "The commit 49104ae8adb239a20260a827a297e3f35147ccfc introduced the regression in the parser.",
    "Each request carries an id such as 3cc9095e-07d1-5fa9-8404-e12884eb4941 for tracing.",
    "The flight departs at 14:05 and lands at 17:40 local time; the gate closes 20 minutes "
    "earlier.",
    "If you need help, call the support desk during business hours or open a ticket online.",
    "The invoice INV-2024-118 totals $1,299.99 including 8.875% sales tax.",
    "Explain the difference between a process and a thread in simple terms, with an example.",
    "The model was trained on 1.4 trillion tokens with a context window of 128,000 tokens.",
    "Please summarize the attached meeting notes and list the action items by owner.",
    "Here is a short Python example:\n\n```python\nfor i in range(10):\n    print(i * 2)\n```",
    "The quarterly report lists 12 risks; 3 are rated high and need an owner by Friday.",
    "The table below compares the three plans:\n| plan | price | seats |\n| basic | $9 | 5 |\n"
    "| team | $29 | 25 |\n| business | $99 | 250 |",
]
PII = [
    "The card on file is 4111 1111 1111 1111, expiring 09/27.",
    "You can reach her at jane.roe+billing@mail.example.co.uk.",
    "His mobile number is +44 20 7946 0958.",
    "The SSN on the application is 219-09-9999.",
    "Please wire the amount to IBAN DE89 3704 0044 0532 0130 00.",
    "Send the BTC to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT.",
    "Her NHS number is 943 476 5919.",
    "The ITIN on the return is 912-70-1234.",
    "Call the customer on (212) 555-0123 after 6 pm.",
]


def texts(count: int, pii_share: float, seed: int = 1128) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words: list[str] = []
        size = rng.randint(1100, 1500)
        while sum(len(w) + 1 for w in words) < size:
            words.append(rng.choice(SENTENCES))
        if rng.random() < pii_share:
            words.insert(rng.randrange(len(words)), rng.choice(PII))
        out.append(" ".join(words))
    return out


def header(config: SensitiveDataConfig) -> None:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in (
        "presidio-analyzer", "spacy", "phonenumbers", "regex", "tldextract", "hyperscan",
        "google-re2"))
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}  {platform.node()}  {cpu}, {os.cpu_count()} CPUs")
    print(f"# Python {platform.python_version()} ({sys.implementation.name}), {versions}")
    print(f"# config: threshold {config.score_threshold}, entities {', '.join(config.entities)}")


def timed(fn, items) -> tuple[float, list]:
    start = time.perf_counter()
    found = [fn(text) for text in items]
    return time.perf_counter() - start, found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pii", type=float, default=0.03, help="share of texts with PII")
    args = parser.parse_args(argv)

    config = SensitiveDataConfig()
    header(config)
    start = time.perf_counter()
    detector = SensitiveDataDetector(config)
    print(f"# detector built in {time.perf_counter() - start:.2f} s (Presidio, blank spaCy "
          f"tokenizer, prefilter: {len(detector.prefilter.shapes)} shapes)")
    items = texts(args.texts, args.pii)
    planted = sum(any(p in t for p in PII) for t in items)
    mean = statistics.mean(map(len, items))
    passed = sum(bool(detector.prefilter.entities(t)) for t in items)
    print(f"# {len(items)} texts, mean {mean:.0f} chars, {planted} with planted PII "
          f"({100 * planted / len(items):.1f}%); prefilter passes {passed} "
          f"({100 * passed / len(items):.1f}%) to Presidio")
    print()

    ours, alone, results = [], [], {}
    for rep in range(args.repeat):  # interleaved, so drift hits both alike
        t_ours, results["ours"] = timed(detector.scan, items)
        t_alone, results["alone"] = timed(detector.engine.analyze_all, items)
        ours.append(t_ours)
        alone.append(t_alone)
        print(f"rep {rep + 1}: ours {len(items) / t_ours:8.0f} texts/s   Presidio alone "
              f"{len(items) / t_alone:6.0f} texts/s   ratio {t_alone / t_ours:5.1f}x")
    prefilter_s = min(timed(detector.prefilter.entities, items)[0] for _ in range(3))

    def rate(seconds: list[float]) -> str:
        rates = sorted(len(items) / s for s in seconds)
        return (f"{statistics.median(rates):8.0f} texts/s [{rates[0]:.0f}-{rates[-1]:.0f}]  "
                f"{1e6 * statistics.median(seconds) / len(items):7.1f} us/text")

    ratios = sorted(a / o for a, o in zip(alone, ours))
    print()
    print(f"prefilter + Presidio on hits  {rate(ours)}")
    print(f"Presidio alone, every text    {rate(alone)}")
    print(f"prefilter scan only           {1e6 * prefilter_s / len(items):7.1f} us/text")
    print(f"ratio (same run, per rep)     {statistics.median(ratios):.1f}x "
          f"[{ratios[0]:.1f}-{ratios[-1]:.1f}]  target >= 20x")
    print()

    def key(found) -> list:
        return [sorted((r.entity_type, r.start, r.end, round(r.score, 9)) for r in f)
                for f in found]

    counts = {name: Counter(r.entity_type for f in found for r in f)
              for name, found in results.items()}
    entities = sorted(set(counts["ours"]) | set(counts["alone"]))
    print(f"{'entity':16s} {'ours':>6s} {'alone':>6s}")
    for entity in entities:
        print(f"{entity:16s} {counts['ours'][entity]:6d} {counts['alone'][entity]:6d}")
    same = key(results["ours"]) == key(results["alone"])
    differing = sum(a != b for a, b in zip(key(results["ours"]), key(results["alone"])))
    print(f"findings identical (type, span, score on every text): {same}"
          + ("" if same else f" -- {differing} texts differ"))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
