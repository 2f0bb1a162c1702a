"""Bank details: IBANs (any country, checked with ISO 7064 mod-97) and BICs (only near "BIC"/"SWIFT").

The mod-97 check and each country's IBAN length keep invoice and reference numbers that merely
look like an IBAN; a BIC is eight or eleven capitals with a real country code, and only counts
when "BIC" or "SWIFT" is written close by, so that ordinary capitalised words survive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dossiermail.redact.builtins import DASHES, DIGIT, SPACES
from dossiermail.redact.hits import Hit

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BF": 28, "BG": 22,
    "BH": 22, "BI": 27, "BJ": 28, "BR": 29, "BY": 28, "CF": 27, "CG": 27, "CH": 21, "CI": 28,
    "CM": 27, "CR": 22, "CV": 25, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "DZ": 26, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GA": 27, "GB": 22,
    "GE": 22, "GI": 23, "GL": 18, "GQ": 27, "GR": 27, "GT": 28, "GW": 25, "HN": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KM": 27, "KW": 30,
    "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MA": 28,
    "MC": 27, "MD": 24, "ME": 22, "MG": 27, "MK": 19, "ML": 28, "MR": 27, "MT": 31, "MU": 30,
    "MZ": 25, "NE": 28, "NI": 28, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "SN": 28, "SO": 23, "ST": 25, "SV": 28, "TD": 27, "TG": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
"""Characters of a full IBAN per country (SWIFT IBAN registry, plus the published African formats)."""

_COUNTRY_TABLE = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
"""
COUNTRIES = frozenset(_COUNTRY_TABLE.split())
"""ISO 3166 country codes (and XK), as found in characters 5-6 of a BIC."""

_GAP = rf"(?:{SPACES}|{DASHES}|\.){{0,2}}"
IBAN_START = re.compile(
    rf"(?<!\d)(?=(?P<country>[A-Za-z]{{2}}){_GAP}(?P<check>\d\d)(?P<rest>(?:{_GAP}[A-Za-z0-9]){{10,30}}))"
)
"""A possible IBAN start; the look-ahead captures up to 30 more characters without consuming them."""
_ALNUM = re.compile(r"[A-Za-z0-9]")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_LETTER_VALUES = str.maketrans({chr(code): str(code - 55) for code in range(ord("A"), ord("Z") + 1)})
"""A=10 … Z=35, as ISO 7064 reads an IBAN."""

BIC = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{4} ?(?P<country>[A-Z]{2}) ?[A-Z0-9]{2}(?: ?[A-Z0-9]{3})?(?![A-Za-z0-9])"
)
BIC_CONTEXT = re.compile(r"(?i)(?<![a-z])(?:bic|swift)(?![a-z])")
BIC_CONTEXT_BEFORE = 60
BIC_CONTEXT_AFTER = 30


def iban_is_valid(iban: str) -> bool:
    """ISO 13616: known country, right length, and the mod-97 of the rearranged number is 1."""
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum() or not iban.isascii():
        return False
    return int((iban[4:] + iban[:4]).translate(_LETTER_VALUES)) % 97 == 1


def find_ibans(text: str) -> Iterator[Hit]:
    """Account numbers written whole or in groups (of 4 or not), checked with mod-97."""
    if not DIGIT.search(text):
        return
    for match in IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(match.group("country").upper())
        if length is None:
            continue
        rest = match.group("rest")
        bban = _NOT_ALNUM.sub("", rest)[: length - 4]
        if iban_is_valid(match.group("country") + match.group("check") + bban):
            last = [m for m in _ALNUM.finditer(rest)][len(bban) - 1]
            yield Hit("iban", "iban", match.start(), match.start("rest") + last.end())


def find_bics(text: str) -> Iterator[Hit]:
    """BIC/SWIFT codes (``AGRIFRPP``, ``BNPAFRPPXXX``) within a few words of "BIC" or "SWIFT"."""
    if not BIC_CONTEXT.search(text):
        return
    for match in BIC.finditer(text):
        if match.group("country") in COUNTRIES and _near_bic_word(text, match.start(), match.end()):
            yield Hit("bic", "bic", match.start(), match.end())


def _near_bic_word(text: str, start: int, end: int) -> bool:
    before = BIC_CONTEXT.search(text, max(0, start - BIC_CONTEXT_BEFORE), start)
    return before is not None or BIC_CONTEXT.search(text, end, end + BIC_CONTEXT_AFTER) is not None
