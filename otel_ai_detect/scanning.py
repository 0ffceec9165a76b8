"""One linear-time multi-pattern scan per text: which of many patterns match.

Detectors compile their patterns once into a `MultiPattern` and ask, per
text, which pattern ids fire; they then confirm only those candidates (RE2
for offsets, Python for checksums and context). Hyperscan does the scan:
measured ~6 µs per 1.3 KB text for 150 rules, and it stays fast on base64
blobs where an RE2 set falls to ~7 MB/s. Where the Hyperscan wheel is missing
(it ships for x86_64), an RE2 set does the same job. Neither backtracks, so a
prompt written to make a regex explode costs no more than any other.

Patterns are written in the common subset of both syntaxes (no lookaround,
no backreferences). Thread-safe: Hyperscan needs one scratch space per
concurrent scan, kept per thread.
"""

from __future__ import annotations

import threading
from typing import Sequence

import re2

try:
    import hyperscan
except ImportError:  # pragma: no cover - depends on the platform's wheel
    hyperscan = None


class MultiPattern:
    """Compile once; `matches(text)` is the hot path."""

    def __init__(self, patterns: Sequence[str], *, caseless: Sequence[bool] | None = None,
                 engine: str | None = None) -> None:
        self.patterns = tuple(patterns)
        caseless = tuple(caseless) if caseless is not None else (False,) * len(self.patterns)
        self.engine = engine or ("hyperscan" if hyperscan is not None else "re2")
        if not self.patterns:
            self._scan = lambda data: set()
        elif self.engine == "hyperscan":
            self._scan = self._hyperscan(caseless)
        else:
            self._scan = self._re2_set(caseless)

    def matches(self, text: str) -> set[int]:
        """Ids (indexes into `patterns`) of the patterns that match somewhere in `text`."""
        # surrogatepass: text decoded from truncated JSON may hold lone surrogates.
        return self._scan(text.encode("utf-8", "surrogatepass"))

    def _hyperscan(self, caseless: tuple[bool, ...]):
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        # No HS_FLAG_UTF8: text may hold lone surrogates (invalid UTF-8), which that
        # mode leaves undefined. Patterns are byte-oriented: write them in ASCII.
        base = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
        flags = [base | (hyperscan.HS_FLAG_CASELESS if c else 0) for c in caseless]
        database.compile(expressions=[p.encode() for p in self.patterns],
                         ids=list(range(len(self.patterns))), elements=len(self.patterns),
                         flags=flags)
        local = threading.local()

        def on_match(pattern_id, start, end, flags, found):
            found.add(pattern_id)

        def scan(data: bytes) -> set[int]:
            scratch = getattr(local, "scratch", None)
            if scratch is None:
                scratch = local.scratch = hyperscan.Scratch(database)
            found: set[int] = set()
            database.scan(data, match_event_handler=on_match, context=found, scratch=scratch)
            return found

        return scan

    def _re2_set(self, caseless: tuple[bool, ...]):
        options = re2.Options()
        options.encoding = re2.Options.Encoding.LATIN1  # bytes, as Hyperscan sees them
        options.max_mem = 64 << 20
        pattern_set = re2.Set.SearchSet(options)
        for pattern, fold in zip(self.patterns, caseless):
            pattern_set.Add(("(?i)" if fold else "") + pattern)
        pattern_set.Compile()

        def scan(data: bytes) -> set[int]:
            return set(pattern_set.Match(data) or ())

        return scan
