"""Privacy canaries: personal data planted in mail, in every writing, to prove nothing leaks.

``CANARIES`` are phone numbers, IBANs, BICs, email addresses and NIRs that exist nowhere else;
each has the writings a real mail may use (spaced, dotted, compact, +33, NBSP, grouped IBAN…)
and a compact ``needle``. ``leaks(text)`` finds every canary whose needle survives in ``text``,
whatever its separators, so a test can assert that no canary appears in any writing.

``leaks_in_html(page)`` does the same for markup: entities decoded, and once more with the tags
removed, so a number split over ``<span>``s or written with ``&nbsp;`` is still seen.

``canary_mails(rules)`` builds ``.eml`` bytes that plant the canaries in plain and HTML bodies,
quoted history, signatures, subjects, display names and attachment file names, across
quoted-printable, base64, 8bit, ISO-8859-1 and RFC 2047/2231 encodings, for every building of
``rules``. Each building's mails reply (In-Reply-To/References) to ``canary_openers(rules)[slug]``,
a message from the building's gestionnaire with the reference ``[DDE-2026-9NN]`` (a Sinistres
dossier, shown to the co-owners by default): deliver the opener first, then the mails.
"""

from __future__ import annotations

import base64
import html
import quopri
import re
import urllib.parse
from dataclasses import dataclass

from dossiermail.rules.model import Rules

_SQUEEZE = re.compile(r"[\s\u00ad\u200b-\u200d\u2060\ufeff.()/+\u2010-\u2015\u2212-]+")
_TAG = re.compile(r"<[^>]*>")


def squeeze(text: str) -> str:
    """``text`` without spaces (any width), dots, dashes, slashes, parentheses and plus signs."""
    return _SQUEEZE.sub("", text)


@dataclass(frozen=True)
class Canary:
    """One planted value: its ``kind``, the ``writings`` mail may use and the compact ``needle``."""

    kind: str
    writings: tuple[str, ...]
    needle: str
    """Compact, upper-cased form searched in squeezed text (phones: the 9 significant digits)."""

    @property
    def value(self) -> str:
        """The usual writing."""
        return self.writings[0]


def leaks(text: str, canaries: tuple[Canary, ...] | None = None) -> list[Canary]:
    """The canaries whose needle appears in ``text`` in any writing (separators ignored)."""
    compact = squeeze(text).upper()
    return [canary for canary in canaries or CANARIES if canary.needle in compact]


def leaks_in_html(page: str, canaries: tuple[Canary, ...] | None = None) -> list[Canary]:
    """``leaks`` for markup: in the source with entities decoded (attributes included), and in the
    text with tags removed (a number split over several elements)."""
    decoded = html.unescape(page)
    found = leaks(decoded, canaries) + leaks(html.unescape(_TAG.sub("", page)), canaries)
    return list(dict.fromkeys(found))


# --- Values ------------------------------------------------------------------------------------


def phone(national: str) -> Canary:
    """A French number (``0647182953``) in every common writing."""
    pairs = [national[i : i + 2] for i in range(0, 10, 2)]
    rest = " ".join(pairs[1:])
    significant = national[1:]
    writings = (
        " ".join(pairs),
        ".".join(pairs),
        "-".join(pairs),
        national,
        f"+33 {significant[0]} {rest}",
        f"+33 (0){pairs[0][1]} {rest}",
        f"0033 {significant[0]} {rest}",
        f"+33{significant}",
        f"+33 0{significant[0]} {rest}",
        "\u00a0".join(pairs),
        "\u202f".join(pairs),
        "\u2009".join(pairs),
        f"{pairs[0]}\u00a0{pairs[1]} {pairs[2]}\u00a0{pairs[3]} {pairs[4]}",
        "/".join(pairs),
        f"{national[0]} {national[1:4]} {national[4:7]} {national[7:]}",
        "\u2011".join(pairs),
        ". ".join(pairs),
        f"(+33) {significant[0]} {rest}",
        f"+33\u00a0{significant[0]}\u00a0{rest}",
    )
    return Canary("phone", writings, significant)


def iban(country: str, bban: str) -> Canary:
    """An IBAN with the right check digits, written compact, grouped by 4, with NBSP, lower-case."""
    check = 98 - int(_iban_digits(bban + country + "00")) % 97
    compact = f"{country}{check:02d}{bban}"
    groups = [compact[i : i + 4] for i in range(0, len(compact), 4)]
    writings = (
        " ".join(groups),
        compact,
        "\u00a0".join(groups),
        "-".join(groups),
        compact.lower(),
        f"{compact[:4]} {compact[4:]}",
    )
    return Canary("iban", writings, bban.upper())


def _iban_digits(text: str) -> str:
    return "".join(str(int(char, 36)) for char in text)


def nir(body: str) -> Canary:
    """A NIR (13 characters, ``2A``/``2B`` for Corsica) with its key, spaced and compact."""
    numeric = body[:5] + {"2A": "19", "2B": "18"}.get(body[5:7], body[5:7]) + body[7:]
    key = f"{97 - int(numeric) % 97:02d}"
    parts = (body[0], body[1:3], body[3:5], body[5:7], body[7:10], body[10:13], key)
    writings = (
        " ".join(parts),
        body + key,
        "\u00a0".join(parts),
        f"{body} {key}",
        ".".join(parts),
        "-".join(parts),
    )
    return Canary("nir", writings, body.upper())


def email(local: str, domain: str) -> Canary:
    """An address, bare and in the writings people use to dodge harvesters."""
    name, tld = domain.rsplit(".", 1)
    writings = (
        f"{local}@{domain}",
        f"mailto:{local}@{domain}",
        f"<{local}@{domain}>",
        f"{local.upper()}@{domain.upper()}",
        f"{local} [at] {domain}",
        f"{local} (at) {name} (dot) {tld}",
        f"{local}%40{domain}",
        f"{local} arobase {domain}",
        f"{local} @ {domain}",
    )
    return Canary("email", writings, squeeze(local).upper())


def bic(code: str) -> Canary:
    """A BIC; it only counts as one next to "BIC" or "SWIFT", so each writing says so."""
    spaced = f"{code[:4]} {code[4:6]} {code[6:8]} {code[8:]}".strip()
    writings = (f"BIC : {code}", f"BIC/SWIFT {code}", f"code SWIFT {spaced}", f"{code} (BIC)")
    return Canary("bic", writings, code)


PHONES = (
    phone("0647182953"),
    phone("0791837264"),
    phone("0493817265"),  # Nice landline
    phone("0184736291"),  # Paris landline
    phone("0978563412"),  # box
)
IBANS = (
    iban("FR", "30006000011234567890189"),
    iban("FR", "20041010050500013M02606"),
    iban("DE", "370400440532013000"),
    iban("BE", "539007547034"),
    iban("IT", "X0542811101000000123456"),
    iban("GB", "NWBK60161331926819"),
    iban("MC", "12739000700011111000H79"),
)
NIRS = (nir("1841276451089"), nir("2900506123456"), nir("1750299123321"), nir("268012A012345"))
EMAILS = (
    email("canari.marguerite7731", "exemple-prive.fr"),
    email("jd.canari4412", "courriel.example.org"),
)
BICS = (bic("CNRYFRPP"), bic("CNRYFRPPXXX"), bic("CNRBDEFF123"))
CANARIES: tuple[Canary, ...] = (*PHONES, *IBANS, *NIRS, *EMAILS, *BICS)


# --- Mails -------------------------------------------------------------------------------------

CANARY_DOMAIN = "canaries.example.org"
SENDER = EMAILS[0].value
"""The canary owner's own address: it is planted as a From address, so it must never show either."""


@dataclass(frozen=True)
class CanaryMail:
    """One generated message: where it plants canaries, how it is encoded, and which ones."""

    name: str
    building: str
    reference: str
    placement: str
    """plain, html, html-split, quoted, signature, subject, display-name, attachment-name."""
    encoding: str
    raw: bytes
    planted: tuple[Canary, ...]


@dataclass(frozen=True)
class _Part:
    headers: tuple[str, ...]
    body: str


def _chunks(text: str, size: int) -> list[str]:
    """``text`` cut so that each piece's UTF-8 form is at most ``size`` bytes, never mid-character."""
    pieces: list[str] = []
    current = ""
    for char in text:
        if len((current + char).encode()) > size:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current] if current else pieces


def encoded_words(text: str, encoding: str) -> str:
    """``text`` as RFC 2047 encoded-words (``B`` base64 or ``Q``), folded on several lines."""
    words: list[str] = []
    for piece in _chunks(text, 30):
        data = piece.encode()
        if encoding == "B":
            words.append(f"=?utf-8?B?{base64.b64encode(data).decode()}?=")
        else:
            quoted = "".join(_q_char(byte) for byte in data)
            words.append(f"=?utf-8?Q?{quoted}?=")
    return "\n ".join(words)


def _q_char(byte: int) -> str:
    char = chr(byte)
    if char == " ":
        return "_"
    return char if char.isascii() and char.isalnum() else f"={byte:02X}"


def _body_part(content_type: str, text: str, encoding: str, charset: str = "utf-8") -> _Part:
    data = text.encode(charset)
    if encoding == "quoted-printable":
        body = quopri.encodestring(data).decode("ascii")
    elif encoding == "base64":
        body = base64.encodebytes(data).decode("ascii")
    else:
        body = data.decode(charset)
    headers = (f"Content-Type: {content_type}; charset={charset}", f"Content-Transfer-Encoding: {encoding}")
    return _Part(headers, body)


def _attachment(filename_headers: tuple[str, ...]) -> _Part:
    pdf = base64.encodebytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n").decode()
    return _Part((*filename_headers, "Content-Transfer-Encoding: base64"), pdf)


def _mime(parts: list[_Part], subtype: str = "mixed") -> tuple[tuple[str, ...], str]:
    """Headers and body of the whole MIME tree: the part itself, or a multipart of them."""
    if len(parts) == 1:
        return parts[0].headers, parts[0].body
    boundary = f"=_canary_{subtype}_{len(parts)}"
    lines = []
    for part in parts:
        lines.extend([f"--{boundary}", *part.headers, "", part.body.rstrip("\n")])
    lines.append(f"--{boundary}--")
    return (f'Content-Type: multipart/{subtype}; boundary="{boundary}"',), "\n".join(lines) + "\n"


def _writings(canaries: tuple[Canary, ...], charset: str = "utf-8") -> list[tuple[Canary, str]]:
    """Every writing of every canary that ``charset`` can carry."""
    found = []
    for canary in canaries:
        for writing in canary.writings:
            try:
                writing.encode(charset)
            except UnicodeEncodeError:
                continue
            found.append((canary, writing))
    return found


LABELS = {"phone": "Mon téléphone", "iban": "IBAN", "email": "Écrivez-moi", "nir": "N° SS", "bic": "Banque"}


def _sentences(canaries: tuple[Canary, ...], charset: str = "utf-8", prefix: str = "") -> str:
    return "\n".join(f"{prefix}{LABELS[c.kind]} : {w}" for c, w in _writings(canaries, charset))


@dataclass(frozen=True)
class _Envelope:
    """The headers every canary mail of one building shares."""

    building: str
    building_address: str
    manager: str
    reference: str
    opener_id: str


def _headers(envelope: _Envelope, number: int, subject: str, sender: str) -> list[str]:
    day = 1 + number % 27
    return [
        f"From: {sender}",
        f"To: {envelope.building_address}",
        f"Cc: {envelope.manager}",
        f"Subject: {subject}",
        f"Date: Tue, {day:02d} Mar 2026 10:{number % 60:02d}:00 +0100",
        f"Message-ID: <canary-{envelope.reference}-{number}@{CANARY_DOMAIN}>",
        f"In-Reply-To: {envelope.opener_id}",
        f"References: {envelope.opener_id}",
        "MIME-Version: 1.0",
    ]


def _raw(headers: list[str], parts: list[_Part], subtype: str = "mixed") -> bytes:
    mime_headers, body = _mime(parts, subtype)
    return ("\n".join([*headers, *mime_headers]) + "\n\n" + body).encode("utf-8")


ALL = (*PHONES, *IBANS, *NIRS, *EMAILS, *BICS)
OWNER = f"Marguerite Canari <{SENDER}>"


def _named(
    envelope: _Envelope, number: int, kind: tuple[str, str], raw: bytes, planted: tuple[Canary, ...]
) -> CanaryMail:
    """The ``CanaryMail`` for ``raw``; ``kind`` is (placement, encoding)."""
    placement, encoding = kind
    name = f"{envelope.reference}-{number:02d}-{placement}-{encoding}"
    return CanaryMail(name, envelope.building, envelope.reference, placement, encoding, raw, planted)


def plain_mails(envelope: _Envelope, start: int) -> list[CanaryMail]:
    """Every writing of every canary in a text/plain body, in four encodings."""
    mails = []
    variants = [
        ("quoted-printable", "utf-8"),
        ("base64", "utf-8"),
        ("8bit", "utf-8"),
        ("quoted-printable", "iso-8859-1"),
    ]
    for offset, (encoding, charset) in enumerate(variants):
        number = start + offset
        body = f"Bonjour,\n\nVoici mes coordonnées.\n{_sentences(ALL, charset)}\n\nBien à vous,\nMarguerite\n"
        headers = _headers(envelope, number, f"Re: [{envelope.reference}] Mes coordonnées", OWNER)
        raw = _raw(headers, [_body_part("text/plain", body, encoding, charset)])
        mails.append(_named(envelope, number, ("plain", f"{encoding}-{charset}"), raw, ALL))
    return mails


def _html_body() -> str:
    lines = [f"<p>{LABELS[c.kind]}&nbsp;: {html.escape(w)}</p>" for c, w in _writings(ALL)]
    for canary in PHONES:
        pairs = canary.writings[0].split(" ")
        lines.append(
            f"<p>Portable : {'&nbsp;'.join(pairs)} ou {'&#160;'.join(pairs)}"
            f" ou &#48;{pairs[0][1:]} {' '.join(pairs[1:])}</p>"
        )
        lines.append(f'<p><a href="tel:{canary.writings[7]}">Appelez-moi</a></p>')
    for canary in EMAILS:
        lines.append(f'<p><a href="mailto:{canary.value}?subject=RDV" title="{canary.value}">écrire</a></p>')
    lines.append(f'<p><img src="cid:logo" alt="{PHONES[0].value}" title="{IBANS[0].value}"></p>')
    return "<html><body>\n" + "\n".join(lines) + "\n</body></html>\n"


def html_mails(envelope: _Envelope, start: int) -> list[CanaryMail]:
    """HTML-only bodies: text, entities (``&nbsp;``, ``&#48;``), ``tel:``/``mailto:`` links, attributes."""
    mails = []
    for offset, encoding in enumerate(["quoted-printable", "base64"]):
        number = start + offset
        headers = _headers(envelope, number, f"Re: [{envelope.reference}] Coordonnées (HTML)", OWNER)
        raw = _raw(headers, [_body_part("text/html", _html_body(), encoding)])
        mails.append(_named(envelope, number, ("html", encoding), raw, ALL))
    return mails


def html_split_mail(envelope: _Envelope, number: int) -> CanaryMail:
    """HTML only, Outlook-style: one number runs across several inline elements (``<span>``s).

    A renderer that redacts each text node alone lets it through; ``leaks_in_html`` sees it.
    """
    phone, account = PHONES[1].value, IBANS[1].value
    body = (
        "<html><body><p>Bonjour,</p>"
        f'<p class="MsoNormal"><span style="color:#1F497D">Tél. {phone[:5]}</span>'
        f"<span>{phone[5:11]}</span><b>{phone[11:]}</b></p>"
        f"<p>IBAN <span>{account[:9]}</span><i>{account[9:]}</i></p>"
        f"<p>{EMAILS[1].value.split('@')[0]}<span>@</span>{EMAILS[1].value.split('@')[1]}</p>"
        "</body></html>\n"
    )
    headers = _headers(envelope, number, f"Re: [{envelope.reference}] Signature Outlook", OWNER)
    raw = _raw(headers, [_body_part("text/html", body, "quoted-printable")])
    return _named(
        envelope, number, ("html-split", "quoted-printable"), raw, (PHONES[1], IBANS[1], EMAILS[1], EMAILS[0])
    )


def quoted_mails(envelope: _Envelope, start: int) -> list[CanaryMail]:
    """Canaries only in quoted history: ``>`` quoting after an attribution, and an Outlook block."""
    attribution = f"Le lun. 2 mars 2026 à 09:12, Marguerite Canari <{SENDER}> a écrit :"
    quoted = f"{attribution}\n{_sentences(ALL, prefix='> ')}\n"
    outlook = (
        "-----Message d'origine-----\n"
        f"De : Marguerite Canari <{SENDER}>\nEnvoyé : lundi 2 mars 2026 09:12\n"
        f"À : {envelope.building_address}\nObjet : [{envelope.reference}] Coordonnées\n\n{_sentences(ALL)}\n"
    )
    mails = []
    for offset, (style, history) in enumerate([("gmail", quoted), ("outlook", outlook)]):
        number = start + offset
        body = f"Bonjour,\n\nMerci, c'est noté.\n\nClaire\n\n{history}"
        headers = _headers(envelope, number, f"Re: [{envelope.reference}] Coordonnées", envelope.manager)
        raw = _raw(headers, [_body_part("text/plain", body, "quoted-printable")])
        mails.append(_named(envelope, number, ("quoted", style), raw, ALL))
    return mails


def signature_mail(envelope: _Envelope, number: int) -> CanaryMail:
    """Canaries only in a ``-- `` signature (base64, as some phones send it)."""
    body = f"Bonjour,\n\nJe serai présente jeudi.\n\n-- \nMarguerite Canari\n{_sentences(ALL)}\n"
    headers = _headers(envelope, number, f"Re: [{envelope.reference}] Rendez-vous", OWNER)
    raw = _raw(headers, [_body_part("text/plain", body, "base64")])
    return _named(envelope, number, ("signature", "base64"), raw, ALL)


def _pick(canaries: tuple[Canary, ...], turn: int) -> tuple[Canary, str]:
    """One canary and one of its writings, different for each ``turn``."""
    canary = canaries[turn % len(canaries)]
    return canary, canary.writings[(turn // len(canaries) + turn) % len(canary.writings)]


def subject_mails(envelope: _Envelope, start: int, turn: int) -> list[CanaryMail]:
    """A canary in the Subject, as RFC 2047 base64 and Q encoded-words and as plain ASCII."""
    mails = []
    for offset, group in enumerate([PHONES, IBANS, EMAILS, NIRS, PHONES]):
        number = start + offset
        canary, writing = _pick(group, turn + offset)
        subject = f"Re: [{envelope.reference}] {LABELS[canary.kind]} {writing}"
        encoding = ("B", "Q", "ascii")[offset % 3]
        if encoding == "ascii" and not subject.isascii():
            encoding = "B"
        written = subject if encoding == "ascii" else encoded_words(subject, encoding)
        raw = _raw(
            _headers(envelope, number, written, OWNER), [_body_part("text/plain", "Voir l'objet.\n", "8bit")]
        )
        mails.append(_named(envelope, number, ("subject", encoding), raw, (canary, EMAILS[0])))
    return mails


def display_name_mails(envelope: _Envelope, start: int, turn: int) -> list[CanaryMail]:
    """Canaries in From/To/Cc display names (encoded-words B and Q, and a quoted string)."""
    mails = []
    for offset, encoding in enumerate(["B", "Q", "quoted"]):
        number = start + offset
        phone, phone_writing = _pick(PHONES, turn + offset)
        account, account_writing = _pick(IBANS, turn + offset)
        names = (f"Marguerite {phone_writing}", f"{EMAILS[1].value}", f"RIB {account_writing}")
        shown = [f'"{name}"' if encoding == "quoted" else encoded_words(name, encoding) for name in names]
        headers = _headers(
            envelope, number, f"Re: [{envelope.reference}] Nom affiché", f"{shown[0]} <{SENDER}>"
        )
        headers[1] = f"To: {shown[1]} <{envelope.building_address.split('<')[-1].rstrip('>')}>"
        headers[2] = f"Cc: {shown[2]} <{EMAILS[1].value}>, {envelope.manager}"
        raw = _raw(headers, [_body_part("text/plain", "Bonjour,\nvoir les noms.\n", "8bit")])
        mails.append(_named(envelope, number, ("display-name", encoding), raw, (phone, account, *EMAILS)))
    return mails


def attachment_name_mail(envelope: _Envelope, number: int, turn: int) -> CanaryMail:
    """Canaries in attachment file names: RFC 2231, RFC 2047 (Outlook) and plain ASCII."""
    phone, phone_writing = _pick(PHONES, turn)
    account, account_writing = _pick(IBANS, turn)
    person = NIRS[turn % len(NIRS)]
    rfc2231 = urllib.parse.quote(f"Contact {phone_writing}.pdf")
    rfc2047 = encoded_words(f"RIB {account_writing}.pdf", "B")
    ascii_name = f"Attestation {person.writings[1]} {SENDER}.pdf"
    attachments = [
        _attachment(
            ("Content-Type: application/pdf", f"Content-Disposition: attachment; filename*=utf-8''{rfc2231}")
        ),
        _attachment(
            (
                f'Content-Type: application/pdf; name="{rfc2047}"',
                f'Content-Disposition: attachment; filename="{rfc2047}"',
            )
        ),
        _attachment(
            ("Content-Type: application/pdf", f'Content-Disposition: attachment; filename="{ascii_name}"')
        ),
    ]
    body = _body_part("text/plain", "Bonjour,\nci-joint les documents.\n", "quoted-printable")
    raw = _raw(
        _headers(envelope, number, f"Re: [{envelope.reference}] Pièces jointes", OWNER), [body, *attachments]
    )
    return _named(
        envelope, number, ("attachment-name", "rfc2231-rfc2047"), raw, (phone, account, person, EMAILS[0])
    )


def opener(envelope: _Envelope) -> bytes:
    """The manager's first message: it opens the dossier the canary mails reply to."""
    headers = [
        f"From: {envelope.manager}",
        f"To: {envelope.building_address}",
        f"Subject: [{envelope.reference}] Dégât des eaux – canaris de confidentialité",
        "Date: Mon, 02 Mar 2026 09:00:00 +0100",
        f"Message-ID: {envelope.opener_id}",
        "MIME-Version: 1.0",
    ]
    body = "Bonjour,\n\nNous ouvrons ce dossier pour la fuite signalée.\n\nClaire\n"
    return _raw(headers, [_body_part("text/plain", body, "quoted-printable")])


def canary_reference(index: int) -> str:
    """The dossier reference of the canary mails of the ``index``-th building (a Sinistres prefix)."""
    return f"DDE-2026-{900 + index}"


def envelopes(rules: Rules) -> list[_Envelope]:
    """One envelope per building of ``rules``, from its first address and its gestionnaire."""
    found = []
    for index, building in enumerate(rules.buildings):
        manager = next(c for c in rules.contacts if c.role == "gestionnaire" and building.slug in c.buildings)
        address = building.addresses[0] if building.addresses else f"dossiers+{building.slug}@{CANARY_DOMAIN}"
        reference = canary_reference(index)
        found.append(
            _Envelope(
                building=building.slug,
                building_address=f"{building.name} <{address}>",
                manager=f"{manager.name} <{manager.email}>",
                reference=reference,
                opener_id=f"<opener-{reference}@{CANARY_DOMAIN}>",
            )
        )
    return found


def canary_mails(rules: Rules) -> list[CanaryMail]:
    """For each building: the canary mails of every placement and encoding (not the opener)."""
    mails: list[CanaryMail] = []
    for turn, envelope in enumerate(envelopes(rules)):
        mails += plain_mails(envelope, 1)
        mails += html_mails(envelope, 5)
        mails.append(html_split_mail(envelope, 7))
        mails += quoted_mails(envelope, 8)
        mails.append(signature_mail(envelope, 10))
        mails += subject_mails(envelope, 11, turn * 5)
        mails += display_name_mails(envelope, 16, turn * 3)
        mails.append(attachment_name_mail(envelope, 19, turn))
    return mails


def canary_openers(rules: Rules) -> dict[str, bytes]:
    """Per building slug, the manager's message that opens the canary dossier (deliver it first)."""
    return {envelope.building: opener(envelope) for envelope in envelopes(rules)}
