"""The examples: the fake model server (fast, part of `make test`) and each example app end to end
through examples/run.sh (slow: each creates a venv and installs packages; run with -m slow)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
import fake_model_server  # noqa: E402

TAG_CHARS = range(0xE0000, 0xE0080)


@pytest.fixture(scope="module")
def server_url():
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / "fake_model_server.py"), "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def chat(url: str, prompt: str, **extra) -> tuple[int, dict]:
    body = json.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": prompt}], **extra}).encode()
    request = urllib.request.Request(url + "/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_the_fake_model_server_answers_each_demo_prompt_as_documented(server_url):
    answers = {}
    for label, prompt in fake_model_server.DEMO_PROMPTS:
        status, body = chat(server_url, prompt)
        assert status == 200 and body["object"] == "chat.completion"
        assert body["usage"]["total_tokens"] >= body["usage"]["prompt_tokens"] > 0
        answers[label] = body["choices"][0]
    assert answers["benign"]["finish_reason"] == "stop"
    assert answers["benign"]["message"]["content"] == fake_model_server.BENIGN
    leak = answers["credential leak"]["message"]["content"]
    assert "aws_access_key_id=AKIAQ3EGRXVNZ5KWPM7B" in leak
    assert "aws_secret_access_key=Zq8k3Lm9Pw2Xv7Rt5Yb1Nc4Hd6Jf0Gs8Ua3Ke2Wm" in leak
    hidden = answers["hidden text"]["message"]["content"]
    decoded = "".join(chr(ord(c) - 0xE0000) for c in hidden if ord(c) in TAG_CHARS)
    assert decoded == fake_model_server.HIDDEN_INSTRUCTION
    assert "4111 1111 1111 1111" in answers["card number"]["message"]["content"]
    assert answers["jailbreak"]["finish_reason"] == "content_filter"
    assert answers["jailbreak"]["message"]["content"] is None


def test_the_fake_model_server_refuses_what_it_does_not_serve(server_url):
    assert chat(server_url, "hello", stream=True)[0] == 400
    request = urllib.request.Request(server_url + "/embeddings", data=b"{}")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 404


EXPECTED_RULES = [
    "AI.CredentialTheftAttempt",          # the AWS key pair in the answer
    "AI.ASCIISmuggling",                  # the tag-character text in the answer
    "AI.DataLeakInModelResponse.Sensitive",  # the card number in the answer
    "AI.Jailbreak.BlockedAttempt",        # the DAN prompt, finish_reason content_filter
]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", ["openai_v2", "openllmetry", "openinference"])
def test_each_example_app_raises_the_expected_alerts(name, request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("creates examples/.venv-<name> and installs packages: run with -m slow")
    result = subprocess.run(["bash", str(EXAMPLES / "run.sh"), name], capture_output=True,
                            text=True, timeout=880)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    alerts = output.split("== otel-ai-detect output", 1)[1]
    for rule in EXPECTED_RULES:
        assert f" {rule} service=\"example-{name.replace('_', '-')}\"" in alerts, (rule, output)
    assert "AI.CredentialTheftAttempt" in alerts and alerts.count("AI.CredentialTheftAttempt") == 2
    assert fake_model_server.FAKE_AWS_SECRET not in alerts   # evidence is masked
    assert alerts.count(" AI.") == 5, output                  # nothing for the benign call
