"""Built-in detectors for French personal data: phone numbers, email addresses, NIR.

Each detector is a function ``text -> Iterator[Hit]``. The regexes tolerate the spacing mail
really carries between digit groups (NBSP, narrow NBSP, thin and zero-width spaces, soft hyphens,
line breaks from wrapping) and are built so that no input makes them backtrack badly: every
repetition is bounded or runs over character classes that do not overlap, and every match must
start at the beginning of its run (a look-behind), so a long run is scanned once, not once per
character. IBAN and BIC live in ``banking``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dossiermail.redact.hits import Hit

SPACES = r"[ \t\r\n\u00a0\u00ad\u1680\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff]"
"""Whatever may sit between two digit groups: spaces of every width, invisible joiners, line breaks."""
DASHES = r"[-\u2010-\u2015\u2212]"
"""Hyphen-minus and its typographic cousins (non-breaking hyphen, en dash, minus sign…)."""
_SEP_ANY = r"[ \t\r\n\u00a0\u00ad\u1680\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff./()\u2010-\u2015\u2212-]"

_PAIR_SEP = rf"(?:{SPACES}|{DASHES}|[./]){{1,2}}"
_NATIONAL = (
    rf"0{SPACES}?[1-9](?:{SPACES}{{0,2}}\d){{8}}"  # 06 12 34 56 78, 0612345678, 0 800 123 456
    rf"|0[1-9](?:{_PAIR_SEP}\d\d){{4}}"  # 06.12.34.56.78, 06-12-34-56-78, 06/12/34/56/78, 06. 12…
)
_FRENCH_INTERNATIONAL = (
    rf"(?:\+|00){SPACES}{{0,2}}33{SPACES}{{0,2}}"  # +33, 0033
    rf"(?:\({SPACES}?0{SPACES}?\){SPACES}{{0,2}}|0{_SEP_ANY}{{0,2}})?"  # (0), or a stray 0
    rf"[1-9](?:{_SEP_ANY}{{0,2}}\d){{8}}"
)
_OTHER_INTERNATIONAL = rf"\+{SPACES}?[1-9]\d{{0,2}}(?:{_SEP_ANY}{{0,2}}\d){{7,13}}"
PHONE = re.compile(rf"(?<![\d+])(?:{_FRENCH_INTERNATIONAL}|{_NATIONAL}|{_OTHER_INTERNATIONAL})(?!\d)")

_LOCAL_CHAR = r"[\w.!#$%&'*+/=?^`{|}~-]"


def _bracketed(words: str) -> str:
    """``[at]``, `` (dot) ``, ``{point}``: one of ``words`` in brackets, spaces allowed around."""
    return rf"{SPACES}{{0,3}}[\[(<{{]{SPACES}{{0,2}}(?i:{words}){SPACES}{{0,2}}[\])>}}]{SPACES}{{0,3}}"


_OBFUSCATED_AT = rf"(?:{_bracketed('at|arobase|@')}|{SPACES}{{1,3}}(?i:arobase|@){SPACES}{{1,3}})"
_OBFUSCATED_DOT = rf"(?:\.|{_bracketed('dot|point')})"
EMAIL = re.compile(rf"(?i:mailto:)?(?<!{_LOCAL_CHAR}){_LOCAL_CHAR}+(?:@|%40)[\w-]+(?:\.[\w-]+)*")
"""An address, also without a dot after the ``@`` (``gardien@localhost``)."""
OBFUSCATED_EMAIL = re.compile(
    rf"(?<!{_LOCAL_CHAR}){_LOCAL_CHAR}+{_OBFUSCATED_AT}[\w-]+(?:{_OBFUSCATED_DOT}[\w-]+)+"
)
"""``jean [at] exemple [dot] fr``, ``jean arobase exemple.fr``, ``jean @ exemple.fr``: a dot required."""

_FILE_EXTENSION = re.compile(
    r"\.(?:pdf|jpe?g|png|gif|heic|tiff?|docx?|xlsx?|odt|ods|pptx?|txt|csv|zip|eml|msg)$", re.I
)
_EMAIL_HINT = re.compile(rf"(?i)@|%40|arobase|[\[(<{{]{SPACES}{{0,2}}at{SPACES}{{0,2}}[\])>}}]")
"""Cheap test first: most texts hold no ``@`` and no obfuscated one, and skip the full regex."""

_NIR_SEP = r"[ \t\r\n\u00a0\u00ad\u1680\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff.\u2010-\u2015\u2212-]{0,2}"
NIR = re.compile(
    rf"(?<!\d)(?P<sex>[1-478]){_NIR_SEP}(?P<year>\d\d){_NIR_SEP}(?P<month>0[1-9]|1[0-2]|[2-9]\d)"
    rf"{_NIR_SEP}(?P<dept>\d\d|2[AaBb]){_NIR_SEP}(?P<commune>\d{{3}}){_NIR_SEP}(?P<order>\d{{3}})"
    rf"(?:{_NIR_SEP}(?P<key>\d\d))?(?!\d)"
)
_CORSICA = {"2A": "19", "2B": "18"}


DIGIT = re.compile(r"\d")
"""Phones, IBANs and NIRs all hold digits: a text without any skips their regexes."""


def find_phones(text: str) -> Iterator[Hit]:
    """French numbers in every common writing (mobile, landline, +33, 0033) and other +CC numbers."""
    if not DIGIT.search(text):
        return
    for match in PHONE.finditer(text):
        yield Hit("phone", "phone", match.start(), match.end())


def find_emails(text: str) -> Iterator[Hit]:
    """Email addresses, with ``mailto:``, ``%40`` and ``jean [at] exemple [dot] fr`` writings."""
    if not _EMAIL_HINT.search(text):
        return
    for pattern in (EMAIL, OBFUSCATED_EMAIL):
        for match in pattern.finditer(text):
            yield Hit("email", "email", match.start(), match.end() - _file_extension_length(match.group()))


def _file_extension_length(address: str) -> int:
    """``4`` for ``jean@exemple.fr.pdf`` (an attachment name): the extension is not the address's."""
    domain = address.rpartition("@")[2]
    extension = _FILE_EXTENSION.search(domain)
    return len(extension.group()) if extension and domain.count(".") >= 2 else 0


def find_nirs(text: str) -> Iterator[Hit]:
    """Social-security numbers: 13 characters, plus a 2-digit key which must then be right."""
    if not DIGIT.search(text):
        return
    for match in NIR.finditer(text):
        if nir_is_plausible(match):
            yield Hit("nir", "nir", match.start(), match.end())


def nir_is_plausible(match: re.Match[str]) -> bool:
    """With a key: the key checks out. Without: a 1 or 2 sex digit (fewer false positives)."""
    key = match.group("key")
    if key is None:
        return match.group("sex") in "12"
    dept = match.group("dept").upper()
    body = "".join(match.group(name) for name in ("sex", "year", "month")) + _CORSICA.get(dept, dept)
    body += match.group("commune") + match.group("order")
    return nir_key(body) == int(key)


def nir_key(body: str) -> int:
    """The control key of a 13-digit NIR body (Corsica's 2A/2B already written 19/18)."""
    return 97 - int(body) % 97
