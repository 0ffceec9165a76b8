"""Deterministic, seeded texts for the peer benchmarks (not a test).

- `traffic(n)`: ~1.3 KB model responses (prose, code, configs), about 20 % with
  one planted secret: the throughput corpus.
- `labelled_positives(per_family)`: short texts, each with exactly one planted
  credential of a known family, for recall.
- `benign_texts()`: texts with no credential that look like one to a naive
  scanner (hashes, UUIDs, base64 blobs and images, public keys, certificates,
  documentation examples, placeholders, prose and code), for false positives.

Every credential is synthetic: random characters in the family's shape, with
its checksum or structure computed where it has one. None is a live secret.
The same seed gives the same texts on every run and machine.
"""

from __future__ import annotations

import base64
import json
import random
import string
import zlib
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote

SEED = 20261128
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
UPPER32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
UPNUM = string.ascii_uppercase + string.digits
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


@dataclass(frozen=True)
class Labelled:
    family: str
    text: str
    secret: str   # the planted value, exactly as it appears in `text`


# --- primitives -------------------------------------------------------------------

def _s(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _based(n: int, digits: str, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, len(digits))
        out = digits[r] + out
    return out.rjust(width, digits[0])


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + body


def _pem(label: str, raw: bytes, newline: str = "\n") -> str:
    body = _b64(raw)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return newline.join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


def _rsa_der(rng: random.Random) -> bytes:
    ints = [b"\x00", b"\x00" + rng.randbytes(256), b"\x01\x00\x01"]
    ints += [b"\x00" + rng.randbytes(128) for _ in range(5)]
    return _der(0x30, b"".join(_der(0x02, i) for i in ints))


def _github(rng: random.Random, prefix: str) -> str:
    body = _s(rng, 30)
    return f"{prefix}_{body}{_based(zlib.crc32(body.encode()), BASE62, 6)}"


def _gitlab(rng: random.Random) -> str:
    payload = _b64url(b"c:1\no:1\nu:" + _s(rng, 5, HEX).encode() + rng.randbytes(16) + b"\x10")
    head = f"glpat-{payload}.01.{_based(len(payload), string.digits + string.ascii_lowercase, 2)}"
    return head + _based(zlib.crc32(head.encode()), string.digits + string.ascii_lowercase, 7)


def _age(rng: random.Random) -> str:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    hrp = "age-secret-key-"
    data = [rng.randrange(32) for _ in range(52)]
    chk = 1
    for v in [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp] + data + [0] * 6:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    mod = chk ^ 1
    data += [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    return (hrp + "1" + "".join(BECH32[d] for d in data)).upper()


def _pypi(rng: random.Random) -> str:
    ident = ("b" + _s(rng, 31)).encode()
    return "pypi-" + _b64url(b"\x02\x01\x08pypi.org\x02" + bytes([len(ident)]) + ident
                             + b"\x00\x00\x06\x20" + rng.randbytes(32))


def _jwt(rng: random.Random) -> str:
    head = {"alg": rng.choice(["RS256", "HS256", "ES256"]), "typ": "JWT"}
    claims = {"sub": _s(rng, 12), "iss": "https://login.example-idp.test", "exp": 4102444800,
              "scope": "read write"}
    return ".".join([_b64url(json.dumps(head).encode()), _b64url(json.dumps(claims).encode()),
                     _b64url(rng.randbytes(64))])


def _gcp(rng: random.Random) -> str:
    return json.dumps({"type": "service_account", "project_id": "proj-" + _s(rng, 6, HEX),
                       "private_key_id": _s(rng, 40, HEX),
                       "private_key": _pem("PRIVATE KEY", _rsa_der(rng)) + "\n",
                       "client_email": "svc@proj.iam.gserviceaccount.com"}, indent=2)


def _sas(rng: random.Random) -> str:
    return quote(_b64(rng.randbytes(32)), safe="")


# family -> (template with {} for the secret, secret generator). Templates put the
# secret where a model would: .env lines, JSON, code, prose, curl headers.
FAMILIES: dict[str, tuple[str, Callable[[random.Random], str]]] = {
    "github": ("export GITHUB_TOKEN={}", lambda r: _github(r, "ghp")),
    "github-fine-grained": ('token = "{}"', lambda r: f"github_pat_{_s(r, 22)}_{_s(r, 59)}"),
    "npm": ("//registry.npmjs.org/:_authToken={}", lambda r: _github(r, "npm")),
    "gitlab": ("curl -H 'PRIVATE-TOKEN: {}' https://gitlab.com/api/v4/user", _gitlab),
    "pypi": ("[pypi]\n  username = __token__\n  password = {}", _pypi),
    "aws-access-key-id": ("aws_access_key_id = {}", lambda r: "AKIA" + _s(r, 16, UPPER32)),
    "aws-secret-access-key": ("aws_secret_access_key = {}", lambda r: _s(r, 40, B64)),
    "aws-bedrock": ("export AWS_BEARER_TOKEN_BEDROCK={}",
                    lambda r: "ABSK" + _b64(b"BedrockAPIKey-" + _s(r, 4).encode() + b"-at-"
                                            + _s(r, 12, string.digits).encode() + b":"
                                            + r.randbytes(40))),
    "azure-storage": ("DefaultEndpointsProtocol=https;AccountName=acct{};EndpointSuffix=core.windows.net",
                      None),  # filled below (needs the key inside a longer string)
    "azure-sas": ("https://acct.blob.core.windows.net/c/f.pdf?sv=2022-11-02&sp=r&se=2031-01-01T00:00:00Z"
                  "&sr=b&sig={}", _sas),
    "azure-entra": ('client_secret="{}"', lambda r: _s(r, 3) + "8Q~" + _s(r, 34, ALNUM + "_-")),
    "gcp-service-account": ("{}", _gcp),
    "gcp-api-key": ("const firebaseKey = '{}';", lambda r: "AIza" + _s(r, 35, URLSAFE)),
    "google-oauth": ('"client_secret": "{}"', lambda r: "GOCSPX-" + _s(r, 28, URLSAFE)),
    "openai": ("OPENAI_API_KEY={}",
               lambda r: "sk-proj-" + _s(r, 74, URLSAFE) + "T3BlbkFJ" + _s(r, 74, URLSAFE)),
    "anthropic": ("client = Anthropic(api_key=\"{}\")",
                  lambda r: "sk-ant-api03-" + _s(r, 93, URLSAFE) + "AA"),
    "huggingface": ("HF_TOKEN={}", lambda r: "hf_" + _s(r, 34)),
    "groq": ("GROQ_API_KEY={}", lambda r: "gsk_" + _s(r, 52)),
    "xai": ("XAI_API_KEY={}", lambda r: "xai-" + _s(r, 80)),
    "perplexity": ("PPLX_API_KEY={}", lambda r: "pplx-" + _s(r, 48)),
    "replicate": ("REPLICATE_API_TOKEN={}", lambda r: "r8_" + _s(r, 37)),
    "openrouter": ("OPENROUTER_API_KEY={}", lambda r: "sk-or-v1-" + _s(r, 64, HEX)),
    "deepseek": ("DEEPSEEK_API_KEY={}", lambda r: "sk-" + _s(r, 32, HEX)),
    "slack": ("SLACK_BOT_TOKEN={}", lambda r: f"xoxb-{_s(r, 12, string.digits)}-"
              f"{_s(r, 13, string.digits)}-{_s(r, 24)}"),
    "slack-webhook": ("webhook: {}", lambda r: "https://hooks.slack.com/services/T" + _s(r, 10, UPNUM)
                      + "/B" + _s(r, 10, UPNUM) + "/" + _s(r, 24)),
    "stripe": ("stripe.api_key = '{}'", lambda r: "sk_live_" + _s(r, 99)),
    "twilio": ("TWILIO_API_KEY={}", lambda r: "SK" + _s(r, 32, HEX)),
    "sendgrid": ("SENDGRID_API_KEY={}", lambda r: f"SG.{_s(r, 22, URLSAFE)}.{_s(r, 43, URLSAFE)}"),
    "mailgun": ("MAILGUN_API_KEY={}", lambda r: "key-" + _s(r, 32, HEX)),
    "mailchimp": ("MAILCHIMP_KEY={}", lambda r: _s(r, 32, HEX) + "-us" + str(r.randrange(1, 21))),
    "shopify": ("SHOPIFY_TOKEN={}", lambda r: "shpat_" + _s(r, 32, HEX)),
    "digitalocean": ("DIGITALOCEAN_TOKEN={}", lambda r: "dop_v1_" + _s(r, 64, HEX)),
    "databricks": ("DATABRICKS_TOKEN={}", lambda r: "dapi" + _s(r, 32, HEX)),
    "doppler": ("DOPPLER_TOKEN={}", lambda r: "dp.pt." + _s(r, 43)),
    "vault": ("VAULT_TOKEN={}", lambda r: "hvs." + _s(r, 90, URLSAFE)),
    "terraform": ('token = "{}"', lambda r: _s(r, 14) + ".atlasv1." + _s(r, 67, URLSAFE)),
    "grafana": ("GRAFANA_TOKEN={}", lambda r: "glsa_" + _s(r, 32) + "_" + _s(r, 8, HEX)),
    "sentry": ("SENTRY_AUTH_TOKEN={}", lambda r: "sntryu_" + _s(r, 64, HEX)),
    "postman": ("POSTMAN_API_KEY={}", lambda r: f"PMAK-{_s(r, 24, HEX)}-{_s(r, 34, HEX)}"),
    "linear": ("LINEAR_API_KEY={}", lambda r: "lin_api_" + _s(r, 40)),
    "atlassian": ("JIRA_API_TOKEN={}", lambda r: "ATATT3" + _s(r, 186, URLSAFE)),
    "notion": ("NOTION_TOKEN={}", lambda r: "ntn_" + _s(r, 11, string.digits) + _s(r, 35)),
    "1password": ("OP_SERVICE_ACCOUNT_TOKEN={}", lambda r: "ops_" + _b64(json.dumps(
        {"signInAddress": "my.1password.com", "email": _s(r, 8) + "@1passwordserviceaccounts.com",
         "secretKey": _s(r, 40), "srpX": _s(r, 64, HEX)}).encode())),
    "telegram": ("bot = Bot(token='{}')", lambda r: _s(r, 10, string.digits) + ":AA" + _s(r, 33, URLSAFE)),
    "discord": ("DISCORD_TOKEN={}", lambda r: _b64url(("1" + _s(r, 17, string.digits)).encode())
                + "." + _s(r, 6, URLSAFE) + "." + _s(r, 38, URLSAFE)),
    "alibaba": ("ALIBABA_CLOUD_ACCESS_KEY_ID={}", lambda r: "LTAI" + _s(r, 20)),
    "square": ("SQUARE_ACCESS_TOKEN={}", lambda r: "EAAA" + _s(r, 60, URLSAFE)),
    "flyio": ("FLY_API_TOKEN={}", lambda r: "fo1_" + _s(r, 43, URLSAFE)),
    "age": ("# age key\n{}", _age),
    "private-key-rsa": ("{}", lambda r: _pem("RSA PRIVATE KEY", _rsa_der(r))),
    "private-key-openssh": ("{}", lambda r: _pem("OPENSSH PRIVATE KEY",
                                                  b"openssh-key-v1\x00" + r.randbytes(380))),
    "private-key-json-escaped": ('{{"key": "{}"}}', lambda r: _pem("PRIVATE KEY", _rsa_der(r), "\\n")),
    "jwt": ("Authorization: Bearer {}", _jwt),
    "postgres-uri": ("DATABASE_URL=postgresql://app:{}@db.prod.internal:5432/app",
                     lambda r: _s(r, 16)),
    "mongodb-uri": ("mongodb+srv://svc:{}@cluster0.abcde.mongodb.net/app", lambda r: _s(r, 16)),
    "ado-connection-string": ("Server=tcp:db.database.windows.net,1433;Initial Catalog=app;"
                              "User ID=app;Password={};Encrypt=True;", lambda r: _s(r, 16)),
}


def _secret(family: str, rng: random.Random) -> tuple[str, str]:
    """(text, secret) for one family."""
    template, make = FAMILIES[family]
    if family == "azure-storage":
        key = _b64(rng.randbytes(64))
        return template.format(";AccountKey=" + key), key
    secret = make(rng)
    return template.replace("{{", "{").replace("}}", "}").replace("{}", secret), secret


# --- filler -----------------------------------------------------------------------

PROSE = [
    "The deployment pipeline failed at the integration test stage with a timeout error.",
    "Please summarize the attached meeting notes and list the action items by owner.",
    "To rotate credentials, create a new key, update the service, then revoke the old one.",
    "Our quarterly revenue grew 12% while support tickets dropped by a third.",
    "Use environment variables or a secret manager instead of hard-coding tokens.",
    "The function returns a list of users sorted by their last login timestamp.",
    "Caching the compiled patterns avoids recompiling them on every request.",
    "In Kubernetes, mount the secret as a volume and read it at startup.",
]
CODE = [
    "def handler(event, context):\n    body = json.loads(event['body'])\n    return {'statusCode': 200}",
    "for (const item of items) {\n  total += item.price * item.quantity;\n}",
    "SELECT id, email FROM users WHERE created_at > NOW() - INTERVAL '7 days';",
    "services:\n  api:\n    image: ghcr.io/acme/api:1.4.2\n    ports: ['8080:8080']",
    "FROM python:3.11-slim\nRUN pip install --no-cache-dir -r requirements.txt",
    "key = os.environ['OPENAI_API_KEY']\nclient = OpenAI(api_key=key)",
    "git checkout -b feature/login && git commit -m 'Add login form'",
]


def _filler(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        parts.append(rng.choice(PROSE) if rng.random() < 0.6 else "```\n" + rng.choice(CODE) + "\n```")
    return "\n".join(parts)[:size]


# --- the corpora ------------------------------------------------------------------

def labelled_positives(per_family: int = 3) -> list[Labelled]:
    out = []
    for family in FAMILIES:
        for i in range(per_family):
            rng = random.Random(f"{SEED}/pos/{family}/{i}")
            text, secret = _secret(family, rng)
            lead = rng.choice(["Sure! Here is the config you asked for:\n", "Found it in the repo: ",
                               "", "The old value was:\n"])
            out.append(Labelled(family, lead + text + "\nLet me know if you need anything else.",
                                secret))
    return out


def benign_texts(n_each: int = 10) -> list[str]:
    rng = random.Random(f"{SEED}/benign")
    pub = _pem("PUBLIC KEY", _der(0x30, rng.randbytes(290)))
    cert = _pem("CERTIFICATE", _der(0x30, rng.randbytes(900)))
    makers: list[Callable[[], str]] = [
        lambda: _filler(rng, 1300),
        lambda: "md5: " + _s(rng, 32, HEX) + "\nsha1: " + _s(rng, 40, HEX),
        lambda: "sha256 digest " + _s(rng, 64, HEX) + " sha512 " + _s(rng, 128, HEX),
        lambda: "request ids: " + ", ".join(
            "-".join(_s(rng, k, HEX) for k in (8, 4, 4, 4, 12)) for _ in range(5)),
        lambda: "commit " + _s(rng, 40, HEX) + "\nAuthor: Dev <dev@example.com>",
        lambda: "blob: " + _b64(rng.randbytes(rng.randrange(200, 2000))),
        lambda: '<img src="data:image/png;base64,' + _b64(b"\x89PNG\r\n\x1a\n" + rng.randbytes(3000)) + '">',
        lambda: "ssh-ed25519 " + _b64(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00 " + rng.randbytes(32))
        + " dev@laptop",
        lambda: pub,
        lambda: cert,
        lambda: "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        lambda: "OPENAI_API_KEY=sk-...\nGITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
                "api_key: YOUR_API_KEY\npassword: ${DB_PASSWORD}\ntoken: {{token}}",
        lambda: "postgres://user:password@localhost:5432/db and redis://localhost:6379",
        lambda: "integrity=\"sha384-" + _b64(rng.randbytes(48)) + "\" crossorigin=\"anonymous\"",
        lambda: "bcrypt: $2b$12$" + _s(rng, 53, ALNUM + "./"),
        lambda: "\n".join(f"    {name} = {value!r}" for name, value in
                          [("timeout", 30), ("retries", 3), ("region", "eu-west-1"),
                           ("bucket", "acme-logs-" + _s(rng, 6, HEX))]),
    ]
    return [make() for make in makers for _ in range(n_each)]


def traffic(n: int = 400, secret_ratio: float = 0.2) -> list[str]:
    """~1.3 KB model responses; `secret_ratio` of them hold one planted credential."""
    rng = random.Random(f"{SEED}/traffic")
    families = list(FAMILIES)
    texts = []
    for i in range(n):
        body = _filler(rng, rng.randrange(1100, 1500))
        if rng.random() < secret_ratio:
            text, _ = _secret(families[i % len(families)], random.Random(f"{SEED}/t/{i}"))
            cut = rng.randrange(len(body))
            body = body[:cut] + "\n" + text + "\n" + body[cut:]
        texts.append(body)
    return texts
