"""Phrase families of AI.Jailbreak.*: the data file, one compiled scan, and the score.

Owns ``data/jailbreak_phrases.txt`` (its format is described at the top of that
file): parsing it with every problem reported at once, expanding its shorthands
into the common RE2/Hyperscan subset, compiling every pattern into one
`MultiPattern`, and turning the families that fired into a confidence 0..1.

Scoring, in one place so it can be read and tuned:

- a family scores its strongest pattern, plus a damped share of its other
  patterns that fired (`family_weight`);
- attack families combine by noisy-OR, ``1 - prod(1 - w)``: two independent
  weak signals (0.3 and 0.3 -> 0.51) cross the default threshold, one does not;
- booster families (a harmful target, a request for exact steps) join the
  noisy-OR only when an attack family fired: "how to make a bomb" alone is a
  harmful request for the provider's content filter, not a jailbreak;
- combinations (``>> a + b >= s``) lift the score to at least ``s`` when all
  their families fired (fiction framing + a harmful target);
- a dampener (talk *about* attacks: defense, education, debugging one's own
  prompt) multiplies the result by ``1 - w``, so a strong attack still alerts
  while a question quoting one does not.

Cost: one linear-time scan per text; RE2 runs only to cut the excerpt of the
pattern that decided, on texts that alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Iterable, Mapping, Sequence

import re2

from otel_ai_detect.scanning import MultiPattern

ATTACK, BOOSTER, DAMPENER = "attack", "booster", "dampener"
KINDS = (ATTACK, BOOSTER, DAMPENER)
BUILTIN = "jailbreak_phrases.txt"

# Shorthands of the data file (these `re` run once, on our own patterns, at start-up).
_GAP = re.compile(r" ~(\d*) ")
_FAMILY = re.compile(r"==\s*(\w+)\s*\|\s*(\w+)\s*\|\s*(.+?)\s*$")
_COMBO = re.compile(r">>\s*([\w\s+]+?)\s*>=\s*([0-9.]+)\s*$")
_LEADING_GROUPS = re.compile(r"^(?:\((?:\?[-i]*:)?)*")


def expand(pattern: str) -> str:
    """The data-file shorthands -> a regex in the common RE2/Hyperscan subset."""
    out = _GAP.sub(lambda m: r"\W+(?:\w+\W+){0,%s}" % (m.group(1) or "3"), pattern)
    out = out.replace(" ?", r"\W*").replace(" ", r"\W+").replace("'", r"\W{0,3}")
    first = _LEADING_GROUPS.sub("", pattern)[:1]
    return (r"\b" + out) if first.isalpha() else out


@dataclass(frozen=True, slots=True)
class Pattern:
    family: str
    weight: float
    regex: str       # expanded
    caseless: bool
    origin: str      # "file:line", for error messages and tests


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    kind: str
    title: str


@dataclass(frozen=True, slots=True)
class Combo:
    families: frozenset[str]
    score: float


@dataclass(frozen=True, slots=True)
class Phrases:
    families: tuple[Family, ...]
    patterns: tuple[Pattern, ...]
    combos: tuple[Combo, ...]


class PhraseError(ValueError):
    """Every problem in a phrase file, each with its file and line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid jailbreak phrases:\n  " + "\n  ".join(problems))
        self.problems = problems


def _re2(regex: str, caseless: bool) -> re2._Regexp:
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1  # bytes, as the scan sees them
    options.case_sensitive = not caseless
    return re2.compile(regex.encode("ascii"), options)


def parse(text: str, origin: str = BUILTIN) -> Phrases:
    """Parse a phrase file; raise PhraseError listing every bad line."""
    families: dict[str, Family] = {}
    patterns: list[Pattern] = []
    combos: list[tuple[list[str], float, str]] = []
    problems: list[str] = []
    current: Family | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{origin}:{number}"
        if not line or line.startswith("#"):
            continue
        if line.startswith("=="):
            m = _FAMILY.fullmatch(line)
            if not m or m.group(2) not in KINDS:
                problems.append(f"{where}: expected '== <family> | attack|booster|dampener | "
                                f"<title>', got {line[:80]!r}")
                current = None
                continue
            if m.group(1) in families:
                problems.append(f"{where}: family {m.group(1)!r} defined twice")
            current = families[m.group(1)] = Family(m.group(1), m.group(2), m.group(3))
            continue
        if line.startswith(">>"):
            m = _COMBO.fullmatch(line)
            if not m:
                problems.append(f"{where}: expected '>> <family> + <family> >= <score>'")
                continue
            combos.append(([f.strip() for f in m.group(1).split("+")], float(m.group(2)), where))
            continue
        head, tab, pattern = raw.partition("\t")
        fields = head.split()
        try:
            weight = float(fields[0]) if fields else -1.0
        except ValueError:
            weight = -1.0
        if not tab or not pattern.strip() or not 0 < weight <= 1 or fields[1:] not in ([], ["cs"]):
            problems.append(f"{where}: expected '<weight 0..1>[ cs]<TAB><pattern>', "
                            f"got {line[:80]!r}")
            continue
        if current is None:
            problems.append(f"{where}: pattern outside a family")
            continue
        if not pattern.isascii():
            problems.append(f"{where}: pattern must be ASCII "
                            "(write .{1,2} for an accented letter)")
            continue
        regex, caseless = expand(pattern.strip()), fields[1:] != ["cs"]
        try:
            compiled = _re2(regex, caseless)
        except re2.error as exc:
            problems.append(f"{where}: invalid pattern {pattern.strip()[:60]!r}: {exc}")
            continue
        if compiled.search(b"") is not None:
            problems.append(f"{where}: pattern matches the empty string")
            continue
        patterns.append(Pattern(current.name, weight, regex, caseless, where))
    for names, score, where in combos:
        unknown = [n for n in names if n not in families]
        if unknown or not 0 < score <= 1:
            problems.append(f"{where}: unknown families {unknown} or score outside 0..1")
    if problems:
        raise PhraseError(problems)
    return Phrases(tuple(families.values()), tuple(patterns),
                   tuple(Combo(frozenset(n), s) for n, s, _ in combos))


def load_builtin() -> Phrases:
    text = resources.files("otel_ai_detect.data").joinpath(BUILTIN).read_text(encoding="utf-8")
    return parse(text, BUILTIN)


FAMILY_DECAY = 0.5  # a family's 2nd pattern counts half, its 3rd a quarter, ...


def family_weight(weights: Sequence[float]) -> float:
    """Several patterns of one family (strongest first): a damped noisy-OR.

    Two different phrasings of one tactic ("freed from its programming" + "does
    not follow any guidelines") say more than one, but less than two tactics.
    """
    keep = 1.0
    factor = 1.0
    for weight in weights:
        keep *= 1.0 - weight * factor
        factor *= FAMILY_DECAY
    return round(1.0 - keep, 4)


@dataclass(frozen=True, slots=True)
class Hits:
    """What one scan found: family -> (weight, pattern id) and the hint names that fired."""

    families: dict[str, tuple[float, int]]
    hints: frozenset[str]


class Ruleset:
    """The phrase families (and the decoder's hint patterns) compiled into one scan."""

    def __init__(self, phrases: Phrases, hints: Sequence[tuple[str, str]] = (),
                 engine: str | None = None) -> None:
        self.phrases = phrases
        self.kind = {f.name: f.kind for f in phrases.families}
        self.title = {f.name: f.title for f in phrases.families}
        self._patterns = phrases.patterns
        self._hint_names = tuple(name for name, _ in hints)
        regexes = [p.regex for p in self._patterns] + [r for _, r in hints]
        caseless = [p.caseless for p in self._patterns] + [True] * len(hints)
        self.scanner = MultiPattern(regexes, caseless=caseless, engine=engine)
        self._offsets: dict[int, re2._Regexp] = {}  # compiled on first excerpt only

    def scan(self, text: str) -> Hits:
        fired: dict[str, list[tuple[float, int]]] = {}
        hints: set[str] = set()
        n = len(self._patterns)
        for pid in self.scanner.matches(text):
            if pid >= n:
                hints.add(self._hint_names[pid - n])
            else:
                pattern = self._patterns[pid]
                fired.setdefault(pattern.family, []).append((pattern.weight, pid))
        families = {}
        for family, weights in fired.items():
            weights.sort(reverse=True)
            families[family] = (family_weight([w for w, _ in weights]), weights[0][1])
        return Hits(families, frozenset(hints))

    def score(self, families: Mapping[str, float]) -> float:
        """Families that fired (name -> weight) -> confidence 0..1 (see the module docstring)."""
        kinds = self.kind
        if not any(kinds[f] == ATTACK for f in families):
            return 0.0
        keep = 1.0
        damp = 0.0
        for name, weight in families.items():
            if kinds[name] == DAMPENER:
                damp = max(damp, weight)
            else:
                keep *= 1.0 - weight
        score = 1.0 - keep
        for combo in self.phrases.combos:
            if combo.score > score and combo.families.issubset(families):
                score = combo.score
        return round(score * (1.0 - damp), 4)

    def attack_families(self, families: Iterable[str]) -> list[str]:
        return [f for f in families if self.kind[f] == ATTACK]

    def excerpt(self, text: str, pattern_id: int) -> str:
        """The text the pattern matched (first match), for the evidence; "" if none."""
        compiled = self._offsets.get(pattern_id)
        if compiled is None:
            p = self._patterns[pattern_id]
            compiled = self._offsets[pattern_id] = _re2(p.regex, p.caseless)
        data = text.encode("utf-8", "surrogatepass")
        m = compiled.search(data)
        if m is None:
            return ""
        return data[m.start():m.end()].decode("utf-8", "replace").strip()
