"""The plain, frozen types that cross module boundaries, and the rule catalog.

Extractors produce a `Conversation` (and a `Peer`) from OTLP; detectors turn
them into `Finding`s; only the engine and `annotate` know OTLP. The catalog is
the contract of ../shared/ALERTS.md: names, titles, severities and tactics.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


# Roles a message can have. `unknown` is content whose role cannot be told
# (for example recovered from truncated JSON, or a raw request payload).
SYSTEM, USER, ASSISTANT, TOOL, UNKNOWN = "system", "user", "assistant", "tool", "unknown"


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of text in a message.

    kind: text | tool_call | tool_call_response | reasoning | raw | <other part type>
    path: where in the span or log record it came from, e.g.
          ``gen_ai.input.messages[2].parts[0].response``.
    """

    kind: str
    text: str
    path: str


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class FilterVerdict:
    """A provider or guardrail verdict recorded by the instrumentation.

    category: jailbreak | indirect_attack | hate | violence | ... | guardrail
    target:   prompt | completion
    """

    category: str
    filtered: bool
    detected: bool | None
    target: str
    path: str


@dataclass(frozen=True, slots=True)
class Peer:
    """Who is calling: the end user's address candidates and user agent.

    ``addresses`` lists every client address seen, most original first
    (leftmost X-Forwarded-For hop, Forwarded for=, X-Real-IP, client.address,
    then the socket peer). ``address`` is the first public one, else the first.
    """

    addresses: tuple[str, ...] = ()
    user_agent: str | None = None

    @property
    def address(self) -> str | None:
        from otel_ai_detect.netaddr import first_public  # local: keeps model import-light

        return first_public(self.addresses)

    @property
    def empty(self) -> bool:
        return not self.addresses and not self.user_agent


NO_PEER = Peer()


@dataclass(frozen=True, slots=True)
class Conversation:
    """The normalized view of one model call, whatever the convention."""

    inputs: tuple[Message, ...] = ()
    outputs: tuple[Message, ...] = ()
    finish_reasons: tuple[str, ...] = ()
    error_type: str | None = None
    # Status description and exception messages: where a provider's block
    # (content-policy error text) is visible when nothing else records it.
    error_messages: tuple[str, ...] = ()
    provider_filter: tuple[FilterVerdict, ...] = ()
    peer: Peer = NO_PEER
    convention: str = "unknown"

    @property
    def empty(self) -> bool:
        return not (self.inputs or self.outputs or self.finish_reasons or self.error_type
                    or self.error_messages or self.provider_filter)


class Severity(enum.Enum):
    """Alert severity and its OTLP SeverityNumber (ALERTS.md)."""

    LOW = ("Low", 9)      # INFO
    MEDIUM = ("Medium", 13)  # WARN
    HIGH = ("High", 17)   # ERROR

    @property
    def text(self) -> str:
        return self.value[0]

    @property
    def number(self) -> int:
        return self.value[1]


# Alert sources (ai.alert.source).
SOURCE_INPUT, SOURCE_OUTPUT, SOURCE_SYSTEM, SOURCE_TOOL, SOURCE_REQUEST = (
    "input", "output", "system", "tool", "request")


@dataclass(frozen=True, slots=True)
class Redaction:
    """A value the redactor masks in re-exported content, as ``[REDACTED:<kind>:<hash>]``.

    It holds the raw value so the redactor can find it; it lives only in memory
    for the duration of one request and is never written or logged (no repr).
    """

    kind: str       # e.g. aws-access-key-id, email-address
    value: str = field(repr=False)
    personal: bool = False  # personal data: masked only with redaction secrets_and_pii


@dataclass(frozen=True, slots=True)
class Finding:
    """One detection. ``evidence`` is already masked: no raw secret leaves a detector
    in anything that is written; ``redactions`` carries values to mask, in memory only.

    ``fingerprint`` identifies the finding for a stable alert id and for
    de-duplication (same content seen on a span and in a log record); it is a
    hash or a masked form, never the secret itself.
    """

    rule: str
    detector: str
    confidence: float
    source: str
    path: str
    evidence: str
    fingerprint: str = ""
    redactions: tuple[Redaction, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    title: str
    severity: Severity
    tactics: tuple[str, ...]
    techniques: tuple[str, ...]
    description: str
    version: str = "1.0.0"


def _rule(name, title, severity, tactics, techniques, description) -> tuple[str, Rule]:
    return name, Rule(name, title, severity, tuple(tactics), tuple(techniques), description)


CATALOG: dict[str, Rule] = dict([
    _rule("AI.CredentialTheftAttempt",
          "Credential theft attempt: credentials in a model response", Severity.MEDIUM,
          ["Credential Access", "Lateral Movement", "Exfiltration"],
          ["AML.T0057", "AML.T0055"],
          "A model response contains a credential: cloud keys, tokens, private keys, "
          "connection strings with passwords, JWTs."),
    _rule("AI.Jailbreak.BlockedAttempt", "Jailbreak attempt blocked", Severity.MEDIUM,
          ["Privilege Escalation", "Defense Evasion"], ["AML.T0054", "AML.T0051.000"],
          "A jailbreak or direct prompt injection was found in the input and the provider "
          "or a guardrail blocked the call."),
    _rule("AI.Jailbreak.DetectedAttempt", "Jailbreak attempt detected", Severity.MEDIUM,
          ["Privilege Escalation", "Defense Evasion"], ["AML.T0054", "AML.T0051.000"],
          "A jailbreak or direct prompt injection was found in the input and the call was "
          "not blocked."),
    _rule("AI.DataLeakInModelResponse.Sensitive",
          "Sensitive data exposure in a model response", Severity.LOW,
          ["Collection"], ["AML.T0057", "AML.T0024"],
          "A model response contains sensitive personal or financial data that the user "
          "did not supply in the same request."),
    _rule("AI.PhishingContentInModelResponse",
          "AI application directed a phishing URL at a user", Severity.HIGH,
          ["Impact (Defacement)"], ["AML.T0052", "AML.T0011.003"],
          "A known-phishing URL appears in the model response and not in the user's input."),
    _rule("AI.PhishingContentInAIApplication", "Phishing URL shared in an AI application",
          Severity.HIGH, ["Impact (Defacement)", "Collection"], ["AML.T0052", "AML.T0011.003"],
          "A known-phishing URL passed through the conversation with unclear origin: tool "
          "results, retrieved documents, system or earlier assistant turns."),
    _rule("AI.PhishingContentInUserPrompt", "Phishing attempt in a user prompt", Severity.HIGH,
          ["Collection"], ["AML.T0052", "AML.T0093"],
          "A known-phishing URL appears in a user message."),
    _rule("AI.AccessFromSuspiciousUserAgent", "Suspicious user agent", Severity.MEDIUM,
          ["Execution", "Reconnaissance", "Initial Access"], ["AML.T0006", "AML.T0040"],
          "The request's user agent matches a known attack tool or malicious agent."),
    _rule("AI.ASCIISmuggling", "ASCII smuggling prompt injection", Severity.HIGH,
          ["Impact"], ["AML.T0051.001", "AML.T0068"],
          "Invisible instructions are hidden in content: Unicode tag characters "
          "(U+E0000-U+E007F) or other invisible encodings."),
    _rule("AI.AccessFromAnonymizedIP", "Access from a Tor IP", Severity.HIGH,
          ["Execution"], ["AML.T0040"],
          "The end user's IP is a Tor exit node."),
])


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What the annotator copies from the GenAI call onto alert log records."""

    operation: str | None = None
    model: str | None = None
    provider: str | None = None
    provider_key: str = field(default="gen_ai.provider.name")
