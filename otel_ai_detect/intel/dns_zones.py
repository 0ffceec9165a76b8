"""What a DNS block list's A answers mean, and which of them count as listed.

Each zone gets a classifier: answer address -> `Verdict` (listed with a
meaning, uncounted, or an error). The presets encode the lists' own
documentation (../shared/reference/threat-intel.md); `custom` zones count
exactly the answers configured for them. Tor DNSEL has its own classifier.

Rules common to every zone, because a block list's error answer must never
turn into an alert:
- an answer outside 127.0.0.0/8 is an error (a hijacking or wildcarding
  resolver answered, not the list);
- 127.255.255.0/24 is Spamhaus' error range (.252 typo in the zone, .254
  query via a public/open resolver, .255 excessive queries): always an error.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Callable

from otel_ai_detect.config_types import DnsZoneConfig

LISTED = "listed"
UNCOUNTED = "uncounted"  # a real listing, but not one the phishing rules act on
ERROR = "error"

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_ERROR_RANGE = ipaddress.ip_network("127.255.255.0/24")


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str          # LISTED | UNCOUNTED | ERROR
    meaning: str = ""  # for LISTED / UNCOUNTED; for ERROR, the error kind for stats


Classifier = Callable[[str], Verdict]

# Spamhaus DBL. 127.0.1.2 ("low reputation", mostly spam senders' domains) is
# deliberately not counted: the phishing rules would fire on every newsletter
# domain with a poor sending record. The abused-legit codes (.102-.106) are
# counted: a compromised legitimate site serving phishing/malware right now is
# exactly what a link in a model response should not point to.
DBL_COUNTED = {
    "127.0.1.4": "phishing domain",
    "127.0.1.5": "malware domain",
    "127.0.1.6": "botnet C&C domain",
    "127.0.1.102": "abused legitimate domain",
    "127.0.1.103": "abused legitimate redirector",
    "127.0.1.104": "abused legitimate domain: phishing",
    "127.0.1.105": "abused legitimate domain: malware",
    "127.0.1.106": "abused legitimate domain: botnet C&C",
}
DBL_UNCOUNTED = {"127.0.1.2": "low-reputation domain (spam)"}
DBL_ERROR = "127.0.1.255"  # an IP address was queried on the domain list

# SURBL multi: bitmask in the last octet. PH and MW count; ABUSE (spam) and
# CR (cracked sites) alone do not, but are named when they come along.
SURBL_BITS = ((8, "phishing", True), (16, "malware", True), (64, "abuse", False),
              (128, "cracked site", False))
SURBL_ERROR = "127.0.0.1"  # URIBL convention: query refused (public resolver / volume)

TOR_EXIT = "127.0.0.2"


def _common(answer: str) -> Verdict | None:
    """The error rules every zone shares; None when the zone must decide."""
    try:
        address = ipaddress.ip_address(answer)
    except ValueError:
        return Verdict(ERROR, "bad_answer")
    if address.version != 4 or address not in _LOOPBACK:
        return Verdict(ERROR, "bad_answer")
    if address in _ERROR_RANGE:
        return Verdict(ERROR, "error_answer")
    return None


def _spamhaus_dbl(answer: str) -> Verdict:
    if (common := _common(answer)) is not None:
        return common
    if answer == DBL_ERROR:
        return Verdict(ERROR, "error_answer")
    if answer in DBL_COUNTED:
        return Verdict(LISTED, DBL_COUNTED[answer])
    # Unknown codes: Spamhaus may add some; not an error, but not acted on either.
    return Verdict(UNCOUNTED, DBL_UNCOUNTED.get(answer, f"unknown DBL code {answer}"))


def _surbl_multi(answer: str) -> Verdict:
    if (common := _common(answer)) is not None:
        return common
    if answer == SURBL_ERROR:
        return Verdict(ERROR, "error_answer")
    if not answer.startswith("127.0.0."):  # other octets are reserved
        return Verdict(UNCOUNTED, f"unknown SURBL answer {answer}")
    mask = int(answer.rsplit(".", 1)[1])
    counted = [name for bit, name, counts in SURBL_BITS if mask & bit and counts]
    others = [name for bit, name, counts in SURBL_BITS if mask & bit and not counts]
    if not counted:
        return Verdict(UNCOUNTED, ", ".join(others) or f"unknown SURBL bits {mask}")
    meaning = " and ".join(counted)
    return Verdict(LISTED, f"{meaning} (also {', '.join(others)})" if others else meaning)


def _custom(listed: dict[str, str]) -> Classifier:
    def classify(answer: str) -> Verdict:
        if (common := _common(answer)) is not None:
            return common
        if answer in listed:
            return Verdict(LISTED, listed[answer])
        return Verdict(UNCOUNTED, f"unconfigured answer {answer}")
    return classify


def tor_dnsel(answer: str) -> Verdict:
    """DNSEL: 127.0.0.2 = exit; 127.0.0.1 was the legacy "refused/error"."""
    if (common := _common(answer)) is not None:
        return common
    if answer == TOR_EXIT:
        return Verdict(LISTED, "Tor exit node")
    if answer == "127.0.0.1":
        return Verdict(ERROR, "error_answer")
    return Verdict(UNCOUNTED, f"unknown DNSEL answer {answer}")


PRESETS = ("spamhaus_dbl", "surbl_multi", "custom")


def classifier_for(zone: DnsZoneConfig) -> Classifier:
    """The classifier for a configured zone (config validation checks `preset`)."""
    if zone.preset == "spamhaus_dbl":
        return _spamhaus_dbl
    if zone.preset == "surbl_multi":
        return _surbl_multi
    if zone.preset == "custom":
        return _custom(dict(zone.listed))
    raise ValueError(f"unknown DNS zone preset {zone.preset!r} (one of {', '.join(PRESETS)})")
