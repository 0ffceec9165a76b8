"""AI.AccessFromSuspiciousUserAgent: the caller's user agent names an attack tool.

Owns the signature list (``data/user_agents.txt``, plus an optional user file
in the same format) and matching it. All signatures compile into one RE2 set:
one linear-time pass over at most the first 2 KB of the user agent, whatever
the number of signatures, and no backtracking on a header the caller chose.

The list holds only tools whose default user agent is distinctive. HTTP
libraries and AI SDKs (python-requests, curl, OpenAI/Python, ...) are how
legitimate applications call a model, and never alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import ClassVar

import re2

from otel_ai_detect.config_types import UserAgentConfig
from otel_ai_detect.detectors.masking import evidence_text, short_hash
from otel_ai_detect.model import SOURCE_REQUEST, Finding, Peer
from otel_ai_detect.semconv import USER_AGENT_ORIGINAL

RULE = "AI.AccessFromSuspiciousUserAgent"
MAX_USER_AGENT = 2048  # bytes examined: real user agents are a few hundred at most
EVIDENCE_LIMIT = 200   # characters of the user agent shown in the evidence
CONFIDENCE = 0.9       # a default tool user agent is rarely sent by anything else
BUILTIN = "user_agents.txt"


@dataclass(frozen=True, slots=True)
class Signature:
    tool: str
    pattern: str
    origin: str  # "file:line", for error messages


class SignatureError(ValueError):
    """Every problem in a signature list, each with its file and line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid user-agent signatures:\n  " + "\n  ".join(problems))
        self.problems = problems


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False  # tools vary case across versions (Wfuzz, WPScan, nikto)
    options.never_capture = True    # the set only says which signature matched
    return options


def parse_signatures(text: str, origin: str) -> list[Signature]:
    """Parse ``<tool name><TAB><RE2 regex>`` lines; raise SignatureError listing every bad line.

    Lines that are blank or start with ``#`` are skipped. Each regex is
    compiled on its own so that an error names its line.
    """
    signatures: list[Signature] = []
    problems: list[str] = []
    options = _options()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{origin}:{number}"
        tool, tab, pattern = raw.partition("\t")
        tool, pattern = tool.strip(), pattern.strip()
        if not tab or not tool or not pattern:
            problems.append(f"{where}: expected '<tool name><TAB><regex>', got {line[:80]!r}")
            continue
        try:
            compiled = re2.compile(pattern, options)
        except re2.error as exc:
            problems.append(f"{where}: {tool}: invalid RE2 regex {pattern!r}: {exc}")
            continue
        if compiled.search("") is not None:
            problems.append(f"{where}: {tool}: {pattern!r} matches the empty string, "
                            "so it would match every user agent")
            continue
        signatures.append(Signature(tool, pattern, where))
    if problems:
        raise SignatureError(problems)
    return signatures


def builtin_signatures() -> list[Signature]:
    text = resources.files("otel_ai_detect.data").joinpath(BUILTIN).read_text("utf-8")
    return parse_signatures(text, BUILTIN)


def load_signatures(path: str) -> list[Signature]:
    """A user signature file; OSError and SignatureError propagate for config validation."""
    with open(path, encoding="utf-8") as f:
        return parse_signatures(f.read(), path)


class SignatureSet:
    """All signatures as one RE2 set: which tools does a user agent name?"""

    def __init__(self, signatures: list[Signature]) -> None:
        self.signatures = tuple(signatures)
        self._set = re2.Set.SearchSet(_options())
        for sig in self.signatures:
            self._set.Add(sig.pattern)
        self._set.Compile()

    def __len__(self) -> int:
        return len(self.signatures)

    def match(self, user_agent: str) -> tuple[str, ...]:
        """Names of the tools matched, in list order, without duplicates."""
        if not user_agent or not self.signatures:
            return ()
        # Encode ourselves: "replace" keeps lone surrogates from raising.
        data = user_agent[:MAX_USER_AGENT].encode("utf-8", "replace")[:MAX_USER_AGENT]
        hits = self._set.Match(data)
        if not hits:
            return ()
        return tuple(dict.fromkeys(self.signatures[i].tool for i in sorted(hits)))


class UserAgentDetector:
    """Alerts when the end user's user agent matches a known attack tool."""

    name: ClassVar[str] = "user_agent"

    def __init__(self, config: UserAgentConfig) -> None:
        self.config = config
        signatures = builtin_signatures()
        if config.signatures_file:
            signatures += load_signatures(config.signatures_file)
        self.signatures = SignatureSet(signatures)

    def match(self, user_agent: str) -> tuple[str, ...]:
        return self.signatures.match(user_agent)

    def detect_peer(self, peer: Peer) -> list[Finding]:
        if not self.config.enabled or not peer.user_agent:
            return []
        tools = self.signatures.match(peer.user_agent)
        if not tools:
            return []
        evidence = (f'user agent "{evidence_text(peer.user_agent, EVIDENCE_LIMIT)}" '
                    f"matches {', '.join(tools)}")
        return [Finding(rule=RULE, detector=self.name, confidence=CONFIDENCE,
                        source=SOURCE_REQUEST, path=USER_AGENT_ORIGINAL, evidence=evidence,
                        fingerprint=short_hash(peer.user_agent))]
