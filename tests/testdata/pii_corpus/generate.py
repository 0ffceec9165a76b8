"""Writes the PII prefilter corpus: `python tests/testdata/pii_corpus/generate.py`.

Deterministic (fixed seed); the .jsonl files it writes are checked in, so the
proof test reads data, not this script. One JSON object per line:
``{"id": ..., "kind": ..., "text": ...}``.

- planted.jsonl: model answers with personal data of every default entity, in
  many formats, valid checksums (Luhn, mod-97, mod-11, base58check, bech32);
- benign.jsonl:  hard negatives: order numbers, ISBNs, timestamps, versions,
  math, tables, hex, UUIDs, hashes, near misses (non-Luhn 16 digits, bad IBAN
  checksums, SSN 000-xx-xxxx, ...);
- unicode.jsonl: the same in other scripts and with odd separators: fullwidth
  and Arabic-Indic digits, NBSP and en dashes, Kelvin sign and long s, IDN mail.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
import uuid
from pathlib import Path

import phonenumbers

HERE = Path(__file__).parent
rng = random.Random(20261128)

FILLER = [
    "Here is a short summary of what I found in the records you asked about.",
    "Let me know if you would like me to format this as a table instead.",
    "I have double-checked the details against the latest statement.",
    "Please keep this information safe and do not share it in public channels.",
    "The account was opened last spring and has been active since then.",
    "If anything looks wrong, contact the support team and reference this conversation.",
    "Below are the details exactly as they appear in the customer profile.",
    "I hope this helps with the reconciliation you are working on.",
    "Note that the billing cycle closes at the end of each month.",
    "For security reasons, we recommend rotating these details regularly.",
    "The onboarding checklist has three remaining items before go-live.",
    "Our quarterly revenue grew compared to the same period last year.",
]
NAMES = ["john.doe", "jane_smith", "m.garcia", "li.wei", "o'connor", "a.k.patel", "nina-r",
         "z", "support", "billing.team", "j"]
DOMAINS = ["example.com", "mail.example.co.uk", "corp.example.org", "sub.domain.example.io",
           "example-bank.de", "xn--80ak6aa92e.com", "students.uni-example.edu", "example.fr"]


def prose(n: int) -> str:
    return " ".join(rng.choice(FILLER) for _ in range(n))


def wrap(core: str) -> str:
    """A model answer: filler, the sentence with the value, more filler (~0.3-1.5 KB)."""
    return f"{prose(rng.randint(1, 5))}\n\n{core}\n\n{prose(rng.randint(0, 6))}"


# -- valid values -------------------------------------------------------------
def luhn(prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, d in enumerate(reversed(body)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return body + str((10 - total % 10) % 10)


def group(digits: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(digits[i:i + size])
        i += size
    return sep.join(out)


def card() -> str:
    kind = rng.choice(["visa", "mc", "amex", "discover", "jcb"])
    if kind == "amex":
        return group(luhn(rng.choice(["34", "37"]), 15), [4, 6, 5], rng.choice([" ", "-", ""]))
    prefix = {"visa": "4", "mc": rng.choice(["51", "52", "55"]), "discover": "6011",
              "jcb": "3528"}[kind]
    return group(luhn(prefix, 16), [4, 4, 4, 4], rng.choice([" ", "-", ""]))


def iban_check(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(digits) % 97:02d}"


IBAN_BBAN = {"DE": "18n", "GB": "4a14n", "FR": "23n", "ES": "20n", "IT": "1a22n", "NL": "4a10n",
             "CH": "17n", "BE": "12n", "PL": "24n", "SE": "20n", "NO": "11n", "AT": "16n"}


def iban(country: str | None = None) -> str:
    country = country or rng.choice(sorted(IBAN_BBAN))
    spec, bban = IBAN_BBAN[country], ""
    for count, kind in ((int(p[:-1]), p[-1]) for p in
                        __import__("re").findall(r"\d+[an]", spec)):
        alphabet = string.ascii_uppercase if kind == "a" else string.digits
        bban += "".join(rng.choice(alphabet) for _ in range(count))
    code = country + iban_check(country, bban) + bban
    style = rng.choice(["spaced", "compact", "spaced", "dashed"])
    if style == "compact":
        return code
    parts = [code[i:i + 4] for i in range(0, len(code), 4)]
    return (" " if style == "spaced" else "-").join(parts)


def ssn() -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    digits = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
    sep = rng.choice(["-", "-", " ", "."])
    return f"{digits[:3]}{sep}{digits[3:5]}{sep}{digits[5:]}"


def itin() -> str:
    middle = rng.choice([70, 75, 78, 80, 88, 90, 92, 94, 99])
    digits = f"9{rng.randint(0, 99):02d}{middle}{rng.randint(0, 9999):04d}"
    sep = rng.choice(["-", " ", ""])
    return f"{digits[:3]}{sep}{digits[3:5]}{sep}{digits[5:]}" if sep else digits


def nhs() -> str:
    while True:
        nine = "".join(rng.choice(string.digits) for _ in range(9))
        check = -sum(int(c) * w for c, w in zip(nine, range(10, 1, -1))) % 11
        if check < 10:
            digits = nine + str(check)
            sep = rng.choice([" ", "-", ""])
            return f"{digits[:3]}{sep}{digits[3:6]}{sep}{digits[6:]}"


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check(version: int) -> str:
    payload = bytes([version]) + rng.randbytes(20)
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n, out = int.from_bytes(data, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    gen, chk = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3], 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32(program_len: int = 20) -> str:
    hrp, program = "bc", rng.randbytes(program_len)
    acc, bits, data = 0, 0, [0]
    for b in program:
        acc, bits = (acc << 8) | b, bits + 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    expand = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    mod = _polymod(expand + data + [0] * 6) ^ 1
    checksum = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in data + checksum)


def wallet() -> str:
    return rng.choice([base58check(0), base58check(5), bech32(), bech32(32)])


def phone() -> str:
    region = rng.choice(["US", "GB", "DE", "FR", "IN", "BR", "IL", "CA", "ES", "AU", "JP"])
    types = phonenumbers.PhoneNumberType
    kind = rng.choice([types.MOBILE, types.FIXED_LINE])
    example = phonenumbers.example_number_for_type(region, kind)
    for _ in range(50):
        nsn = str(example.national_number)
        keep = max(3, len(nsn) - 4)
        candidate = nsn[:keep] + "".join(rng.choice(string.digits) for _ in range(len(nsn) - keep))
        number = phonenumbers.parse("+" + str(example.country_code) + candidate)
        if phonenumbers.is_valid_number(number):
            break
    fmt = rng.choice([phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                      phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.E164])
    return phonenumbers.format_number(number, fmt)


def email() -> str:
    name = rng.choice(NAMES)
    if rng.random() < 0.3:
        name += "+" + rng.choice(["news", "tag", "billing", "2024"])
    if rng.random() < 0.2:
        name = name.upper()
    return f"{name}@{rng.choice(DOMAINS)}"


def passport() -> str:
    return rng.choice([f"{rng.randint(100000000, 999999999)}",
                       f"{rng.choice(string.ascii_uppercase)}{rng.randint(10000000, 99999999)}"])


def bank() -> str:
    return str(rng.randint(10 ** 7, 10 ** rng.randint(8, 16)))


# -- answers --------------------------------------------------------------------
PLANTED = {
    "CREDIT_CARD": ["The card on file is {v}, expiring 09/27.", "Visa: {v}", "Use card number {v} "
                    "for the refund.", "Payment method: {v} (credit card).", "{v}"],
    "US_SSN": ["The SSN we have is {v}.", "Social security number: {v}", "ssn {v} matches the "
               "W-2.", "Their social is {v}, per the application."],
    "US_ITIN": ["Her ITIN is {v}.", "Taxpayer identification (ITIN): {v}", "tax id {v}",
                "The individual taxpayer number on the return is {v}."],
    "IBAN_CODE": ["IBAN: {v}", "Please wire the funds to {v} (BIC DEUTDEFF).", "The bank "
                  "account IBAN is {v}.", "Beneficiary {v}, reference INV-2024-118."],
    "US_BANK_NUMBER": ["Checking account {v} at First Example Bank.", "acct {v}",
                       "The bank account number is {v}.", "Debit account: {v}"],
    "EMAIL_ADDRESS": ["You can reach her at {v}.", "Email: {v}", "Send the signed copy to {v} "
                      "before Friday.", "Contact <{v}> for access.", "cc: {v}; bcc: none"],
    "PHONE_NUMBER": ["Call him on {v}.", "Phone: {v}", "Mobile {v} (after 6 pm).",
                     "His number is {v}.", "Reach the office at {v}.", "Tel. {v}"],
    "CRYPTO": ["Send the BTC to {v}.", "Wallet address: {v}", "bitcoin {v}", "Donations: {v}"],
    "US_PASSPORT": ["US passport number {v}, issued 2019.", "Passport: {v}", "Travel document "
                    "{v} expires in 2031."],
    "UK_NHS": ["NHS number {v}.", "Her NHS no. is {v}", "national health service number: {v}",
               "Patient {v} was referred on Tuesday."],
}
MAKERS = {"CREDIT_CARD": card, "US_SSN": ssn, "US_ITIN": itin, "IBAN_CODE": iban,
          "US_BANK_NUMBER": bank, "EMAIL_ADDRESS": email, "PHONE_NUMBER": phone,
          "CRYPTO": wallet, "US_PASSPORT": passport, "UK_NHS": nhs}


def planted() -> list[dict]:
    rows = []
    for entity, templates in PLANTED.items():
        for i in range(24):
            core = rng.choice(templates).format(v=MAKERS[entity]())
            if i % 4 == 3:  # a second entity in the same answer
                other = rng.choice(sorted(PLANTED))
                core += " " + rng.choice(PLANTED[other]).format(v=MAKERS[other]())
            rows.append({"kind": entity, "text": wrap(core)})
    # a profile dump with everything at once
    for _ in range(8):
        lines = [f"- {e.replace('_', ' ').lower()}: {MAKERS[e]()}" for e in PLANTED]
        rows.append({"kind": "profile", "text": wrap("Customer profile:\n" + "\n".join(lines))})
    return rows


def not_luhn() -> str:
    number = luhn("4", 16)
    return number[:-1] + str((int(number[-1]) + rng.randint(1, 9)) % 10)


def bad_iban() -> str:
    good = iban("DE").replace(" ", "").replace("-", "")
    return good[:2] + f"{(int(good[2:4]) + 1) % 100:02d}" + good[4:]


ALNUM = string.ascii_letters + string.digits


def chars(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def hexstr(n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


BENIGN = [
    lambda: f"Your order #{rng.randint(10 ** 7, 10 ** 9)} has shipped and should arrive by "
            f"{rng.randint(1, 28)} March.",
    lambda: f"Order number {rng.randint(10 ** 9, 10 ** 10)} was refunded; call us if the "
            f"amount is not back within 5 days.",
    lambda: f"The book's ISBN is 978-{rng.randint(0, 1)}-{rng.randint(100, 999)}-"
            f"{rng.randint(10000, 99999)}-{rng.randint(0, 9)}.",
    lambda: f"ISBN-13 978{rng.randint(10 ** 9, 10 ** 10 - 1)}; ISBN-10 0-306-40615-2.",
    lambda: f"The job ran at 2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z "
            f"(epoch {rng.randint(1_600_000_000, 1_800_000_000)}).",
    lambda: f"Timestamp in ms: {rng.randint(1_600_000_000_000, 1_800_000_000_000)}.",
    lambda: f"Upgrade from v{rng.randint(1, 3)}.{rng.randint(0, 30)}.{rng.randint(0, 9)} to "
            f"{rng.randint(3, 5)}.{rng.randint(0, 12)}.{rng.randint(0, 20)}; build "
            f"10.0.{rng.randint(19000, 22000)}.{rng.randint(1000, 4000)}.",
    lambda: "2^32 = 4294967296 and 2^64 = 18446744073709551616; pi is about 3.14159265358979.",
    lambda: f"| year | users | growth |\n|---|---|---|\n| 2021 | {rng.randint(1000, 9999)} | 4.5% |"
            f"\n| 2022 | {rng.randint(10000, 99999)} | 12.1% |\n| 2023 | "
            f"{rng.randint(100000, 999999)} | 8.0% |",
    lambda: f"```python\nMASK = 0x{hexstr(8).upper()}\ncolor = '#{hexstr(6)}'\n"
            f"digest = '{hexstr(64)}'\n```",
    lambda: f"The request id is {uuid.UUID(int=rng.getrandbits(128))} and the commit is "
            f"{hexstr(40)}.",
    lambda: f"Server {rng.randint(10, 192)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
            f"{rng.randint(1, 254)} answered on port {rng.randint(1024, 65535)}.",
    lambda: f"The total is ${rng.randint(1, 9)},{rng.randint(100, 999)}.{rng.randint(10, 99)} "
            f"including tax; the number of items is {rng.randint(2, 40)}.",
    lambda: f"Tracking number 1Z{hexstr(6).upper()}{rng.randint(10 ** 9, 10 ** 10)}.",
    lambda: f"Coordinates: 40.{rng.randint(1000, 9999)} N, 74.{rng.randint(1000, 9999)} W.",
    lambda: f"This test card is not valid: {group(not_luhn(), [4, 4, 4, 4], ' ')}.",
    lambda: f"Sample with a broken checksum: {bad_iban()}.",
    lambda: f"Placeholder SSN 000-{rng.randint(10, 99)}-{rng.randint(1000, 9999)} and "
            f"666-{rng.randint(10, 99)}-{rng.randint(1000, 9999)} are never issued.",
    lambda: "Example SSN 123-45-6789 is the canonical invalid sample.",
    lambda: "Use the decorator @app.route('/users/<int:id>') and mail root@localhost.",
    lambda: f"The image data: data:image/png;base64,{chars(ALNUM + '+/', 200)}",
    lambda: f"API key placeholder: sk-{chars(ALNUM, 40)}",
    lambda: f"The number of active sessions rose from {rng.randint(1000, 5000)} in 2022 to "
            f"{rng.randint(5000, 9000)} in 2023; call volume stayed flat.",
    lambda: f"Meeting moved to {rng.randint(1, 12)}/{rng.randint(1, 28)}/2024 at "
            f"{rng.randint(1, 12)}:{rng.randint(10, 59)} pm, room {rng.randint(100, 999)}.",
    lambda: f"See pages 211-227 (2003) and section {rng.randint(1, 9)}.{rng.randint(1, 9)}.",
    lambda: f"Matrix:\n[[{rng.randint(100, 999)}, {rng.randint(100, 999)}], "
            f"[{rng.randint(1000, 9999)}, {rng.randint(10000, 99999)}]]",
    lambda: f"Invoice INV-{rng.randint(2020, 2025)}-{rng.randint(100000, 999999)} is due; "
            f"account manager extension {rng.randint(100, 999)}.",
    lambda: f"Resolution 1920x1080 at 60 Hz; the cell value is {rng.randint(10 ** 5, 10 ** 6)}.",
    lambda: f"Population {rng.randint(10 ** 6, 10 ** 8):,} (2020 census); area "
            f"{rng.randint(1000, 99999)} km2.",
    lambda: f"Chemical: CAS 7732-18-5; DOI 10.1000/{rng.randint(100, 999)}; "
            f"PMID {rng.randint(10 ** 7, 10 ** 8)}.",
]


def benign() -> list[dict]:
    rows = []
    for i in range(270):
        core = BENIGN[i % len(BENIGN)]()
        rows.append({"kind": f"benign-{i % len(BENIGN)}", "text": wrap(core)})
    return rows


FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


EN_DASH = "\u2013"


def unicode_rows() -> list[dict]:
    cases = []
    for _ in range(4):
        cases += [
            f"Card: {card().translate(FULLWIDTH)}",
            f"Card: {card().translate(ARABIC)}",
            f"رقم الهاتف: {phone().translate(ARABIC)}",
            f"फ़ोन नंबर {phone().translate(DEVANAGARI)}",
            f"SSN {ssn().translate(ARABIC)} and ITIN {itin().translate(FULLWIDTH)}",
            f"Phone:\u00a0{phone().replace(' ', chr(0xA0))}",
            "Phone number: " + phone().replace(" ", EN_DASH).replace("-", EN_DASH),
            f"Call \u201c{phone()}\u201d \u2014 thanks \U0001F44D",
            f"IBAN \u212a{iban('NL')[1:]}",  # Kelvin sign for the first letter
            "IBAN " + "\u017f" + iban("SE")[1:].replace(" ", ""),  # long s: upper() is "S"
            "iban \u017f" + iban("SE").lower()[1:].replace(" ", ""),
            f"Passport \u0130{rng.randint(10000000, 99999999)} (US passport)",
            f"wallet {wallet().replace('k', chr(0x212A))}",
            f"Mail jos\u00e9.garc\u00eda@ex\u00e4mple.de or \u043f\u043e\u0447\u0442\u0430@"
            f"\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
            f"NHS number {nhs().translate(FULLWIDTH)}",
            f"Account {bank().translate(DEVANAGARI)} at the bank",
            f"Ｅｍａｉｌ：ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ and phone ＋４４ ２０ ７９４６ ０９５８",
            f"\u0130BAN: {iban('DE')} \u2014 ssn: {ssn()}",
        ]
    return [{"kind": "unicode", "text": wrap(c)} for c in cases]


def write(name: str, rows: list[dict]) -> None:
    with open(HERE / name, "w", encoding="utf-8") as out:
        for i, row in enumerate(rows):
            out.write(json.dumps({"id": f"{name.split('.')[0]}-{i:03d}", **row},
                                 ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write("planted.jsonl", planted())
    write("benign.jsonl", benign())
    write("unicode.jsonl", unicode_rows())
