"""The credential rules: what each family looks like and how it is confirmed.

Data, not code: one `CredentialRule` per shape. Every pattern is ASCII and in
the common subset of Hyperscan and RE2 (no lookaround, no backreferences), so
all of them compile into one multi-pattern scan; group 1, when present, is the
secret itself (the rest is the boundary or the keyword context).

Rules are listed most specific first: when two confirmed values overlap in one
text, the earlier rule's reading wins (a GCP service-account key before the
PEM block it holds, a JWT before the URI password it happens to be).

Boundaries. A value must not be part of a longer identifier: the pattern's lead
asks for the start of the text, a character outside the token's alphabet, or a
JSON escape (``\\n``, as raw fallback text keeps them); the character after
the value must not be in the rule's `tail` alphabet (checked in Python, so
matches never consume it and adjacent credentials are all found).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Callable

from otel_ai_detect.detectors import credential_checks as ck
from otel_ai_detect.detectors import credential_keys as keys

# Leads: start of text, a character outside the alphabet, or a JSON escape.
L = r"(?:^|[^A-Za-z0-9_]|\\[nrt])"
L64 = r"(?:^|[^A-Za-z0-9+/_-]|\\[nrt])"    # base64 bodies: '+' and '/' continue them
_ALNUM = string.ascii_letters + string.digits
WORD = _ALNUM + "_"
URL = _ALNUM + "_-"
B64 = _ALNUM + "+/="
B64URL = _ALNUM + "_-="
# Keyword-assignment glue: quotes (maybe JSON-escaped), then = : => or "is".
ASSIGN = r"""\\?["'`]?\s{0,3}(?:[:=]|=>|\s)\s{0,3}\\?["'`]?"""


@dataclass(frozen=True, slots=True)
class CredentialRule:
    kind: str               # what evidence and the redaction mask call it
    family: str             # provider, for the docs and the tests
    pattern: str
    confidence: float       # checksum/structure ~0.95, distinctive shape ~0.85-0.9,
    #                         shape + context ~0.8, weak shape ~0.6
    check: Callable[[ck.Candidate], ck.Verdict | None] | None = None
    tail: str | None = WORD  # characters that may not follow the value
    caseless: bool = False
    context: tuple[bytes, ...] = ()  # one of these (lower case) within `window` bytes
    window: int = 200
    shape_only: bool = True  # no checksum: placeholder and entropy filters apply


def R(kind, family, pattern, confidence, check=None, **kw) -> CredentialRule:
    return CredentialRule(kind, family, pattern, confidence, check, **kw)


_SCHEMES = (r"(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|"
            r"sqlserver|clickhouse|cockroachdb|couchdb|neo4j(?:\+s)?)")

_AZURE = "Azure"
_PEM = r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
_GCP_TYPE = r'\\?"type\\?"\s{0,3}:\s{0,3}\\?"service_account'
_CONN_VALUE = r"([!#$%*+./0-9:=?@A-Z\[\]^_`a-z{|}~-]{1,128})"  # printable, no ; " ' & < > \ ( ) ,
_URI_USER = r"[!$%&()*+,.0-9;=A-Z\[\]^_a-z{|}~-]{0,64}"        # printable, no : / ? # @ quotes
_URI_PASSWORD = r"([!$%&()*+,.0-9:;=A-Z\[\]^_a-z{|}~-]{1,128})"

RULES: tuple[CredentialRule, ...] = (
    # --- private keys and key files (structure checked) ---------------------
    R("gcp-service-account-key", "Google Cloud", _GCP_TYPE, 0.95, keys.gcp_service_account,
      tail=None, shape_only=False),
    R("private-key", "private keys (PEM)", _PEM, 0.95, keys.private_key, tail=None,
      shape_only=False),
    R("private-key", "private keys (PuTTY)", r"PuTTY-User-Key-File-[23]: ", 0.9, keys.putty_key,
      tail=None, shape_only=False),
    R("age-secret-key", "age", L + r"(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})",
      0.95, ck.age_bech32, shape_only=False),
    # --- checksummed tokens --------------------------------------------------
    R("github-token", "GitHub", L + r"(gh[pousr]_[A-Za-z0-9]{36})", 0.95, ck.github_checksum),
    R("npm-token", "npm", L + r"(npm_[A-Za-z0-9]{36})", 0.95, ck.github_checksum),
    R("gitlab-token", "GitLab", L + r"(gl(?:pat|rt|ptt|dt|cbt|oas|soat|imt|ft|ffct|agent)-"
      r"[A-Za-z0-9_-]{27,300}\.(?:[0-9a-z]{2}\.)?[0-9a-z]{9})", 0.95, ck.gitlab_routable,
      tail=URL + "."),
    R("pypi-token", "PyPI", L + r"(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,400})", 0.95,
      ck.pypi_macaroon, tail=URL),
    # --- fixed-prefix tokens -------------------------------------------------
    R("github-token", "GitHub", L + r"(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})", 0.9),
    R("gitlab-token", "GitLab", L + r"((?:glpat|glptt|gldt)-[A-Za-z0-9_-]{20}|glrt-(?:t[0-9]_)?"
      r"[A-Za-z0-9_-]{20}|GR1348941[A-Za-z0-9_-]{20})", 0.85, tail=URL + "."),
    R("openai-api-key", "OpenAI", L + r"(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,200}"
      r"T3BlbkFJ[A-Za-z0-9_-]{20,200})", 0.9, tail=URL),
    R("openai-api-key", "OpenAI", L + r"(sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})", 0.9),
    R("anthropic-api-key", "Anthropic", L + r"(sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA)",
      0.9, tail=URL),
    R("openrouter-api-key", "OpenRouter", L + r"(sk-or-v1-[0-9a-f]{64})", 0.9),
    R("huggingface-token", "Hugging Face", L + r"((?:hf_|api_org_)[A-Za-z0-9]{34})", 0.85),
    R("groq-api-key", "Groq", L + r"(gsk_[A-Za-z0-9]{52})", 0.9),
    R("xai-api-key", "xAI", L + r"(xai-[A-Za-z0-9]{80})", 0.9),
    R("perplexity-api-key", "Perplexity", L + r"(pplx-[A-Za-z0-9]{48})", 0.9),
    R("replicate-api-token", "Replicate", L + r"(r8_[A-Za-z0-9]{37})", 0.85),
    R("aws-access-key-id", "AWS", L + r"((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})", 0.9,
      ck.aws_key_id),
    R("aws-bedrock-api-key", "AWS", L64 + r"(ABSK[A-Za-z0-9+/]{100,400}={0,2})", 0.8,
      ck.bedrock, tail=B64),
    R("aws-bedrock-api-key", "AWS", L + r"(bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t"
      r"[A-Za-z0-9+/]{40,}={0,2})", 0.9, tail=B64),
    R("slack-token", "Slack", L + r"(xox[bpaors]-[0-9]{6,16}-[0-9A-Za-z-]{10,200})", 0.9,
      tail=URL),
    R("slack-token", "Slack", L + r"(xoxe(?:\.xox[bp])?-1-[A-Za-z0-9]{100,300})", 0.9),
    R("slack-token", "Slack", L + r"(xapp-[0-9]-[A-Z0-9]{8,16}-[0-9]{8,16}-[a-f0-9]{32,80})",
      0.9),
    R("slack-webhook-url", "Slack", r"(https://hooks\.slack\.com/services/T[A-Z0-9]{6,12}/"
      r"B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32})", 0.9),
    R("stripe-secret-key", "Stripe", L + r"((?:sk|rk)_live_[A-Za-z0-9]{24,247})", 0.9),
    R("stripe-test-key", "Stripe", L + r"((?:sk|rk)_test_[A-Za-z0-9]{24,247})", 0.5),
    R("stripe-webhook-secret", "Stripe", L + r"(whsec_[A-Za-z0-9+/]{32,100}={0,2})", 0.85,
      tail=B64),
    R("sendgrid-api-key", "SendGrid", L + r"(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})", 0.9,
      tail=URL),
    R("mailchimp-api-key", "Mailchimp", L + r"([0-9a-f]{32}-us[0-9]{1,2})", 0.8),
    R("shopify-token", "Shopify", L + r"(shp(?:at|ss|ca|pa)_[0-9a-fA-F]{32})", 0.9),
    R("digitalocean-token", "DigitalOcean", L + r"(do[opr]_v1_[0-9a-f]{64})", 0.9),
    R("databricks-token", "Databricks", L + r"(dapi[0-9a-f]{32}(?:-[0-9])?)", 0.85),
    R("doppler-token", "Doppler", L + r"(dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})",
      0.9),
    R("vault-token", "HashiCorp Vault", L + r"(hv[sbr]\.[A-Za-z0-9_-]{24,500})", 0.85, tail=URL),
    R("terraform-token", "Terraform Cloud",
      L + r"([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70})", 0.9, tail=B64URL),
    R("grafana-token", "Grafana", L + r"(glsa_[A-Za-z0-9]{32}_[0-9a-f]{8})", 0.9),
    R("grafana-token", "Grafana", L + r"(glc_eyJ[A-Za-z0-9+/]{30,600}={0,2})", 0.9,
      ck.json_token, tail=B64),
    R("sentry-token", "Sentry",
      L + r"(sntrys_eyJ[A-Za-z0-9+/]{30,600}={0,2}_[A-Za-z0-9+/]{30,64})", 0.9, ck.json_token,
      tail=B64),
    R("sentry-token", "Sentry", L + r"(sntryu_[0-9a-f]{64})", 0.9),
    R("postman-api-key", "Postman", L + r"(PMAK-[0-9a-f]{24}-[0-9a-f]{34})", 0.9),
    R("linear-api-key", "Linear", L + r"(lin_api_[A-Za-z0-9]{40})", 0.9),
    R("atlassian-api-token", "Atlassian", L + r"(ATATT3[A-Za-z0-9_=-]{186})", 0.9,
      tail=B64URL),
    R("notion-token", "Notion", L + r"(ntn_[0-9]{11}[A-Za-z0-9]{35})", 0.9),
    R("1password-token", "1Password", L + r"(ops_eyJ[A-Za-z0-9+/=_-]{100,})", 0.9,
      ck.json_token, tail=B64URL),
    R("1password-secret-key", "1Password", L + r"(A3-[A-Z0-9]{6}-[A-Z0-9]{5,6}-[A-Z0-9]{5}-"
      r"[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})", 0.85, tail=URL),
    R("telegram-bot-token", "Telegram",
      r"(?:^|[^0-9A-Za-z_:]|\\[nrt])([0-9]{5,16}:A[A-Za-z0-9_-]{34})", 0.85, tail=URL),
    R("discord-bot-token", "Discord", L + r"([MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\."
      r"[A-Za-z0-9_-]{27,40})", 0.9, ck.discord_bot, tail=URL + "."),
    R("alibaba-access-key-id", "Alibaba Cloud", L + r"(LTAI[A-Za-z0-9]{12,20})", 0.85),
    R("square-token", "Square", L + r"(EAAA[A-Za-z0-9_-]{60})", 0.8, tail=URL),
    R("square-token", "Square", L + r"(sq0(?:atp-[A-Za-z0-9_-]{22}|csp-[A-Za-z0-9_-]{43}))",
      0.85, tail=URL),
    R("flyio-token", "Fly.io", L + r"(fo1_[A-Za-z0-9_-]{43})", 0.85, tail=URL),
    R("flyio-token", "Fly.io", L + r"(fm(?:1[ar]|2)_[A-Za-z0-9+/=_-]{100,})", 0.85,
      tail=B64URL),
    R("google-oauth-client-secret", "Google", L + r"(GOCSPX-[A-Za-z0-9_-]{28})", 0.9, tail=URL),
    R("google-oauth-access-token", "Google", L + r"(ya29\.[A-Za-z0-9_-]{30,})", 0.8, tail=URL),
    R("google-oauth-refresh-token", "Google",
      r"(?:^|[^A-Za-z0-9_/]|\\[nrt])(1//0[A-Za-z0-9_-]{40,500})", 0.75, tail=URL),
    # --- Azure ---------------------------------------------------------------
    R("azure-storage-account-key", _AZURE, r"accountkey\s{0,2}=\s{0,2}([A-Za-z0-9+/]{86}==)",
      0.9, ck.azure_key, tail=B64, caseless=True),
    R("azure-shared-access-key", _AZURE,
      r"sharedaccesskey\s{0,2}=\s{0,2}([A-Za-z0-9+/]{43}=)", 0.9, ck.azure_key, tail=B64,
      caseless=True),
    # Identifiable keys: a 4-character signature at a fixed place (microsoft/security-utilities).
    R("azure-identifiable-key", _AZURE, L64 + r"([A-Za-z0-9+/]{76}"
      r"(?:APIM|ACDb|\+ABa|\+AMC|\+ASt)[A-Za-z0-9+/]{5}[AQgw]==)", 0.9, ck.azure_identifiable,
      tail=B64),
    R("azure-identifiable-key", _AZURE, L64 + r"([A-Za-z0-9+/]{33}"
      r"(?:AIoT|\+ASb|\+AEh|\+ARm|AzCa|AZEG)[A-P][A-Za-z0-9+/]{5}=)", 0.9,
      ck.azure_identifiable, tail=B64),
    R("azure-identifiable-key", _AZURE,
      L64 + r"([A-Za-z0-9_-]{44}AzFu[A-Za-z0-9_-]{5}[AQgw]==)", 0.9, ck.azure_identifiable,
      tail=B64URL + "+/"),
    R("azure-identifiable-key", _AZURE, L64 + r"([A-Za-z0-9]{42}AzSe[A-D][A-Za-z0-9]{5}|"
      r"[A-Za-z0-9+/]{42}\+ACR[A-D][A-Za-z0-9+/]{5})", 0.9, ck.azure_identifiable, tail=B64),
    R("azure-identifiable-key", _AZURE, L + r"([A-Za-z0-9]{52}JQQJ9[9DH][A-Za-z0-9][A-L]"
      r"[A-Za-z0-9]{16}[A-Za-z][A-Za-z0-9]{7}(?:[A-Za-z0-9]{2}==)?)", 0.9,
      ck.azure_identifiable, tail=B64),
    R("azure-sas-token", _AZURE, r"[?&;]sig=([A-Za-z0-9%/+=]{40,120})", 0.9, keys.azure_sas,
      tail=B64 + "%", caseless=True),
    R("azure-entra-client-secret", _AZURE, r"(?:^|[^A-Za-z0-9_~.+/=-]|\\[nrt])"
      r"([A-Za-z0-9_~.-]{3}(?:8Q~[A-Za-z0-9_~.-]{34}|7Q~[A-Za-z0-9_~.-]{31}))", 0.85,
      ck.entra_secret, tail=URL + "~."),
    # --- shape + keyword context ---------------------------------------------
    R("aws-secret-access-key", "AWS", r"(?:aws_?secret_?access_?key|aws_?secret_?key|"
      r"secret_?access_?key|secret[ -]access[ -]key|aws_?secret)" + ASSIGN
      + r"([A-Za-z0-9/+]{40})", 0.8, ck.random_secret, tail=B64, caseless=True),
    R("aws-secret-access-key", "AWS", r"(?:AKIA|ASIA)[A-Z2-7]{16}\\?[\"']?\s{0,3}[,;|:\t]"
      r"\s{0,3}\\?[\"']?([A-Za-z0-9/+]{40})", 0.85, ck.random_secret, tail=B64),
    R("aws-session-token", "AWS", r"aws_?session_?token" + ASSIGN + r"([A-Za-z0-9/+=]{100,})",
      0.85, tail=B64, caseless=True),
    R("deepseek-api-key", "DeepSeek", r"deepseek[_-]?(?:api[_-]?)?key" + ASSIGN
      + r"(sk-[0-9a-f]{32})", 0.8, ck.random_secret, caseless=True),
    R("mistral-api-key", "Mistral", r"mistral[_-]?(?:api[_-]?)?key" + ASSIGN
      + r"([A-Za-z0-9]{32})", 0.8, ck.random_secret, caseless=True),
    R("cohere-api-key", "Cohere", r"co(?:here)?[_-]?(?:api[_-]?)?key" + ASSIGN
      + r"([A-Za-z0-9]{40})", 0.8, ck.random_secret, caseless=True),
    R("twilio-api-key", "Twilio", L + r"(SK[0-9a-fA-F]{32})", 0.8, context=(b"twilio",)),
    R("twilio-auth-token", "Twilio", r"twilio_?auth_?token" + ASSIGN + r"([0-9a-f]{32})", 0.8,
      caseless=True),
    R("mailgun-api-key", "Mailgun",
      L + r"(key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})", 0.8,
      context=(b"mailgun",), tail=URL),
    R("vault-token", "HashiCorp Vault", L + r"(s\.[A-Za-z0-9]{24})", 0.75, context=(b"vault",)),
    R("gcp-api-key", "Google Cloud", L + r"(AIza[A-Za-z0-9_-]{35})", 0.6, tail=URL),
    # --- structure-checked generic shapes --------------------------------------
    R("jwt", "JWT", r"(?:^|[^A-Za-z0-9_.-]|\\[nrt])(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}"
      r"\.[A-Za-z0-9_-]{16,})", 0.9, ck.jwt, tail=URL + ".", shape_only=False),
    R("database-password", "database URIs", r"\b" + _SCHEMES + r"(?:\+[a-z0-9]{1,20})?://"
      + _URI_USER + ":" + _URI_PASSWORD + r"@[A-Za-z0-9._\[\]-]", 0.8, keys.db_uri_password,
      tail=None, caseless=True, shape_only=False),
    R("database-password", "ADO.NET / ODBC / JDBC",
      r"(?:^|[;\"'\s?&]|\\[nrt])(?:password|pwd)\s{0,2}=" + _CONN_VALUE, 0.8,
      keys.connection_string_password, tail=None, caseless=True, shape_only=False),
)
