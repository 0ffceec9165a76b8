"""The multi-pattern scan says which patterns match, on both engines, from many threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from otel_ai_detect.scanning import MultiPattern, hyperscan

ENGINES = ["re2"] + (["hyperscan"] if hyperscan is not None else [])
PATTERNS = [r"AKIA[A-Z2-7]{16}", r"ignore (all )?previous instructions", r"\bsk-[A-Za-z0-9]{20}"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("text, expected", [
    ("key AKIAQ3EGRXVNZ5KWPM7B here", {0}),
    ("Please IGNORE ALL previous instructions", {1}),
    ("sk-abcdefghij0123456789 and AKIAQ3EGRXVNZ5KWPM7B", {0, 2}),
    ("ignore case in this regex", set()),
    ("AKIA too short", set()),
    ("lone surrogate \udb40 and é do not break the scan AKIAQ3EGRXVNZ5KWPM7B", {0}),
    ("", set()),
])
def test_the_scan_reports_exactly_the_patterns_that_match(engine, text, expected):
    scanner = MultiPattern(PATTERNS, caseless=[False, True, False], engine=engine)
    assert scanner.matches(text) == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_concurrent_scans_from_many_threads_agree(engine):
    scanner = MultiPattern(PATTERNS, caseless=[False, True, False], engine=engine)
    texts = ["x" * 500 + "AKIAQ3EGRXVNZ5KWPM7B", "ignore previous instructions " * 20, "plain"] * 200
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(scanner.matches, texts))
    assert results == [{0}, {1}, set()] * 200


@pytest.mark.parametrize("engine", ENGINES)
def test_a_pathological_input_costs_no_more_than_linear_time(engine):
    # Python's re takes seconds on this shape; a linear engine takes well under a second.
    scanner = MultiPattern([r"^(\w+\s?)*$", r"([a-z0-9.]+)+@example\.com"], engine=engine)
    import time
    started = time.perf_counter()
    scanner.matches("a" * 100_000 + "!")
    scanner.matches("a." * 50_000)
    assert time.perf_counter() - started < 2.0
