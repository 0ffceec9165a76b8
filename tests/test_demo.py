"""`otel-ai-detect demo` runs end to end and raises exactly the alerts each call should."""

from otel_ai_detect.demo import CALLS, run_demo


def test_the_demo_raises_every_expected_alert_and_nothing_else(capsys):
    assert run_demo() == 0
    out = capsys.readouterr().out
    assert "UNEXPECTED" not in out
    for rule in {rule for call in CALLS for rule in call.expect}:
        assert rule in out
    assert f"{2 * len(CALLS)} of {2 * len(CALLS)} spans arrived downstream" in out


def test_the_demo_covers_both_built_rules_and_benign_calls():
    rules = {rule for call in CALLS for rule in call.expect}
    assert {"AI.ASCIISmuggling", "AI.AccessFromSuspiciousUserAgent"} <= rules
    assert any(not call.expect for call in CALLS)
