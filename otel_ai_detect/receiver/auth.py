"""Bearer-token authentication of senders, as the Collector's `bearertokenauth` extension.

Both receivers share one `BearerAuth`: a request must carry
`authorization: Bearer <token>` (gRPC metadata / HTTP header, the scheme
case-insensitive). The check runs before the body is decoded and before
anything reaches the service, so an unauthenticated sender costs a header
comparison and nothing more.

The token is a secret: it never appears in a log line, an error message or a
repr, and neither does what a sender presented.
"""

from __future__ import annotations

import hmac
import logging
import threading
from email.message import Message
from typing import Any, BinaryIO

from google.rpc import code_pb2, status_pb2

from otel_ai_detect import otlp_json
from otel_ai_detect.config_types import AuthConfig

log = logging.getLogger(__name__)

SCHEME = "bearer"
REFUSAL = "missing or invalid bearer token"  # the one reason a sender is ever told
CHALLENGE = 'Bearer realm="otel-ai-detect"'  # the WWW-Authenticate of an HTTP 401


class AuthSetupError(ValueError):
    """The auth configuration cannot be used (an empty token, an unreadable file)."""


class BearerAuth:
    """Checks `authorization` values against one token; counts what it refuses."""

    def __init__(self, token: str, *, stats: Any = None, receiver: str = "") -> None:
        if not token:
            raise AuthSetupError(f"{receiver or 'receiver'}: the bearer token is empty")
        # Bytes: compare_digest on str accepts ASCII only, and a sender may send anything.
        self._expected = token.encode("utf-8")
        self._stats = stats  # the service's Stats, when there is one: signal "auth"
        self._lock = threading.Lock()
        self.refused = 0

    @classmethod
    def from_config(
        cls, config: AuthConfig | None, *, stats: Any = None, receiver: str = ""
    ) -> BearerAuth | None:
        """None when auth is off. The token file is read here, once (at receiver start)."""
        if config is None:
            return None
        token = config.bearer_token
        if config.bearer_token_file:
            try:
                with open(config.bearer_token_file, encoding="utf-8") as f:
                    token = f.read()
            except (OSError, UnicodeDecodeError) as exc:
                # The path and the error class, never the content.
                raise AuthSetupError(
                    f"{receiver or 'receiver'}: cannot read bearer_token_file "
                    f"{config.bearer_token_file!r} ({type(exc).__name__})"
                ) from None
        return cls((token or "").strip(), stats=stats, receiver=receiver)

    def __repr__(self) -> str:  # never the token
        return f"BearerAuth(refused={self.refused})"

    def check(self, authorization: str | bytes | None) -> bool:
        """True when `authorization` is ``Bearer <the token>``; else counts a refusal."""
        if self._matches(authorization):
            return True
        with self._lock:
            self.refused += 1
        if self._stats is not None:
            self._stats.add("auth", "refused")
        return False

    def _matches(self, authorization: str | bytes | None) -> bool:
        if isinstance(authorization, bytes):  # gRPC gives bytes for -bin keys only; be lenient
            authorization = authorization.decode("utf-8", "replace")
        scheme, _, presented = (authorization or "").strip().partition(" ")
        if scheme.lower() != SCHEME:
            presented = ""
        # Compared even when absent or malformed: the answer takes the same time either way.
        return hmac.compare_digest(presented.strip().encode("utf-8"), self._expected) and bool(
            presented
        )


def refusal_body(json: bool) -> bytes:
    """The google.rpc.Status body of an HTTP 401 (UNAUTHENTICATED), in the request's encoding."""
    status = status_pb2.Status(code=code_pb2.UNAUTHENTICATED, message=REFUSAL)
    return otlp_json.dumps(status).encode() if json else status.SerializeToString()


def discard_small_body(rfile: BinaryIO, headers: Message, limit: int) -> None:
    """Read and drop a refused request's body of at most `limit` bytes: never decoded or
    decompressed. Larger or chunked bodies are left unread (the connection is closed)."""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return
    try:
        remaining = int(headers.get("Content-Length", "0"))
    except ValueError:
        return
    if not 0 < remaining <= limit:
        return
    while remaining > 0:
        chunk = rfile.read(min(remaining, 64 * 1024))
        if not chunk:
            return
        remaining -= len(chunk)


def service_stats(consumer: Any) -> Any:
    """The consumer's `stats` when it counts like the service's `Stats`; else None."""
    stats = getattr(consumer, "stats", None)
    return stats if callable(getattr(stats, "add", None)) else None


def warn_if_cleartext(receiver: str, auth: BearerAuth | None, tls: Any, host: str) -> None:
    """A bearer token over plain TCP to a non-loopback address can be read off the wire."""
    if auth is None or (tls is not None and getattr(tls, "cert_file", None)):
        return
    if host in ("127.0.0.1", "::1", "localhost"):
        return
    log.warning(
        "%s: bearer token auth without TLS on %s: the token crosses the network in clear text",
        receiver,
        host or "all interfaces",
    )
