"""Secrets inside a larger structure: private keys, key files, connection strings.

PEM blocks, GCP service-account JSON and PuTTY .ppk files; passwords in
database URIs and ADO.NET/ODBC/JDBC connection strings; Azure SAS signatures.
Split from `credential_checks` because these checks read a window of the text
(up to a PEM END line, the surrounding query or connection string) rather than
one token. A public key or a certificate never reaches them: the rules ask for
``PRIVATE KEY``.
"""

from __future__ import annotations

from urllib.parse import unquote

from otel_ai_detect.detectors.credential_checks import (Candidate, Verdict, b64decode, classes,
                                                         is_placeholder)

_DUMMY_PASSWORDS = frozenset({
    "password", "passwd", "pass", "pwd", "secret", "changeme", "admin", "root", "test",
    "user", "username", "guest", "default", "postgres", "mysql", "redis", "mongo", "sa",
    "rabbitmq", "qwerty", "letmein", "foo", "bar", "foobar", "none", "null", "mypassword",
    "yourpassword", "pass123", "password1", "password123", "secret123", "admin123", "p@ssw0rd",
    "hunter2", "example", "sample", "demo", "string", "value", "***", "xxx",
})
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]", "host.docker.internal")
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net", ".example", ".test", ".invalid")
_SCHEME_NOTES = ("postgresql", "postgres", "mysql", "mariadb", "mongodb+srv", "mongodb", "rediss",
                 "redis", "amqps", "amqp", "mssql", "sqlserver", "clickhouse", "cockroachdb",
                 "couchdb", "neo4j")
_PEM_LABELS = {"": "pkcs#8", "RSA": "rsa", "EC": "ec", "DSA": "dsa", "OPENSSH": "openssh",
               "PGP": "pgp", "ENCRYPTED": "pkcs#8 encrypted"}

_PEM_WINDOW = 20_000  # an RSA-8192 key is ~6.5 KB of PEM; JSON escapes add a little
_B64_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def _pem_lines(body: str) -> list[str]:
    """Lines of a PEM body, whether separated by newlines or by JSON escapes (``\\n``)."""
    while "\\\\" in body:  # escaped more than once
        body = body.replace("\\\\", "\\")
    body = body.replace("\\r", "\n").replace("\\n", "\n").replace("\r", "\n")
    return [line.strip() for line in body.split("\n")]


def _der_total(raw: bytes) -> int | None:
    """Length an ASN.1 SEQUENCE at the start of `raw` declares (header included)."""
    if len(raw) < 2 or raw[0] != 0x30:
        return None
    first = raw[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if not 1 <= n <= 3 or len(raw) < 2 + n:
        return None
    return 2 + n + int.from_bytes(raw[2:2 + n], "big")


def pem_block(data: bytes, begin: int) -> Verdict | None:
    """A PEM private-key block starting at `begin` (its ``-----BEGIN``), confirmed.

    BEGIN and END labels match; the body is base64 of a plausible length that
    decodes to the structure its label promises (an ASN.1 SEQUENCE of exactly
    the declared length, an OpenSSH key, OpenPGP packets). A block cut off by a
    telemetry length limit (no END, base64 up to the end of the text) counts at
    lower confidence. Public keys and certificates never reach here.
    """
    head_end = data.find(b"-----", begin + 11)
    if head_end < 0:
        return None
    label = data[begin + 11:head_end].decode("ascii", "replace")  # "RSA PRIVATE KEY"
    body_start = head_end + 5
    end = data.find(b"-----END ", body_start, body_start + _PEM_WINDOW)
    truncated = end < 0
    if truncated:
        if len(data) - body_start > _PEM_WINDOW:
            return None
        body = data[body_start:].decode("ascii", "replace").rstrip("\\")  # a cut escape
        stop = len(data)
    else:
        end_label_end = data.find(b"-----", end + 9, end + 60)
        if end_label_end < 0 or data[end + 9:end_label_end].decode("ascii", "replace") != label:
            return None
        body = data[body_start:end].decode("ascii", "replace")
        stop = end_label_end + 5
    lines = _pem_lines(body)
    encrypted = any(line.startswith("Proc-Type:") and "ENCRYPTED" in line for line in lines)
    kept = [line for line in lines if line and ":" not in line
            and not (line.startswith("=") and len(line) == 5)]  # headers; PGP CRC24
    joined = "".join(kept)
    if len(joined) < (200 if truncated else 60) or not _B64_BYTES.issuperset(joined.encode()):
        return None
    raw = b64decode(joined[: len(joined) // 4 * 4] if truncated else joined)
    if raw is None:
        return None
    # A known label's name; never the label as written (evidence carries no free text).
    kind_note = _PEM_LABELS.get(label.replace("PRIVATE KEY", "").replace("BLOCK", "").strip(),
                                "other")
    if "OPENSSH" in label:
        ok = raw.startswith(b"openssh-key-v1\x00")
    elif "PGP" in label:
        ok = bool(raw[0] & 0x80)
    elif encrypted:
        ok = True  # legacy encrypted PEM: the DER is ciphertext
        kind_note += " encrypted"
    else:
        total = _der_total(raw)
        ok = total is not None and (total >= len(raw) if truncated else total == len(raw))
    if not ok:
        return None
    note = kind_note + (", cut off by a length limit" if truncated else "")
    return Verdict(confidence=0.8 if truncated else None, note=note, span=(begin, stop),
                   key=joined, probe=joined[:60])


def private_key(c: Candidate) -> Verdict | None:
    return pem_block(c.data, c.start)


def gcp_service_account(c: Candidate) -> Verdict | None:
    """A service-account key file: ``"type": "service_account"``, a ``private_key`` PEM
    and a ``client_email`` nearby. The PEM is the secret that is reported and masked."""
    data = c.data
    lo, hi = max(0, c.start - 4000), min(len(data), c.end + 8000)
    field = data.find(b'private_key', lo, hi)
    while field >= 0 and data[field + 11:field + 14] == b"_id":
        field = data.find(b'private_key', field + 14, hi)
    if field < 0 or (b"client_email" not in data[lo:hi]
                     and b"gserviceaccount.com" not in data[lo:hi]):
        return None
    begin = data.find(b"-----BEGIN ", field, field + 64)
    if begin < 0:
        return None
    verdict = pem_block(data, begin)
    if verdict is None:
        return None
    return Verdict(confidence=verdict.confidence, note="service account",
                   span=verdict.span, key=verdict.key, probe=verdict.probe)


def putty_key(c: Candidate) -> Verdict | None:
    """A PuTTY .ppk file: header, then Private-Lines of base64, then Private-MAC."""
    data = c.data
    lines_at = data.find(b"Private-Lines:", c.start, c.start + _PEM_WINDOW)
    mac = data.find(b"Private-MAC:", max(lines_at, c.start), c.start + _PEM_WINDOW)
    if lines_at < 0 or mac < 0:
        return None
    stop = mac + 12
    while stop < len(data) and data[stop:stop + 1] in b" 0123456789abcdef":
        stop += 1
    lines = _pem_lines(data[lines_at:mac].decode("ascii", "replace"))
    private = "".join(lines[1:])  # after the "Private-Lines: N" line
    if len(private) < 40 or b64decode(private) is None:
        return None
    return Verdict(span=(c.start, stop), key=private, probe=private[:60], note="ppk")


# -- connection strings and signed URLs ------------------------------------------

def _query_around(c: Candidate) -> bytes:
    """The URL query string (or connection string) the candidate sits in."""
    data = c.data
    lo = max(0, c.start - 2000)
    cut = max(data.rfind(ch, lo, c.start) for ch in (b" ", b"\t", b"\n", b'"', b"'", b"<", b">"))
    start = cut + 1 if cut >= 0 else lo
    end = c.end
    limit = min(len(data), c.end + 500)
    while end < limit and data[end:end + 1] not in b" \t\n\"'<>":
        end += 1
    return data[start:end]


def azure_sas(c: Candidate) -> Verdict | None:
    """A SAS query: sv= (version), se= or si= (expiry or policy), sp= or si=, and a sig
    that is a URL-encoded base64 HMAC-SHA256."""
    query = _query_around(c).lower()
    if b"sv=" not in query or not (b"se=" in query or b"si=" in query):
        return None
    if not (b"sp=" in query or b"si=" in query):
        return None
    raw = b64decode(unquote(c.value))
    return Verdict(note="sas query") if raw is not None and len(raw) == 32 else None


_CONNECTION_KEYS = (b"server=", b"data source=", b"host=", b"user id=", b"uid=", b"user=",
                    b"initial catalog=", b"database=", b"jdbc:", b"provider=", b"address=",
                    b"addr=", b"port=", b"username=")


def _weak_password(value: str) -> bool:
    low = value.lower()
    return (len(value) < 4 or low in _DUMMY_PASSWORDS or is_placeholder(value)
            or value.startswith(("$", "%", "{", "[", "(", ":")) or not value.strip("*xX.#-_"))


def db_uri_password(c: Candidate) -> Verdict | None:
    """``scheme://user:password@host``: a password that is not a placeholder or a
    well-known dummy; at localhost/example hosts only strong-looking passwords count."""
    v = unquote(c.value)
    if _weak_password(v):
        return None
    data = c.data
    user_start = data.rfind(b"//", max(0, c.start - 80), c.start)
    user = data[user_start + 2:c.start - 1].decode("utf-8", "replace") if user_start >= 0 else ""
    if user and v.lower() == user.lower():
        return None
    host = data[c.end + 1:c.end + 80].split(b"/", 1)[0].split(b":", 1)[0].decode(
        "ascii", "replace").lower()
    dummy_host = host.startswith(_LOCAL_HOSTS) or host.endswith(_EXAMPLE_DOMAINS)
    if dummy_host and (len(v) < 10 or classes(v) < 2):
        return None
    before = data[max(0, user_start - 24):max(0, user_start)].decode("ascii", "replace").lower()
    scheme = next((name for name in _SCHEME_NOTES if name in before), "database")
    return Verdict(note=f"{scheme} URI")


def connection_string_password(c: Candidate) -> Verdict | None:
    """``Password=`` / ``Pwd=`` inside an ADO.NET, ODBC or JDBC connection string.

    The value must end where a connection string's value ends (``;``, ``&``, a
    quote, a blank, the end), and the string must hold ``;``-separated settings
    or be a JDBC URL, with a server, host or user setting: this keeps keyword
    arguments in code (``password=password,``) out.
    """
    if c.data[c.end:c.end + 1] not in _VALUE_ENDS or _weak_password(unquote(c.value)):
        return None
    window = c.data[max(0, c.start - 300):c.end + 300].lower()
    if not (b";" in window or b"jdbc:" in window) or not any(k in window for k in _CONNECTION_KEYS):
        return None
    return Verdict(note="connection string")


_VALUE_ENDS = frozenset((b"", b";", b"&", b'"', b"'", b" ", b"\t", b"\r", b"\n", b"\\", b"}"))
