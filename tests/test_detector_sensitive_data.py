"""AI.DataLeakInModelResponse.Sensitive: personal data in model output, checksums decide,
the user's own data is no leak, evidence is masked."""

from __future__ import annotations

import re

import pytest

from otel_ai_detect.config_types import DEFAULT_PII_ENTITIES, SensitiveDataConfig
from otel_ai_detect.detectors.base import ContentDetector
from otel_ai_detect.detectors.sensitive_data import (RULE, SensitiveDataDetector,
                                                     SensitiveDataSetupError, mask)
from otel_ai_detect.model import Conversation, Message, Part

USER_PATH = "gen_ai.input.messages[0].parts[0].content"
OUTPUT_PATH = "gen_ai.output.messages[0].parts[0].content"


def call(output: str | list[str], user: str = "Can you look this up for me?",
         system: str | None = None, tool: str | None = None) -> Conversation:
    inputs = []
    if system is not None:
        inputs.append(Message("system", (Part("text", system, "gen_ai.system_instructions"),)))
    inputs.append(Message("user", (Part("text", user, USER_PATH),)))
    if tool is not None:
        inputs.append(Message("tool", (Part("tool_call_response", tool,
                                            "gen_ai.input.messages[1].parts[0].response"),)))
    outputs = [output] if isinstance(output, str) else output
    return Conversation(inputs=tuple(inputs), outputs=(Message("assistant", tuple(
        Part("text", text, f"gen_ai.output.messages[0].parts[{i}].content")
        for i, text in enumerate(outputs))),))


@pytest.fixture(scope="module")
def detector() -> SensitiveDataDetector:
    return SensitiveDataDetector(SensitiveDataConfig())


@pytest.fixture(scope="module")
def low_threshold() -> SensitiveDataDetector:
    # Presidio scores bank numbers 0.05 and passports 0.05/0.1, +0.35 next to a context
    # word: they reach 0.4 at best, never the default 0.5.
    return SensitiveDataDetector(SensitiveDataConfig(
        score_threshold=0.4, entities=DEFAULT_PII_ENTITIES + ("US_BANK_NUMBER", "US_PASSPORT")))


def entities(findings) -> set[str]:
    return {f.evidence.split(" ", 1)[0] for f in findings}


HITS = [
    ("a visa card with spaces", "CREDIT_CARD", "Your card 4111 1111 1111 1111 is on file.",
     "4111111111111111"),
    ("a mastercard with dashes", "CREDIT_CARD", "Card: 5500-0000-0000-0004, exp 09/27",
     "5500000000000004"),
    ("an amex in its 4-6-5 grouping", "CREDIT_CARD", "amex 3782 822463 10005", "378282246310005"),
    ("an ssn with dashes", "US_SSN", "The SSN on the form is 219-09-9999.", "219099999"),
    ("an ssn with dots", "US_SSN", "social security: 536.22.8726", "536228726"),
    ("a german iban in groups", "IBAN_CODE", "IBAN: DE89 3704 0044 0532 0130 00",
     "DE89370400440532013000"),
    ("a british iban with letters", "IBAN_CODE", "Wire to GB82 WEST 1234 5698 7654 32 today.",
     "GB82WEST12345698765432"),
    ("a french iban in one piece", "IBAN_CODE", "FR1420041010050500013M02606 is the account.",
     "FR1420041010050500013M02606"),
    ("an email with plus addressing and a subdomain", "EMAIL_ADDRESS",
     "Write to john.doe+news@mail.example.co.uk for access.", "john.doe+news@mail.example.co.uk"),
    ("a uk phone number next to 'mobile'", "PHONE_NUMBER", "Her mobile is +44 20 7946 0958.",
     "442079460958"),
    ("a us phone number next to 'phone'", "PHONE_NUMBER", "phone: (212) 555-0123", "2125550123"),
    ("a legacy bitcoin address", "CRYPTO", "Send it to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT.",
     "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
    ("a bech32 bitcoin address", "CRYPTO", "wallet bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
     "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ("an nhs number with a valid check digit", "UK_NHS", "NHS number 943 476 5919.",
     "9434765919"),
    ("an itin", "US_ITIN", "Her ITIN is 912-70-1234.", "912701234"),
]


@pytest.mark.parametrize("entity,text,value", [h[1:] for h in HITS], ids=[h[0] for h in HITS])
def test_each_default_entity_in_a_model_answer_is_reported(detector, entity, text, value):
    findings = detector.detect(call(f"Sure, here it is. {text} Anything else?"))
    assert entity in entities(findings)
    finding = next(f for f in findings if f.evidence.startswith(entity))
    assert finding.rule == RULE and finding.detector == "sensitive_data"
    assert finding.source == "output" and finding.path == OUTPUT_PATH
    assert 0.5 <= finding.confidence <= 1.0
    assert value not in finding.evidence
    assert value.lower() not in re.sub(r"[^0-9a-z@.+]", "", finding.evidence.lower())


@pytest.mark.parametrize("entity,text", [
    ("US_BANK_NUMBER", "Your checking account number is 123456789012."),
    ("US_PASSPORT", "The passport number is 912345678."),
], ids=["a bank account number next to 'account'", "a passport number next to 'passport'"])
def test_bank_and_passport_numbers_are_reported_once_the_threshold_allows_their_score(
        low_threshold, detector, entity, text):
    assert entity in entities(low_threshold.detect(call(text)))
    assert entity not in entities(detector.detect(call(text)))


NEAR_MISSES = [
    ("sixteen digits failing the luhn check", "Card 4111 1111 1111 1112 was declined."),
    ("an iban with a wrong checksum", "IBAN DE89 3704 0044 0532 0130 01 bounced."),
    ("an ssn with area 000", "The SSN 000-12-3456 is a placeholder."),
    ("an ssn with area 666", "SSN 666-12-3456 is never issued."),
    ("the canonical sample ssn", "Example: SSN 123-45-6789."),
    ("an order number", "Your order #100234557 shipped today."),
    ("a version string", "Upgrade to v10.22.33 or 3.11.7 first."),
    ("a date and a time", "The window is 2024-03-15 10:30 to 2024-03-16 02:00."),
    ("an isbn", "The ISBN is 978-3-16-148410-0."),
    ("an address without a domain", "Mail root@localhost or use @app.route('/x')."),
    ("a phone-like number with no context word", "Reference 212-555-0123 in the ticket."),
    ("a commit id and a uuid", "Commit 49104ae8adb239a20260a827a297e3f35147ccfc, request "
                               "3cc9095e-07d1-5fa9-8404-e12884eb4941."),
]


@pytest.mark.parametrize("text", [m[1] for m in NEAR_MISSES], ids=[m[0] for m in NEAR_MISSES])
def test_near_misses_are_not_reported(detector, text):
    assert detector.detect(call(text)) == []


def test_personal_data_only_in_the_user_input_is_not_analysed(detector):
    conv = call("I have updated your profile.", user="My card is 4111 1111 1111 1111, "
                "mail jane@example.com, SSN 219-09-9999.")
    assert detector.detect(conv) == []


@pytest.mark.parametrize("user,output", [
    ("charge 4111-1111-1111-1111 please", "Charged card 4111 1111 1111 1111."),
    ("my mail is John.Doe@Example.com", "I will write to john.doe@example.com."),
    ("call me at 212 555 0123", "I will phone you on +1 (212) 555-0123."),
    ("IBAN de89370400440532013000", "Paid to DE89 3704 0044 0532 0130 00."),
    ("ssn 219 09 9999", "Your social security number 219-09-9999 is verified."),
], ids=["a card reformatted", "an email in another case", "a phone with its country code added",
        "an iban in groups and upper case", "an ssn with other separators"])
def test_personal_data_the_user_supplied_and_the_model_repeats_is_not_a_leak(detector, user,
                                                                            output):
    conv = call(output, user=user)
    assert detector.detect(conv) == []
    assert detector.redactions(conv)  # still masked when redaction is secrets_and_pii
    assert all(r.personal for r in detector.redactions(conv))


def test_personal_data_in_the_output_but_not_in_the_input_is_a_leak(detector):
    conv = call("Her card is 5500 0000 0000 0004.", user="my card is 4111 1111 1111 1111")
    assert entities(detector.detect(conv)) == {"CREDIT_CARD"}


@pytest.mark.parametrize("where", ["tool", "system"])
def test_data_from_a_tool_result_or_the_system_prompt_is_not_user_supplied(detector, where):
    secret = "jane.roe@example.org"
    conv = call(f"Her address is {secret}.", **{where: f"customer email: {secret}"})
    assert entities(detector.detect(conv)) == {"EMAIL_ADDRESS"}


def test_one_finding_per_distinct_value_per_call(detector):
    conv = call(["Card 4111 1111 1111 1111.", "Again: 4111-1111-1111-1111, and 4111111111111111."])
    findings = detector.detect(conv)
    assert len(findings) == 1
    assert findings[0].path == "gen_ai.output.messages[0].parts[0].content"
    assert {r.value for r in findings[0].redactions} == {
        "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111"}


@pytest.mark.parametrize("entity,value,shown", [
    ("CREDIT_CARD", "4111 1111 1111 1234", "****-****-****-1234 (16 digits)"),
    ("EMAIL_ADDRESS", "john.doe@example.com", "j***@e***.com"),
    ("US_SSN", "219-09-6789", "***-**-6789"),
    ("PHONE_NUMBER", "+44 20 7946 0958", "**********58"),
    ("IBAN_CODE", "DE89 3704 0044 0532 0130 00", "DE****************3000"),
    ("CRYPTO", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "1Boa\u2026tpyT (34 chars)"),
    ("UK_NHS", "943 476 5919", "***-***-**19"),
])
def test_evidence_masks_each_kind_of_value(entity, value, shown):
    assert mask(entity, value) == shown


def test_evidence_names_the_entity_the_masked_value_and_the_score_never_the_value(detector):
    conv = call("Card 4111 1111 1111 1111 and ssn 219-09-9999.")
    findings = detector.detect(conv)
    assert sorted(f.evidence for f in findings) == [
        "CREDIT_CARD ****-****-****-1111 (16 digits) (Presidio score 1.00)",
        "US_SSN ***-**-9999 (Presidio score 0.85)"]
    for finding in findings:
        assert "4111111111111111" not in finding.fingerprint + re.sub(r"\D", "", finding.evidence)
        assert "219099999" not in re.sub(r"\D", "", finding.evidence)
        assert re.fullmatch(r"[0-9a-f]{12}", finding.fingerprint)
        assert repr(finding).count("4111") == 0  # redactions are kept out of repr


def test_the_fingerprint_is_the_same_for_the_same_value_in_another_format(detector):
    a = detector.detect(call("card 4111 1111 1111 1111"))[0].fingerprint
    b = detector.detect(call("card 4111-1111-1111-1111"))[0].fingerprint
    assert a == b


def test_redactions_list_every_value_found_in_the_outputs_as_personal_data(detector):
    conv = call("Mail jane@example.com or call her mobile +44 20 7946 0958.",
                user="what is jane's email?")
    kinds = {(r.kind, r.value, r.personal) for r in detector.redactions(conv)}
    assert kinds == {("email-address", "jane@example.com", True),
                     ("phone-number", "+44 20 7946 0958", True)}


def test_configured_entities_restrict_what_is_found():
    only_email = SensitiveDataDetector(SensitiveDataConfig(entities=("EMAIL_ADDRESS",)))
    conv = call("Card 4111 1111 1111 1111, mail jane@example.com, SSN 219-09-9999.")
    assert entities(only_email.detect(conv)) == {"EMAIL_ADDRESS"}


def test_the_score_threshold_is_respected():
    strict = SensitiveDataDetector(SensitiveDataConfig(score_threshold=0.9))
    conv = call("Card 4111 1111 1111 1111; her mobile is +44 20 7946 0958.")
    assert entities(strict.detect(conv)) == {"CREDIT_CARD"}  # the phone scores 0.75


def test_a_disabled_detector_reports_nothing():
    disabled = SensitiveDataDetector(SensitiveDataConfig(enabled=False))
    assert disabled.detect(call("Card 4111 1111 1111 1111")) == []


def test_a_spacy_model_that_is_not_installed_is_a_clear_error_at_construction():
    with pytest.raises(SensitiveDataSetupError, match=r"spacy_model.*'en_core_web_nope'.*not "
                                                      r"installed"):
        SensitiveDataDetector(SensitiveDataConfig(spacy_model="en_core_web_nope"))


def test_named_entities_without_a_spacy_model_are_a_clear_error_at_construction():
    with pytest.raises(SensitiveDataSetupError, match=r"PERSON.*need spacy_model"):
        SensitiveDataDetector(SensitiveDataConfig(entities=("EMAIL_ADDRESS", "PERSON")))


def test_an_unknown_entity_is_a_clear_error_at_construction():
    with pytest.raises(SensitiveDataSetupError, match=r"entities: .*CREDIT_CRAD"):
        SensitiveDataDetector(SensitiveDataConfig(entities=("CREDIT_CRAD",)))


def test_a_text_with_lone_surrogates_from_truncated_json_is_analysed(detector):
    findings = detector.detect(call("\udc00 her phone: 212-555-0123 \ud800"))
    assert entities(findings) == {"PHONE_NUMBER"}


def test_the_tokenizer_is_rebuilt_after_many_characters_and_finds_the_same(monkeypatch):
    from otel_ai_detect.detectors import presidio_engine

    detector = SensitiveDataDetector(SensitiveDataConfig())
    conv = call("Her mobile is +44 20 7946 0958; the number of users grew in 2023.")
    before, first = detector.engine.nlp_engine.nlp["en"], detector.detect(conv)
    monkeypatch.setattr(presidio_engine, "_RELOAD_AFTER_CHARS", 10)
    again = detector.detect(call("Her mobile is +44 20 7946 0958; the number of users grew."))
    assert detector.engine.nlp_engine.nlp["en"] is not before
    assert [f.fingerprint for f in again] == [f.fingerprint for f in first]


def test_it_is_a_content_detector_named_sensitive_data(detector):
    assert isinstance(detector, ContentDetector)
    assert detector.name == "sensitive_data"


def test_very_long_outputs_are_analysed_up_to_the_cap_and_cost_bounded_time(detector):
    import time

    from otel_ai_detect.detectors.presidio_engine import MAX_TEXT_CHARS
    filler = "The 2023 report lists 1,204 items; call the desk for the number. " * 4000
    text = "mail jane@example.com " + filler + " late@example.com"
    assert len(text) > MAX_TEXT_CHARS
    start = time.perf_counter()
    values = {r.value for r in detector.redactions(call(text))}
    assert values == {"jane@example.com"}  # the second address lies past the cap
    assert time.perf_counter() - start < 10
