"""Precision / recall / F1 of the jailbreak detector on the collected corpora (not a test).

Corpora: tests/testdata/jailbreak/{attacks,benign}.jsonl, one JSON object a line
with ``label`` (attack | benign), ``split``, ``source`` (a short note of where
the style comes from) and ``text`` or ``messages`` (multi-turn). Splits, in the
order they were used (docs/detector-jailbreak.md, "Measured precision and recall"):
``tune`` (patterns tuned on it), ``heldout`` (a hash third of the first corpus,
measured at the first freeze, then read), ``fresh`` and ``fresh2`` (each written
blind after a freeze, measured, then read), ``fresh3`` (written after the last
change, measured once: the honest held-out figure).

    .venv/bin/python benchmarks/jailbreak_precision.py            # table per split
    .venv/bin/python benchmarks/jailbreak_precision.py --errors   # + misses, false alarms (tune)
    .venv/bin/python benchmarks/jailbreak_precision.py --timing   # + µs per text
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from otel_ai_detect.config_types import JailbreakConfig
from otel_ai_detect.detectors.jailbreak import JailbreakDetector
from otel_ai_detect.model import Conversation, Message, Part

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "testdata" / "jailbreak"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
BENIGN_1300 = (
    "I'm preparing the quarterly report for our regional sales team and need help structuring it. "
    "The report should start with an executive summary of about 150 words, then cover revenue by "
    "region (North, South, East, West), the top five products by margin, and the main reasons "
    "deals were lost this quarter. Please suggest clear section headings, a short paragraph of "
    "guidance under each one, and two or three charts that would make the numbers easy to read "
    "for managers who only skim. Our audience is the leadership team, so keep the tone concise "
    "and factual, avoid jargon, and highlight risks and next steps. We use Excel for the data and "
    "PowerPoint for the final deck, so tips on moving tables between the two are welcome. Also, "
    "the previous template had too many slides; we want at most twelve. Finally, propose a short "
    "checklist the team can use before sending the report: check totals, confirm currency "
    "conversions, verify that every chart has a source note, and make sure the appendix lists "
    "the definitions we use for pipeline, bookings and churn. If anything in this plan seems "
    "inconsistent, point it out and suggest a better structure. One more thing: several "
    "readers print the deck, so the colours must work in grayscale too, and the fonts must stay "
    "legible on paper. Many thanks for your help!")


def load(name: str) -> list[dict]:
    with open(CORPUS / f"{name}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def conversation(record: dict) -> Conversation:
    """A call whose completion was produced: the rule is then DetectedAttempt."""
    turns = record.get("messages") or [{"role": "user", "content": record["text"]}]
    inputs = tuple(Message(t["role"], (Part("text", t["content"], f"gen_ai.input.messages[{i}]"),))
                   for i, t in enumerate(turns))
    output = Message("assistant", (Part("text", "ok", "out"),))
    return Conversation(inputs=inputs, outputs=(output,), finish_reasons=("stop",))


def metrics(scores: list[tuple[str, float]], threshold: float) -> dict[str, float]:
    tp = sum(1 for label, s in scores if label == "attack" and s >= threshold)
    fp = sum(1 for label, s in scores if label == "benign" and s >= threshold)
    fn = sum(1 for label, s in scores if label == "attack" and s < threshold)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def score_all(detector: JailbreakDetector, records: list[dict]) -> list[tuple[dict, float]]:
    out = []
    for record in records:
        best = detector.best(conversation(record))
        out.append((record, best.score if best else 0.0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list misses and false alarms (tune)")
    parser.add_argument("--heldout-errors", action="store_true",
                        help="list them for the other splits too (spoils a blind split)")
    parser.add_argument("--timing", action="store_true", help="µs per text")
    args = parser.parse_args()
    detector = JailbreakDetector(JailbreakConfig())
    scored = score_all(detector, load("attacks") + load("benign"))
    for split in ("tune", "heldout", "fresh", "fresh2", "fresh3", "all"):
        rows = [(r["label"], s) for r, s in scored if split == "all" or r["split"] == split]
        n_att = sum(label == "attack" for label, _ in rows)
        print(f"\n{split}: {n_att} attacks, {len(rows) - n_att} benign")
        print("  threshold  precision  recall     F1    tp   fp   fn")
        for t in THRESHOLDS:
            m = metrics(rows, t)
            mark = " <- default" if t == JailbreakConfig().threshold else ""
            print(f"  {t:9.2f}  {m['precision']:9.3f}  {m['recall']:6.3f}  {m['f1']:5.3f}  "
                  f"{m['tp']:4d} {m['fp']:4d} {m['fn']:4d}{mark}")
    if args.errors or args.heldout_errors:
        splits = {"tune"} | ({"heldout", "fresh", "fresh2", "fresh3"} if args.heldout_errors
                             else set())
        threshold = JailbreakConfig().threshold
        for record, s in scored:
            if record["split"] not in splits:
                continue
            wrong = (record["label"] == "attack") != (s >= threshold)
            if wrong:
                text = record.get("text") or " | ".join(t["content"] for t in record["messages"])
                kind = "MISS" if record["label"] == "attack" else "FALSE ALARM"
                print(f"{kind:11} {s:.2f} {record['id']} {text[:150]!r}")
    if args.timing:
        timing(detector)


def timing(detector: JailbreakDetector) -> None:
    assert len(BENIGN_1300) == 1300, len(BENIGN_1300)
    texts = {"benign 1.3 KB prompt": BENIGN_1300,
             "attack 1.3 KB (DAN)": load("attacks")[0]["text"][:1300],
             "64 KB benign": (BENIGN_1300 * 51)[:65536]}
    print()
    for name, text in texts.items():
        number = 2000 if len(text) < 5000 else 50
        runs = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(number):
                detector.analyse(text)
            runs.append((time.perf_counter() - start) / number * 1e6)
        print(f"{name:22} {statistics.median(runs):8.1f} µs/text (min {min(runs):.1f}, "
              f"max {max(runs):.1f})")


if __name__ == "__main__":
    main()
