"""Regenerate the sample syndic mails (``samples/*.eml``) and ``samples/expected.jsonl``.

The .eml files are committed; this script only exists so that they can be rebuilt or extended
consistently (Message-IDs, References chains, dates, attachments). Everything is synthetic: people,
phone numbers, IBANs and every domain (subdomains of example.fr/.com/.net/.org).

Run: ``.venv/bin/python samples/generate.py`` (writes next to this file, deterministic output).

Each mail states the outcome that routing v1 must give (``expected.jsonl``); the comments next to
each mail say why.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import quopri
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

OUT = Path(__file__).resolve().parent
PARIS = ZoneInfo("Europe/Paris")

Header = tuple[str, str]
Person = tuple[str, str]

# --- people (all synthetic) -------------------------------------------------------------------
SYNDIC = "cabinet-azur.example.fr"
CLAIRE: Person = ("Claire Martin", f"claire.martin@{SYNDIC}")
JULIEN: Person = ("Julien Roux", f"julien.roux@{SYNDIC}")
SOPHIE: Person = ("Sophie Bernard", f"sophie.bernard@{SYNDIC}")
COMPTA: Person = ("Comptabilité Cabinet Azur", f"comptabilite@{SYNDIC}")
CONTACT: Person = ("Cabinet Azur Syndic", f"contact@{SYNDIC}")
POSTMASTER: Person = ("Microsoft Outlook", f"postmaster@{SYNDIC}")
MIMOSAS: Person = ("Résidence Les Mimosas", f"mimosas@{SYNDIC}")
BELVEDERE: Person = ("Le Belvédère", f"belvedere@{SYNDIC}")
CARABACEL: Person = ("Villa Carabacel", f"carabacel@{SYNDIC}")
DOSSIERS_CARABACEL: Person = ("Dossiers Villa Carabacel", f"dossiers+villa-carabacel@{SYNDIC}")

PLUMBER: Person = ("Marc Durand", "marc.durand@plomberie-durand.example.com")
PLUMBER_SECRETARY: Person = ("Isabelle Durand", "secretariat@plomberie-durand.example.com")
LIFT: Person = (
    "Ascenseurs Riviera - Service dépannage",
    "depannage@ascenseurs-riviera.example.com",
)
LIFT_TECH: Person = ("Thomas Lopez", "thomas.lopez@ascenseurs-riviera.example.com")
ROOFER: Person = ("Toitures Niçoises - Patrick Lambert", "contact@toitures-nicoises.example.net")
EXPERT: Person = ("Laurent Cheval", "l.cheval@expertises-cote-azur.example.com")
INSURER: Person = (
    "Assurances du Littoral - Sinistres",
    "sinistres@assurances-littoral.example.com",
)

HENRI: Person = ("Henri Fabre", "henri.fabre@example.net")  # CS Les Mimosas, lot 3
JOSIANE: Person = ("Josiane Marchetti", "josiane.marchetti@example.org")  # CS Les Mimosas, lot 9
MONIQUE: Person = ("Monique Blanc", "monique.blanc@example.org")  # CS Le Belvédère, lot 104
GERARD: Person = ("Gérard Olivieri", "gerard.olivieri@example.net")  # CS Villa Carabacel, lot 201
MARTINE: Person = ("Martine Ferraro", "martine.ferraro@example.org")  # CS Villa Carabacel, lot 207

NATHALIE: Person = ("Nathalie Petit", "nathalie.petit@example.org")  # Les Mimosas, lot 12
HELENE: Person = ("Hélène Giraud", "helene.giraud@example.net")  # Les Mimosas, lot 17
SYLVIE: Person = ("Sylvie Moreau", "sylvie.moreau@example.org")  # Les Mimosas, lot 21
ELODIE: Person = ("Élodie Rossi", "elodie.rossi@example.org")  # Le Belvédère, lot 131
PAUL: Person = ("Paul Nguyen", "paul.nguyen@example.net")  # Le Belvédère, lot 152
FRANCOIS: Person = ("François Leroy", "francois.leroy@example.net")  # lots 7 and 118
KARIM: Person = ("Karim Benali", "karim.benali@example.com")  # tenant, not in contacts
NEWSLETTER: Person = ("L'Écho de la Copropriété", "lettre@echo-copro.example.com")

CLAIRE_SIG = """--\x20
Claire Martin
Gestionnaire de copropriété
Cabinet Azur Syndic - 27 rue Pastorelli, 06000 Nice
Tél. : 04 93 00 00 12 - Port. : 06 12 34 56 12
Carte professionnelle CPI 0605 2099 000 000 001 - CCI Nice Côte d'Azur"""

JULIEN_SIG = """--\x20
Julien Roux
Gestionnaire de copropriété - Cabinet Azur Syndic
27 rue Pastorelli, 06000 Nice
Ligne directe : 04 93 00 00 14 - Port. : 06 12 34 56 14"""

SOPHIE_SIG = """--\x20
Sophie Bernard
Assistante de copropriété - Cabinet Azur Syndic
Tél. : 04 93 00 00 10 (du lundi au vendredi, 9h-12h / 14h-17h)"""

PLUMBER_SIG = """--\x20
Marc Durand
Plomberie Durand - 14 rue Vernier, 06000 Nice
06 12 34 56 31 / 04 93 00 00 31
Dépannage 7j/7"""


# --- low-level encoders -----------------------------------------------------------------------
def _hash(seed: str, n: int = 32) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def outlook_id(seed: str) -> str:
    """A Message-ID as Exchange Online writes it."""
    return f"<PR3P195MB0871{_hash(seed).upper()}@PR3P195MB0871.EURP195.PROD.OUTLOOK.COM>"


def gmail_id(seed: str) -> str:
    """A Message-ID as Gmail writes it."""
    raw = base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()
    return f"<CAK{raw[:41].replace('/', '_')}@mail.gmail.com>"


def apple_id(seed: str, domain: str) -> str:
    """A Message-ID as Apple Mail (macOS / iPhone) writes it: an upper-case UUID."""
    h = _hash(seed).upper()
    return f"<{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}@{domain}>"


def uuid_id(seed: str, domain: str) -> str:
    """A Message-ID as Thunderbird writes it: a lower-case UUID."""
    h = _hash(seed)
    return f"<{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}@{domain}>"


def plain_id(seed: str, domain: str, when: datetime) -> str:
    """A Message-ID as a webmail / small MTA writes it: timestamp plus random."""
    return f"<{when.strftime('%Y%m%d%H%M%S')}.{_hash(seed, 8).upper()}@{domain}>"


def thread_index(seed: str, replies: int = 0) -> str:
    """An Outlook Thread-Index: 22 bytes, plus 5 per reply level."""
    digest = hashlib.sha256(seed.encode()).digest() * 2
    return base64.b64encode(b"\x01\xdc" + digest[: 20 + 5 * replies]).decode()


def q_words(text: str, charset: str = "utf-8") -> str:
    """RFC 2047 Q encoded-words (folded), never splitting a character across two words."""
    words: list[str] = []
    current = ""
    prefix = f"=?{charset.upper()}?Q?"
    for char in text:
        if char == " ":
            piece = "_"
        elif char.isascii() and (char.isalnum() or char in "!*+-/"):
            piece = char
        else:
            piece = "".join(f"={b:02X}" for b in char.encode(charset))
        if len(prefix) + len(current) + len(piece) + 2 > 75:
            words.append(f"{prefix}{current}?=")
            current = ""
        current += piece
    words.append(f"{prefix}{current}?=")
    return "\n ".join(words)


def b_words(text: str, charset: str = "utf-8") -> str:
    """RFC 2047 B encoded-words (folded), as Gmail writes long subjects."""
    words: list[str] = []
    chunk = ""
    for char in text:
        if len(base64.b64encode((chunk + char).encode(charset))) > 60:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return "\n ".join(
        f"=?{charset.upper()}?B?{base64.b64encode(w.encode(charset)).decode()}?=" for w in words
    )


def hdr(text: str, *, mode: str = "Q", charset: str = "utf-8") -> str:
    """A header text: as is when ASCII, else RFC 2047."""
    if text.isascii():
        return text
    return b_words(text, charset) if mode == "B" else q_words(text, charset)


def addr(person: Person, *, charset: str = "utf-8", mode: str = "Q") -> str:
    """A mailbox for To/From/Cc, the display name encoded when needed."""
    name, email = person
    if not name.isascii():
        return f"{hdr(name, mode=mode, charset=charset)} <{email}>"
    if any(c in name for c in ",.()'-:;"):
        return f'"{name}" <{email}>'
    return f"{name} <{email}>"


def addrs(*people: Person, charset: str = "utf-8") -> str:
    """A folded address list."""
    return ",\n\t".join(addr(p, charset=charset) for p in people)


def refs(*ids: str) -> str:
    """A folded References header value."""
    return "\n ".join(ids)


def quote(text: str) -> str:
    """Quote a text the way every client does it in plain text."""
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


# --- dates and the French strings clients write in quote headers -------------------------------
def paris(month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A 2026 wall-clock time in Nice (CET/CEST picked by the zone database)."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=PARIS)


def utc(month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A 2026 time written by a server that stamps Date in UTC (+0000)."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


JOURS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MOIS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre"]  # fmt: skip
MOIS_ABR = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
            "nov.", "déc."]  # fmt: skip


def fr_outlook(when: datetime) -> str:
    """'mercredi 14 janvier 2026 18:12' (Outlook's "Envoyé :" line)."""
    w = when.astimezone(PARIS)
    return f"{JOURS[w.weekday()]} {w.day} {MOIS[w.month - 1]} {w.year} {w:%H:%M}"


def fr_gmail(when: datetime) -> str:
    """'jeu. 15 janv. 2026 à 09:50' (Gmail's attribution line)."""
    w = when.astimezone(PARIS)
    return f"{JOURS[w.weekday()][:3]}. {w.day} {MOIS_ABR[w.month - 1]} {w.year} à {w:%H:%M}"


def fr_short(when: datetime) -> str:
    """'12/01/2026 à 10:15' (Thunderbird / webmail attribution line)."""
    w = when.astimezone(PARIS)
    return f"{w:%d/%m/%Y} à {w:%H:%M}"


def fr_apple(when: datetime) -> str:
    """'12 janv. 2026 à 17:32' (Apple Mail's attribution line)."""
    w = when.astimezone(PARIS)
    return f"{w.day} {MOIS_ABR[w.month - 1]} {w.year} à {w:%H:%M}"


def outlook_quote(
    sender: Person, when: datetime, to: list[Person], subject: str, text: str,
    cc: list[Person] | None = None,
) -> str:  # fmt: skip
    """The block Outlook FR puts under a reply or a forward (no '>' prefix)."""
    lines = [
        "________________________________",
        f"De : {sender[0]} <{sender[1]}>",
        f"Envoyé : {fr_outlook(when)}",
        "À : " + "; ".join(f"{p[0]} <{p[1]}>" for p in to),
    ]
    if cc:
        lines.append("Cc : " + "; ".join(f"{p[0]} <{p[1]}>" for p in cc))
    lines += [f"Objet : {subject}", "", text]
    return "\n".join(lines)


# --- tiny valid binary attachments -------------------------------------------------------------
def _huffman_codes(counts: list[int], symbols: list[int]) -> dict[int, tuple[int, int]]:
    codes: dict[int, tuple[int, int]] = {}
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(counts[length - 1]):
            codes[symbols[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


def tiny_jpeg(levels: list[list[int]]) -> bytes:
    """A baseline greyscale JPEG whose 8x8 blocks are flat grey levels (DC-only coefficients)."""
    rows, cols = len(levels), len(levels[0])
    dc_counts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]  # ITU T.81 table K.3
    dc_symbols = list(range(12))
    dc_codes = _huffman_codes(dc_counts, dc_symbols)
    bits: list[int] = []
    previous = 0
    for row in levels:
        for level in row:
            dc = 8 * (level - 128)
            diff, previous = dc - previous, dc
            size = abs(diff).bit_length()
            code, length = dc_codes[size]
            bits += [(code >> (length - 1 - i)) & 1 for i in range(length)]
            extra = diff if diff >= 0 else diff + (1 << size) - 1
            bits += [(extra >> (size - 1 - i)) & 1 for i in range(size)]
            bits.append(0)  # AC table: the only code, "0", is end-of-block
    bits += [1] * (-len(bits) % 8)
    scan = bytearray()
    for i in range(0, len(bits), 8):
        byte = int("".join(map(str, bits[i : i + 8])), 2)
        scan.append(byte)
        if byte == 0xFF:
            scan.append(0x00)

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload

    height, width = (8 * rows).to_bytes(2, "big"), (8 * cols).to_bytes(2, "big")
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00")
        + segment(0xDB, b"\x00" + b"\x01" * 64)
        + segment(0xC0, b"\x08" + height + width + b"\x01\x01\x11\x00")
        + segment(0xC4, b"\x00" + bytes(dc_counts) + bytes(dc_symbols))
        + segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + bytes(scan)
        + b"\xff\xd9"
    )


def _pdf_text(text: str) -> str:
    out = []
    for char in text:
        if char in "()\\":
            out.append("\\" + char)
        elif char.isascii():
            out.append(char)
        else:
            code = {"€": 0x80, "–": 0x96, "’": 0x92, "œ": 0x9C}.get(char, ord(char))
            if code > 0xFF:
                raise ValueError(f"not in WinAnsiEncoding: {char!r}")
            out.append(f"\\{code:03o}")
    return "".join(out)


def tiny_pdf(title: str, lines: list[str], created: datetime) -> bytes:
    """A one-page A4 PDF 1.4 (Helvetica, WinAnsiEncoding) with a correct xref table."""
    ops = ["BT", "/F2 15 Tf", "16 TL", "56 780 Td", f"({_pdf_text(title)}) Tj", "T*", "/F1 10 Tf",
           "14 TL"]  # fmt: skip
    for line in lines:
        ops += ["T*", f"({_pdf_text(line)}) Tj"]
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    stamp = created.strftime("D:%Y%m%d%H%M%S") + "+01'00'"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        f"<< /Title ({_pdf_text(title)}) /Producer (Cabinet Azur Syndic) /CreationDate ({stamp}) >>".encode(
            "latin-1"
        ),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 7 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# --- MIME entities ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Entity:
    """A MIME entity: its own header lines and its already encoded body."""

    headers: tuple[Header, ...]
    body: str


def text_part(
    text: str, *, subtype: str = "plain", charset: str = "utf-8", cte: str = "quoted-printable",
    params: str = "",
) -> Entity:  # fmt: skip
    """A text/* entity, encoded as asked (quoted-printable, base64 or 8bit)."""
    raw = text.encode(charset)
    if cte == "quoted-printable":
        body = quopri.encodestring(raw).decode("ascii")
    elif cte == "base64":
        body = base64.encodebytes(raw).decode("ascii")
    else:
        body = text if text.endswith("\n") else text + "\n"
    return Entity(
        (("Content-Type", f"text/{subtype}; charset=\"{charset}\"{params}"),
         ("Content-Transfer-Encoding", cte)),
        body,
    )  # fmt: skip


def binary_part(
    data: bytes, ctype: str, filename: str, *, inline: bool = False, cid: str | None = None,
    extra_params: str = "",
) -> Entity:  # fmt: skip
    """A base64 attachment; a non-ASCII file name is written both RFC 2047 and RFC 2231 ways."""
    if filename.isascii():
        name_param, file_param = f'name="{filename}"', f'filename="{filename}"'
    else:
        encoded = "".join(
            c if c.isascii() and (c.isalnum() or c in "._-") else "".join(
                f"%{b:02X}" for b in c.encode()) for c in filename
        )  # fmt: skip
        name_param = f'name="{q_words(filename)}"'
        file_param = f"filename*=utf-8''{encoded}"
    headers: list[Header] = [
        ("Content-Type", f"{ctype}; {name_param}{extra_params}"),
        ("Content-Disposition", f"{'inline' if inline else 'attachment'};\n\t{file_param}"),
        ("Content-Transfer-Encoding", "base64"),
    ]
    if cid:
        headers.append(("Content-ID", f"<{cid}>"))
    return Entity(tuple(headers), base64.encodebytes(data).decode("ascii"))


def multipart(
    subtype: str, boundary: str, parts: list[Entity], *, close: bool = True, preamble: str = "",
    params: str = "",
) -> Entity:  # fmt: skip
    """A multipart entity; ``close=False`` leaves out the closing boundary (malformed on purpose)."""
    body = preamble
    for part in parts:
        body += f"--{boundary}\n{render(part)}\n"
    if close:
        body += f"--{boundary}--\n"
    return Entity((("Content-Type", f'multipart/{subtype};\n\tboundary="{boundary}"{params}'),), body)


def render(entity: Entity) -> str:
    """Header lines, blank line, body."""
    return "".join(f"{k}: {v}\n" for k, v in entity.headers) + "\n" + entity.body


def outlook_html(text: str) -> str:
    """What Outlook puts in the text/html alternative: one MsoNormal paragraph per line."""
    paragraphs = "".join(
        f'<p class="MsoNormal">{html.escape(line) or "&nbsp;"}<o:p></o:p></p>\n' for line in text.split("\n")
    )
    return (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns="http://www.w3.org/TR/REC-html40">\n'
        '<head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n'
        '<style><!--\np.MsoNormal {margin:0cm; font-size:11.0pt; font-family:"Aptos",sans-serif;}'
        "\n--></style>\n</head>\n"
        '<body lang="FR" link="#467886" vlink="#96607D" style="word-wrap:break-word">\n'
        f'<div class="WordSection1">\n{paragraphs}</div>\n</body>\n</html>\n'
    )


def gmail_html(new: str, attribution: str, quoted: str) -> str:
    """What Gmail puts in the text/html alternative of a reply."""

    def br(text: str) -> str:
        return "<br>".join(html.escape(line) for line in text.split("\n"))

    return (
        f'<div dir="ltr">{br(new)}</div><br><div class="gmail_quote gmail_quote_container">'
        f'<div dir="ltr" class="gmail_attr">{html.escape(attribution)}<br></div>'
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
        f'border-left:1px solid rgb(204,204,204);padding-left:1ex">{br(quoted)}</blockquote></div>\n'
    )


# --- whole messages ---------------------------------------------------------------------------
@dataclass
class Sample:
    """One .eml file and what routing v1 must decide for it."""

    name: str
    outcome: str
    building: str | None
    dossier: str | None
    raw: bytes = field(repr=False)


SAMPLES: list[Sample] = []


def received(host: str, ip: str, when: datetime, by: str = "mx1.cabinet-azur.example.fr") -> Header:
    """One Received header, as the syndic's inbound MX adds it."""
    stamp = format_datetime(when.astimezone(PARIS))
    return ("Received", f"from {host} ({host} [{ip}])\n\tby {by} (Postfix) with ESMTPS id "
                        f"4{_hash(host + stamp, 9).upper()};\n\t{stamp}")  # fmt: skip


def outlook_headers(seed: str, topic: str, when: datetime, replies: int = 0,
                    attach: bool = False) -> list[Header]:  # fmt: skip
    """The Exchange Online headers Claire's, Julien's and Sophie's mails carry."""
    fraction = int(_hash(seed, 4), 16) % 10000
    stamp = when.astimezone(UTC).strftime("%d %b %Y %H:%M:%S.") + f"{fraction:04d} (UTC)"
    return [
        ("Thread-Topic", hdr(topic)),
        ("Thread-Index", thread_index(seed, replies)),
        ("Accept-Language", "fr-FR, en-US"),
        ("Content-Language", "fr-FR"),
        ("X-MS-Has-Attach", "yes" if attach else ""),
        ("X-MS-TNEF-Correlator", ""),
        ("X-MS-Exchange-Organization-AuthAs", "Internal"),
        ("X-MS-Exchange-Organization-AuthSource", "PR3P195MB0871.EURP195.PROD.OUTLOOK.COM"),
        ("X-MS-Exchange-Organization-SCL", "-1"),
        ("X-MS-Exchange-CrossTenant-originalarrivaltime", stamp),
        ("X-MS-Exchange-Transport-CrossTenantHeadersStamped", "PR3P195MB0871"),
        ("MIME-Version", "1.0"),
    ]


def add(
    name: str, expect: tuple[str, str | None, str | None], headers: list[Header], entity: Entity,
    *, crlf: bool = True,
) -> None:  # fmt: skip
    """Render one message (top headers + entity) and remember it with its expected outcome."""
    for key, value in headers:
        if not value.isascii():
            raise ValueError(f"{name}: header {key} is not ASCII")
    text = "".join(f"{k}: {v}\n" if v else f"{k}:\n" for k, v in headers) + render(entity)
    if crlf:
        text = text.replace("\n", "\r\n")
    outcome, building, dossier = expect
    SAMPLES.append(Sample(f"{name}.eml", outcome, building, dossier, text.encode("utf-8")))


def date(when: datetime) -> Header:
    """A Date header exactly as written by the sender's client."""
    return ("Date", format_datetime(when))


def assigned(building: str, dossier: str) -> tuple[str, str | None, str | None]:
    """Expected: joins (or opens) this dossier."""
    return ("assigned", building, dossier)


def review(building: str | None = None) -> tuple[str, str | None, str | None]:
    """Expected: a person must decide (building known or not)."""
    return ("needs_review", building, None)


IGNORED: tuple[str, str | None, str | None] = ("ignored", None, None)

PHOTO_1 = tiny_jpeg([[214, 205, 190], [180, 122, 150], [196, 168, 181]])
PHOTO_2 = tiny_jpeg([[120, 96, 110, 150], [88, 70, 101, 160], [140, 132, 150, 181]])


# =============================================================================================
# Les Mimosas - dégât des eaux [DDE-2026-014]
# =============================================================================================
DDE = "DDE-2026-014"
DDE_TITLE = "Dégât des eaux lot 12 – recherche de fuite"
DDE_SUBJECT = f"[{DDE}] {DDE_TITLE}"
T = {
    "dde01": paris(1, 12, 8, 47, 12),
    "dde02": paris(1, 12, 10, 15, 41),
    "dde03": paris(1, 12, 17, 32, 5),
    "dde04": paris(1, 12, 19, 5, 48),
    "dde05": paris(1, 14, 18, 12, 30),
    "dde06": paris(1, 15, 9, 50, 2),
    "dde07": paris(1, 15, 20, 41, 19),
    "dde08": paris(1, 16, 11, 2, 44),
    "dde09": utc(1, 16, 10, 48, 10),  # = 11:48 in Nice: AFTER dde08 although "10:48" < "11:02"
    "dde10": paris(1, 17, 10, 26, 3),
    "dde11": paris(1, 19, 16, 30, 55),
    "dde12": paris(1, 20, 9, 15, 0),
    "dde13": paris(1, 20, 9, 15, 31),
    "dde14": paris(1, 22, 14, 2, 9),
    "dde15": paris(1, 26, 8, 55, 17),
    "dde16": paris(1, 27, 11, 40, 26),
    "dde17": paris(2, 3, 14, 20, 0),
}
M = {
    "dde01": apple_id("dde01", "example.org"),
    "dde02": outlook_id("dde02"),
    "dde03": uuid_id("dde03", "plomberie-durand.example.com"),
    "dde04": apple_id("dde04", "example.org"),
    "dde05": uuid_id("dde05", "plomberie-durand.example.com"),
    "dde06": outlook_id("dde06"),
    "dde07": gmail_id("dde07"),
    "dde08": outlook_id("dde08"),
    "dde09": f"<{_hash('dde09')}@plomberie-durand.example.com>",
    "dde10": plain_id("dde10", "example.net", T["dde10"]),
    "dde11": uuid_id("dde11", "plomberie-durand.example.com"),
    "dde12": outlook_id("dde12"),
    "dde13": f"<{_hash('dde13').upper()}@AM9P250MB0412.EURP250.PROD.OUTLOOK.COM>",
    "dde14": f"<{_hash('dde14').upper()}@AM9P250MB0412.EURP250.PROD.OUTLOOK.COM>",
    "dde15": uuid_id("dde15", "plomberie-durand.example.com"),
    "dde16": plain_id("dde16", "plomberie-durand.example.com", T["dde16"]),
    "dde17": outlook_id("dde17"),
}
THUNDERBIRD_UA = "Mozilla Thunderbird"
ROUNDCUBE_UA = "Roundcube Webmail/1.6.9"

# 01 - owner of lot 12 reports the leak to the building address, with two iPhone photos.
# No reference yet -> needs_review, building from the address.
dde01_text = """Bonjour Madame Martin,

Depuis ce matin une tache d'humidité s'est formée au plafond de ma salle de bain \
(lot 12, 3e étage, porte gauche) et ça goutte au-dessus de la baignoire. \
Je pense que ça vient de l'appartement du dessus (lot 17).

Je vous joins deux photos. Pouvez-vous faire intervenir quelqu'un rapidement ?

Cordialement,
Nathalie Petit
06 12 34 56 21

Envoyé de mon iPhone"""
add(
    "mimosas-dde-01-owner-reports-leak-jpeg-photos",
    review("les-mimosas"),
    [
        received("mail.example.org", "198.51.100.23", T["dde01"]),
        ("From", addr(NATHALIE)),
        ("Mime-Version", "1.0 (1.0)"),
        ("Subject", hdr("Fuite au plafond de ma salle de bain - lot 12")),
        ("Date", format_datetime(T["dde01"])),
        ("Message-Id", M["dde01"]),
        ("To", addr(MIMOSAS)),
        ("X-Mailer", "iPhone Mail (22C161)"),
    ],
    multipart(
        "mixed",
        "Apple-Mail-7C1B2E04-5A2D-4F1C-9E3B-1D2C3B4A5F60",
        [
            text_part(dde01_text),
            binary_part(
                PHOTO_1,
                "image/jpeg",
                "IMG_2031.jpeg",
                inline=True,
                extra_params=";\n\tx-apple-part-url=7F1C2A90-3B41-4D55-8E1A-0C1D2E3F4A5B",
            ),
            binary_part(
                PHOTO_2,
                "image/jpeg",
                "IMG_2032.jpeg",
                inline=True,
                extra_params=";\n\tx-apple-part-url=0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9",
            ),
        ],
    ),
)

# 02 - the gestionnaire opens the dossier: reference in the subject, To the plumber, Cc the
# building address (exactly one) -> assigned, the dossier is created with this title.
dde02_text = f"""Bonjour Monsieur Durand,

Je vous remercie d'intervenir en recherche de fuite à la Résidence Les Mimosas, \
12 avenue des Fleurs à Nice : infiltration au plafond de la salle de bain du lot 12 \
(3e étage gauche, Mme Petit), probablement depuis le lot 17 au-dessus (Mme Giraud) \
ou depuis la colonne d'évacuation commune.

Accès : code porte : 4821, puis escalier B. Mme Petit est joignable au 06 12 34 56 21.

Merci de me faire parvenir votre compte rendu et, le cas échéant, un devis de réparation \
en rappelant la référence {DDE} dans l'objet de vos messages.

Bien cordialement,

{CLAIRE_SIG}"""
add(
    "mimosas-dde-02-gestionnaire-opens-dossier-to-plumber-cc-building",
    assigned("les-mimosas", DDE),
    [
        ("From", addr(CLAIRE)),
        ("To", addr(PLUMBER)),
        ("CC", addrs(MIMOSAS, NATHALIE)),
        ("Subject", hdr(DDE_SUBJECT)),
        date(T["dde02"]),
        ("Message-ID", M["dde02"]),
        *outlook_headers("dde02", DDE_SUBJECT, T["dde02"]),
    ],
    multipart(
        "alternative",
        "_000_PR3P195MB0871dde02_",
        [text_part(dde02_text), text_part(outlook_html(dde02_text), subtype="html")],
    ),
)

# 03 - plumber proposes a visit, reply-all, Thunderbird quoting -> assigned (known sender).
dde03_text = f"""Bonjour Madame Martin,

Bien reçu. Je peux passer mercredi 14 janvier à 9h pour la recherche de fuite \
(caméra thermique + test à la fluorescéine sur la colonne EU).
Il faudra que Mme Giraud (lot 17) soit présente ou laisse les clés à la gardienne.

Cordialement,

{PLUMBER_SIG}

Le {fr_short(T["dde02"])}, Claire Martin a écrit :
{quote(dde02_text)}"""
add(
    "mimosas-dde-03-plumber-proposes-visit-thunderbird-quote",
    assigned("les-mimosas", DDE),
    [
        received("smtp.plomberie-durand.example.com", "203.0.113.31", T["dde03"]),
        ("Message-ID", M["dde03"]),
        date(T["dde03"]),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
        ("Subject", hdr(f"Re: {DDE_SUBJECT}")),
        ("Content-Language", "fr"),
        ("To", addr(CLAIRE)),
        ("Cc", addrs(MIMOSAS, NATHALIE)),
        ("References", M["dde02"]),
        ("From", addr(PLUMBER)),
        ("In-Reply-To", M["dde02"]),
    ],
    text_part(dde03_text, params="; format=flowed", cte="8bit"),
    crlf=False,
)

# 04 - the owner confirms from her iPhone (Apple Mail quoting, "Envoyé de mon iPhone").
dde04_text = f"""Parfait pour mercredi 9h, je serai là. Le code porte : 4821 n'a pas changé.

Envoyé de mon iPhone

> Le {fr_apple(T["dde03"])}, Marc Durand <{PLUMBER[1]}> a écrit :
>
{quote(dde03_text.split(chr(10) + "Le ", maxsplit=1)[0].rstrip())}"""
add(
    "mimosas-dde-04-owner-confirms-iphone-apple-mail",
    assigned("les-mimosas", DDE),
    [
        received("mail.example.org", "198.51.100.23", T["dde04"]),
        ("From", addr(NATHALIE)),
        ("Mime-Version", "1.0 (1.0)"),
        ("Subject", hdr(f"Re: {DDE_SUBJECT}")),
        ("Date", format_datetime(T["dde04"])),
        ("References", refs(M["dde02"], M["dde03"])),
        ("Cc", addrs(CLAIRE, MIMOSAS)),
        ("In-Reply-To", M["dde03"]),
        ("Message-Id", M["dde04"]),
        ("To", addr(PLUMBER)),
        ("X-Mailer", "iPhone Mail (22C161)"),
    ],
    text_part(dde04_text),
)

# 05 - the plumber's visit report + quote (PDF). He answered Claire only: the Cc (building
# address, owner) is gone, References remain; the reference is still in the subject -> assigned.
QUOTE_PDF = tiny_pdf(
    "PLOMBERIE DURAND - DEVIS N° D2026-0058",
    [
        "Plomberie Durand SARL - 14 rue Vernier, 06000 Nice",
        "Client : Syndicat des copropriétaires Résidence Les Mimosas",
        "c/o Cabinet Azur Syndic - 27 rue Pastorelli, 06000 Nice",
        f"Référence syndic : {DDE}          Date : 14/01/2026",
        "",
        "1. Dépose coffrage salle de bain lot 17 ........................  180,00 €",
        "2. Remplacement tronçon colonne EU fonte DN100 par PVC (1,2 m) ...  640,00 €",
        "3. Raccords, manchons, colliers coupe-feu ........................  148,00 €",
        "4. Essais d'étanchéité, repose coffrage ..........................  200,00 €",
        "",
        "Total HT : 1 168,00 €     TVA 10 % : 116,80 €     Total TTC : 1 284,80 €",
        "",
        "Validité : 1 mois. Bon pour accord (date, signature, cachet) :",
    ],
    T["dde05"],
)
dde05_text = f"""Madame Martin,

Suite à mon passage de ce matin : la fuite vient de la colonne d'évacuation commune \
(fonte DN100), fissurée au niveau du manchon en traversée de plancher entre le lot 17 \
et le lot 12. Ce n'est donc pas un équipement privatif.

Ci-joint mon devis n° D2026-0058 pour le remplacement du tronçon (1 284,80 € TTC). \
Je peux intervenir dès lundi 19 si vous validez avant vendredi midi.

En attendant, j'ai posé un collier de réparation provisoire, ça ne goutte plus.

Cordialement,

{PLUMBER_SIG}

Le {fr_short(T["dde04"])}, Nathalie Petit a écrit :
{quote(dde04_text)}"""
add(
    "mimosas-dde-05-plumber-quote-pdf-reply-without-cc",
    assigned("les-mimosas", DDE),
    [
        received("smtp.plomberie-durand.example.com", "203.0.113.31", T["dde05"]),
        ("Message-ID", M["dde05"]),
        date(T["dde05"]),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
        ("Subject", hdr(f"RE: {DDE_SUBJECT}")),
        ("Content-Language", "fr"),
        ("To", addr(CLAIRE)),
        ("References", refs(M["dde02"], M["dde03"], M["dde04"])),
        ("In-Reply-To", M["dde04"]),
        ("From", addr(PLUMBER)),
    ],
    multipart(
        "mixed",
        "------------d4Ra0Ue1gM3x9Lq8Zt2Yb6Wc",
        [
            text_part(dde05_text, params="; format=flowed", cte="8bit"),
            binary_part(QUOTE_PDF, "application/pdf", "Devis_D2026-0058_Residence_Les_Mimosas.pdf"),
        ],
        preamble="This is a multi-part message in MIME format.\n",
    ),
    crlf=False,
)

# 06 - Outlook FR forward "TR :" to the conseil syndical, the PDF re-attached -> assigned.
dde06_subject = f"TR : RE: {DDE_SUBJECT}"
dde06_text = f"""Bonjour Monsieur Fabre, Madame Marchetti,

La fuite du lot 12 provient de la colonne d'évacuation commune : la réparation est donc \
à la charge du syndicat. Vous trouverez ci-dessous le compte rendu de Plomberie Durand et \
son devis en pièce jointe (1 284,80 € TTC).

Le montant dépasse le seuil de consultation du conseil syndical fixé par la dernière AG \
(1 000 € TTC) : pouvez-vous me donner l'avis du conseil d'ici vendredi midi ?

Bien cordialement,

{CLAIRE_SIG}

{
    outlook_quote(
        PLUMBER,
        T["dde05"],
        [CLAIRE],
        f"RE: {DDE_SUBJECT}",
        dde05_text.split(chr(10) + "Le ", maxsplit=1)[0].rstrip(),
    )
}"""
add(
    "mimosas-dde-06-tr-forward-to-conseil-syndical-outlook-quote",
    assigned("les-mimosas", DDE),
    [
        ("From", addr(CLAIRE)),
        ("To", addrs(HENRI, JOSIANE)),
        ("CC", addr(MIMOSAS)),
        ("Subject", hdr(dde06_subject)),
        date(T["dde06"]),
        ("Message-ID", M["dde06"]),
        *outlook_headers("dde02", DDE_SUBJECT, T["dde06"], replies=2, attach=True),
    ],
    multipart(
        "mixed",
        "_004_PR3P195MB0871dde06_",
        [
            multipart(
                "alternative",
                "_000_PR3P195MB0871dde06_",
                [text_part(dde06_text), text_part(outlook_html(dde06_text), subtype="html")],
            ),
            binary_part(QUOTE_PDF, "application/pdf", "Devis_D2026-0058_Residence_Les_Mimosas.pdf"),
        ],
    ),
)

# 07 - the council's vote, Gmail reply-all with "Le ... a écrit :" quoting -> assigned.
dde07_new = """Bonjour Madame Martin,

Nous nous sommes concertés ce soir : avis favorable du conseil syndical au devis \
D2026-0058 de Plomberie Durand, 3 voix pour sur 3 (M. Fabre, Mme Marchetti, \
M. Leroy par téléphone).

Merci de faire intervenir l'entreprise au plus vite et de tenir informés Mmes Petit et Giraud.

Bien à vous,
Henri Fabre
Président du conseil syndical - Résidence Les Mimosas"""
dde07_attr = f"Le {fr_gmail(T['dde06'])}, Claire Martin <{CLAIRE[1]}> a écrit :"
dde07_quoted = dde06_text.split("\n\n" + CLAIRE_SIG, maxsplit=1)[0]
add(
    "mimosas-dde-07-conseil-syndical-vote-gmail-quote",
    assigned("les-mimosas", DDE),
    [
        received("mail-sor-f41.gmail-relay.example.com", "192.0.2.41", T["dde07"]),
        ("MIME-Version", "1.0"),
        ("References", M["dde06"]),
        ("In-Reply-To", M["dde06"]),
        ("From", addr(HENRI)),
        date(T["dde07"]),
        ("Message-ID", M["dde07"]),
        ("Subject", hdr(f"Re: {dde06_subject}", mode="B")),
        ("To", addr(CLAIRE)),
        ("Cc", addrs(JOSIANE, MIMOSAS)),
    ],
    multipart(
        "alternative",
        "000000000000c3e5a2063f1b7d40",
        [
            text_part(f"{dde07_new}\n\n{dde07_attr}\n\n{quote(dde07_quoted)}\n"),
            text_part(gmail_html(dde07_new, dde07_attr, dde07_quoted), subtype="html"),
        ],
    ),
)

# 08 - purchase order (bon de commande, PDF) to the plumber; Cc building + both owners.
# A new Outlook message (no In-Reply-To): the reference alone puts it in the dossier.
DDE08_SUBJECT = f"[{DDE}] Bon de commande BC-2026-0042 - remplacement tronçon colonne EU"
BC_PDF = tiny_pdf(
    "CABINET AZUR SYNDIC - BON DE COMMANDE BC-2026-0042",
    [
        "Syndicat des copropriétaires Résidence Les Mimosas - 12 avenue des Fleurs, 06000 Nice",
        "Fournisseur : Plomberie Durand SARL - 14 rue Vernier, 06000 Nice",
        f"Dossier : {DDE}     Devis accepté : D2026-0058 du 14/01/2026",
        "Objet : remplacement tronçon colonne EU entre lots 17 et 12",
        "Montant TTC : 1 284,80 €     Intervention : lundi 19/01/2026 à 8h30",
        "Avis favorable du conseil syndical du 15/01/2026.",
        "Facture à adresser à : comptabilite@cabinet-azur.example.fr",
    ],
    T["dde08"],
)
dde08_text = f"""Bonjour Monsieur Durand,

Le conseil syndical a donné un avis favorable à votre devis D2026-0058. Vous trouverez \
ci-joint le bon de commande BC-2026-0042 pour une intervention le lundi 19 janvier à 8h30.

Mme Giraud (lot 17, en copie) vous donnera accès à sa salle de bain ; Mme Petit (lot 12) \
est également en copie.

Bien cordialement,

{CLAIRE_SIG}"""
add(
    "mimosas-dde-08-bon-de-commande-pdf",
    assigned("les-mimosas", DDE),
    [
        ("From", addr(CLAIRE)),
        ("To", addr(PLUMBER)),
        ("CC", addrs(MIMOSAS, HELENE, NATHALIE)),
        ("Subject", hdr(DDE08_SUBJECT)),
        date(T["dde08"]),
        ("Message-ID", M["dde08"]),
        *outlook_headers("dde08", DDE08_SUBJECT, T["dde08"], attach=True),
    ],
    multipart(
        "mixed",
        "_004_PR3P195MB0871dde08_",
        [
            multipart(
                "alternative",
                "_000_PR3P195MB0871dde08_",
                [text_part(dde08_text), text_part(outlook_html(dde08_text), subtype="html")],
            ),
            binary_part(BC_PDF, "application/pdf", "BC-2026-0042.pdf"),
        ],
    ),
)

# 09 - the plumber answers from his webmail, whose server stamps Date in UTC (+0000), and he
# retitled the subject: the reference is lost, In-Reply-To/References to 08 remain.
# Date trap: "10:48 +0000" is 11:48 in Nice, i.e. 46 minutes AFTER 08 ("11:02 +0100").
# Sorting on the local clock would route it before its parent (orphan) -> must be assigned.
dde09_text = f"""Bonjour,

Bon de commande bien reçu, merci. Je confirme lundi 19/01 à 8h30 avec mon apprenti. \
Prévoir la coupure d'eau de la colonne B entre 9h et 12h : pouvez-vous faire afficher \
un avis dans le hall ?

Cordialement,
Marc Durand - 06 12 34 56 31

Le {fr_short(T["dde08"])}, Claire Martin a écrit :
{quote(dde08_text.split(chr(10) + "--", maxsplit=1)[0].rstrip())}"""
add(
    "mimosas-dde-09-plumber-reply-subject-lost-reference-utc-date",
    assigned("les-mimosas", DDE),
    [
        received("webmail.plomberie-durand.example.com", "203.0.113.32", T["dde09"]),
        ("MIME-Version", "1.0"),
        date(T["dde09"]),
        ("From", addr(PLUMBER)),
        ("To", addr(CLAIRE)),
        ("Cc", addr(HELENE)),
        ("Subject", hdr("Intervention lundi 19/01 8h30 - coupure d'eau colonne B")),
        ("In-Reply-To", M["dde08"]),
        ("References", M["dde08"]),
        ("Message-ID", M["dde09"]),
        ("X-Sender", PLUMBER[1]),
        ("User-Agent", ROUNDCUBE_UA),
    ],
    text_part(dde09_text, params="; format=flowed"),
    crlf=False,
)

# 10 - the upstairs owner (lot 17) answers 08 from an old webmail: ISO-8859-1 everywhere
# (encoded name, encoded subject, QP body). Known contact + reference -> assigned.
dde10_text = f"""Bonjour Madame Martin,

Je serai présente lundi à partir de 8h. Attention, le coffrage de la salle de bain est \
carrelé : je souhaite qu'il soit refait à l'identique (carrelage de réserve dans la cave, \
box n° 17).

Cordialement,
Hélène Giraud
04 93 00 00 47

----- Mail d'origine -----
De: "Claire Martin" <{CLAIRE[1]}>
À: "Marc Durand" <{PLUMBER[1]}>
Cc: "Résidence Les Mimosas" <{MIMOSAS[1]}>, "Hélène Giraud" <{HELENE[1]}>
Envoyé: {fr_outlook(T["dde08"])}
Objet: {DDE08_SUBJECT}

{dde08_text.split(chr(10) + "--", maxsplit=1)[0].rstrip()}"""
add(
    "mimosas-dde-10-upstairs-owner-iso-8859-1-reply",
    assigned("les-mimosas", DDE),
    [
        received("smtp-out.example.net", "198.51.100.77", T["dde10"]),
        date(T["dde10"]),
        ("From", addr(HELENE, charset="iso-8859-1")),
        ("To", addr(CLAIRE)),
        ("Cc", f"{addr(PLUMBER)},\n\t{addr(MIMOSAS, charset='iso-8859-1')},\n\t{addr(NATHALIE)}"),
        ("Message-ID", M["dde10"]),
        ("In-Reply-To", M["dde08"]),
        ("References", M["dde08"]),
        ("Subject", hdr(f"Re: {DDE08_SUBJECT}", charset="iso-8859-1")),
        ("MIME-Version", "1.0"),
        ("X-Mailer", "Zimbra 8.8.15_GA_4508 (ZimbraWebClient - FF120 (Linux)/8.8.15_GA_4508)"),
    ],
    text_part(dde10_text, charset="iso-8859-1"),
)

# 11 - intervention report, new message from the plumber, body in base64 -> assigned.
dde11_text = f"""Madame Martin,

Compte rendu d'intervention du 19/01/2026 - Résidence Les Mimosas, colonne B.

- 8h35 : dépose du coffrage salle de bain lot 17 ;
- 9h05 - 11h20 : coupure d'eau, remplacement de 1,20 m de colonne fonte DN100 par du PVC \
avec manchons de dilatation et collier coupe-feu ;
- 11h40 : essais d'étanchéité concluants, remise en eau ;
- 14h00 : repose du coffrage (carrelage de Mme Giraud reposé).

Le plafond du lot 12 doit maintenant sécher 3 à 4 semaines avant reprise des peintures \
(à voir avec l'assureur de l'immeuble).

Facture à suivre.

{PLUMBER_SIG}"""
add(
    "mimosas-dde-11-progress-report-base64",
    assigned("les-mimosas", DDE),
    [
        received("smtp.plomberie-durand.example.com", "203.0.113.31", T["dde11"]),
        ("Message-ID", M["dde11"]),
        date(T["dde11"]),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
        ("Subject", hdr(f"[{DDE}] Compte rendu d'intervention du 19/01/2026")),
        ("To", addr(CLAIRE)),
        ("Cc", addr(MIMOSAS)),
        ("From", addr(PLUMBER)),
    ],
    text_part(dde11_text, cte="base64"),
)

# 12 - the gestionnaire writes to the building insurer's expert (not in contacts.yaml):
# the expert becomes a participant of the dossier -> assigned.
DDE12_SUBJECT = f"[{DDE}] Déclaration de sinistre - embellissements lot 12 (convention IRSI)"
dde12_text = f"""Monsieur,

Nous vous confirmons la déclaration du sinistre dégât des eaux survenu le 12/01/2026 à la \
Résidence Les Mimosas (contrat multirisque immeuble n° MRI-0000-4471).

Origine : colonne d'évacuation commune, réparée le 19/01/2026 (facture à venir). \
Dommages : plafond de la salle de bain du lot 12 (Mme Petit, 06 12 34 56 21).

Pouvez-vous nous proposer une date d'expertise ?

Bien cordialement,

{CLAIRE_SIG}"""
add(
    "mimosas-dde-12-gestionnaire-declares-to-insurance-expert",
    assigned("les-mimosas", DDE),
    [
        ("From", addr(CLAIRE)),
        ("To", addr(EXPERT)),
        ("CC", addr(MIMOSAS)),
        ("Subject", hdr(DDE12_SUBJECT)),
        date(T["dde12"]),
        ("Message-ID", M["dde12"]),
        *outlook_headers("dde12", DDE12_SUBJECT, T["dde12"]),
    ],
    multipart(
        "alternative",
        "_000_PR3P195MB0871dde12_",
        [text_part(dde12_text), text_part(outlook_html(dde12_text), subtype="html")],
    ),
)

# 13 - the expert's Outlook out-of-office: "Réponse automatique :", Auto-Submitted,
# In-Reply-To the dossier message. Ignored before any routing step.
dde13_text = """Bonjour,

Je suis absent du cabinet jusqu'au mercredi 21 janvier inclus, avec un accès limité à ma \
messagerie. Pour toute urgence : 04 93 00 00 60.

Laurent Cheval
Expertises Côte d'Azur"""
add(
    "mimosas-dde-13-expert-out-of-office-auto-submitted",
    IGNORED,
    [
        received("mail-am9p250.outbound.example.com", "203.0.113.90", T["dde13"]),
        ("From", addr(EXPERT)),
        ("To", addr(CLAIRE)),
        ("Subject", hdr(f"Réponse automatique : {DDE12_SUBJECT}")),
        ("Thread-Topic", hdr(DDE12_SUBJECT)),
        ("Thread-Index", thread_index("dde12", 1)),
        date(T["dde13"]),
        ("Message-ID", M["dde13"]),
        ("References", M["dde12"]),
        ("In-Reply-To", M["dde12"]),
        ("Auto-Submitted", "auto-replied"),
        ("X-MS-Exchange-Inbox-Rules-Loop", EXPERT[1]),
        ("X-Auto-Response-Suppress", "All"),
        ("X-MS-Exchange-Generated-Message-Source", "Mailbox Rules Agent"),
        ("Content-Language", "fr-FR"),
        ("MIME-Version", "1.0"),
    ],
    text_part(dde13_text),
)

# 14 - the expert writes a NEW mail (no In-Reply-To/References) with the reference, To the
# gestionnaire only. He is not in contacts.yaml but he was a recipient of 12 -> assigned.
dde14_text = """Madame Martin,

Suite à votre déclaration, je vous propose une réunion d'expertise contradictoire le \
mercredi 28 janvier 2026 à 10h dans l'appartement de Mme Petit (lot 12).

Merci de me transmettre d'ici là la facture de recherche de fuite et le devis de \
réparation, ainsi que les coordonnées de l'assureur de Mme Petit.

Cordialement,

Laurent Cheval
Expert - Expertises Côte d'Azur
Tél. : 04 93 00 00 60 - 06 12 34 56 60"""
add(
    "mimosas-dde-14-expert-new-mail-participant-not-in-contacts",
    assigned("les-mimosas", DDE),
    [
        received("mail-am9p250.outbound.example.com", "203.0.113.90", T["dde14"]),
        ("From", addr(EXPERT)),
        ("To", addr(CLAIRE)),
        ("Subject", hdr(f"[{DDE}] Rendez-vous d'expertise le 28/01 à 10h - lot 12")),
        ("Thread-Topic", hdr(f"[{DDE}] Rendez-vous d'expertise le 28/01 à 10h - lot 12")),
        ("Thread-Index", thread_index("dde14")),
        date(T["dde14"]),
        ("Message-ID", M["dde14"]),
        ("Accept-Language", "fr-FR"),
        ("Content-Language", "fr-FR"),
        ("MIME-Version", "1.0"),
    ],
    text_part(dde14_text),
)

# 15 - the invoice (PDF) -> assigned.
INVOICE_PDF = tiny_pdf(
    "PLOMBERIE DURAND - FACTURE N° F-2026-0117",
    [
        "Syndicat des copropriétaires Résidence Les Mimosas, c/o Cabinet Azur Syndic",
        f"Votre référence : {DDE} - Bon de commande BC-2026-0042",
        "Intervention du 19/01/2026 : remplacement tronçon colonne EU (devis D2026-0058)",
        "",
        "Total HT : 1 168,00 €     TVA 10 % : 116,80 €     Total TTC : 1 284,80 €",
        "Règlement à 30 jours par virement :",
        "IBAN FR76 3000 6000 0112 3456 7890 189 - BIC EXMPFRPPXXX",
    ],
    T["dde15"],
)
DDE15_SUBJECT = f"[{DDE}] Facture F-2026-0117 - colonne EU Les Mimosas"
dde15_text = f"""Bonjour,

Veuillez trouver ci-joint notre facture F-2026-0117 relative au bon de commande \
BC-2026-0042 (1 284,80 € TTC), payable à 30 jours.

Cordialement,

{PLUMBER_SIG}"""
add(
    "mimosas-dde-15-plumber-invoice-pdf",
    assigned("les-mimosas", DDE),
    [
        received("smtp.plomberie-durand.example.com", "203.0.113.31", T["dde15"]),
        ("Message-ID", M["dde15"]),
        date(T["dde15"]),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
        ("Subject", hdr(DDE15_SUBJECT)),
        ("To", addr(CLAIRE)),
        ("Cc", addr(COMPTA)),
        ("From", addr(PLUMBER)),
    ],
    multipart(
        "mixed",
        "------------Fq2Lk7bN0cR4vX9sJ1mT5hW3",
        [
            text_part(dde15_text),
            binary_part(INVOICE_PDF, "application/pdf", "Facture_F-2026-0117.pdf"),
        ],
        preamble="This is a multi-part message in MIME format.\n",
    ),
)

# 16 - the plumber's secretary (an address in NO contact and never a participant) replies to
# the invoice with the reference: the reference step refuses an unknown sender, but
# References point at 15 (already routed) -> assigned by thread headers.
dde16_text = f"""Bonjour,

Suite à la demande de votre service comptable, vous trouverez ci-dessous l'attestation \
simplifiée de TVA à taux réduit (10 %) : les travaux portent sur un immeuble d'habitation \
achevé depuis plus de deux ans.

Merci de nous la retourner signée.

Isabelle Durand
Secrétariat - Plomberie Durand
04 93 00 00 31

-------- Message d'origine --------
De : Marc Durand <{PLUMBER[1]}>
Date : {fr_short(T["dde15"])}
Objet : {DDE15_SUBJECT}

{dde15_text.split(chr(10) + "--", maxsplit=1)[0].rstrip()}"""
add(
    "mimosas-dde-16-plumber-secretary-unknown-sender-with-references",
    assigned("les-mimosas", DDE),
    [
        received("webmail.plomberie-durand.example.com", "203.0.113.32", T["dde16"]),
        ("MIME-Version", "1.0"),
        date(T["dde16"]),
        ("From", addr(PLUMBER_SECRETARY)),
        ("To", addr(CLAIRE)),
        ("Cc", addr(COMPTA)),
        ("Subject", hdr(f"RE: {DDE15_SUBJECT}")),
        ("In-Reply-To", M["dde15"]),
        ("References", M["dde15"]),
        ("Message-ID", M["dde16"]),
        ("User-Agent", ROUNDCUBE_UA),
    ],
    text_part(dde16_text, params="; format=flowed"),
)

# 17 - the gestionnaire closes the dossier -> assigned.
DDE17_SUBJECT = f"[{DDE}] Clôture du dossier - dégât des eaux lot 12"
dde17_text = f"""Madame Petit, Madame Giraud,

La colonne d'évacuation a été réparée le 19 janvier et l'expertise du 28 janvier a conclu \
à une prise en charge des embellissements du lot 12 par l'assureur de l'immeuble \
(convention IRSI, tranche 1). Mme Petit recevra directement l'indemnité.

Le dossier est clos côté syndic. Le conseil syndical est en copie pour information.

Bien cordialement,

{CLAIRE_SIG}"""
add(
    "mimosas-dde-17-gestionnaire-closes-dossier",
    assigned("les-mimosas", DDE),
    [
        ("From", addr(CLAIRE)),
        ("To", addrs(NATHALIE, HELENE)),
        ("CC", addrs(MIMOSAS, HENRI, JOSIANE)),
        ("Subject", hdr(DDE17_SUBJECT)),
        date(T["dde17"]),
        ("Message-ID", M["dde17"]),
        *outlook_headers("dde17", DDE17_SUBJECT, T["dde17"]),
    ],
    multipart(
        "alternative",
        "_000_PR3P195MB0871dde17_",
        [text_part(dde17_text), text_part(outlook_html(dde17_text), subtype="html")],
    ),
)


# --- Les Mimosas: precision traps and a complaint ---------------------------------------------
# An insurer nobody knows quotes the existing reference, no References header, To the building
# address: the reference is not trusted from an unknown sender -> needs_review, les-mimosas.
T["trap-insurer"] = paris(2, 4, 10, 5, 33)
add(
    "mimosas-dde-trap-insurer-unknown-sender-reference-no-references",
    review("les-mimosas"),
    [
        received("relay.assurances-littoral.example.com", "203.0.113.140", T["trap-insurer"]),
        ("From", addr(INSURER)),
        ("To", addr(MIMOSAS)),
        ("Subject", hdr(f"[{DDE}] Votre sinistre n° SIN-2026-778451 - pièces manquantes")),
        date(T["trap-insurer"]),
        (
            "Message-ID",
            plain_id("trap-insurer", "assurances-littoral.example.com", T["trap-insurer"]),
        ),
        ("MIME-Version", "1.0"),
        ("X-Mailer", "GestSin 4.2"),
    ],
    text_part(f"""Madame, Monsieur,

Dans le cadre du sinistre déclaré par notre assurée Mme Nathalie Petit (contrat habitation \
n° HAB-0000-1290), référence de votre dossier [{DDE}], nous restons dans l'attente :
- du rapport de recherche de fuite ;
- de l'attestation de réparation de la cause.

Nous vous remercions de nous les adresser en rappelant notre référence SIN-2026-778451.

Le service Sinistres
Assurances du Littoral - 04 93 00 00 80
(Merci de ne pas répondre directement à ce message.)"""),
)

# The plumber (a known supplier) quotes the Mimosas reference but writes to Villa Carabacel's
# address (auto-completion slip): reference says les-mimosas, address says villa-carabacel
# -> conflicting buildings -> needs_review, building null.
T["trap-plumber"] = paris(2, 5, 16, 45, 2)
add(
    "mimosas-dde-trap-plumber-reference-to-carabacel-address",
    review(None),
    [
        received("smtp.plomberie-durand.example.com", "203.0.113.31", T["trap-plumber"]),
        ("Message-ID", uuid_id("trap-plumber", "plomberie-durand.example.com")),
        date(T["trap-plumber"]),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
        ("Subject", hdr(f"[{DDE}] Attestation de fin de travaux colonne EU")),
        ("To", addr(CARABACEL)),
        ("From", addr(PLUMBER)),
    ],
    text_part(f"""Bonjour,

Comme demandé par l'expert, voici notre attestation : nous certifions avoir remplacé le \
19/01/2026 le tronçon fuyard de la colonne d'évacuation EU (bâtiment B), cause du sinistre \
du lot 12. Les essais d'étanchéité sont conformes.

{PLUMBER_SIG}"""),
)

# The owner of lot 12 mistypes the reference (041 instead of 014): that dossier does not exist
# and she is not a gestionnaire, so nothing is opened -> needs_review, les-mimosas.
T["trap-typo"] = paris(2, 6, 18, 12, 40)
add(
    "mimosas-dde-trap-owner-mistyped-reference",
    review("les-mimosas"),
    [
        received("mail.example.org", "198.51.100.23", T["trap-typo"]),
        ("From", addr(NATHALIE)),
        ("Mime-Version", "1.0 (1.0)"),
        ("Subject", hdr("[DDE-2026-041] Reprise peinture plafond - quand ?")),
        date(T["trap-typo"]),
        ("Message-Id", apple_id("trap-typo", "example.org")),
        ("To", addr(MIMOSAS)),
        ("X-Mailer", "iPhone Mail (22C161)"),
    ],
    text_part("""Bonjour,

L'expert est passé, le plafond a séché. Est-ce que je peux faire venir mon peintre ou \
faut-il attendre l'accord de l'assurance ?

Merci,
Nathalie Petit

Envoyé de mon iPhone"""),
)

# A known owner complains (noise, cleaning) to the building address, no reference, no thread
# -> needs_review, les-mimosas (never guessed into an open dossier).
T["complaint"] = paris(2, 23, 21, 14, 8)
add(
    "mimosas-complaint-noise-cleaning-no-reference",
    review("les-mimosas"),
    [
        received("mail-sor-f41.gmail-relay.example.com", "192.0.2.41", T["complaint"]),
        ("MIME-Version", "1.0"),
        ("From", addr(SYLVIE)),
        date(T["complaint"]),
        ("Message-ID", gmail_id("complaint")),
        (
            "Subject",
            hdr("Bruit dans la cage d'escalier et ménage du hall - ça ne va plus", mode="B"),
        ),
        ("To", addr(MIMOSAS)),
    ],
    multipart(
        "alternative",
        "0000000000007a1e4c0641d2b9a7",
        [
            text_part("""Bonjour,

Je me permets de vous écrire encore une fois : depuis trois semaines, des travaux dans \
l'appartement du 2e font du bruit dès 7h30 le samedi, ce qui est contraire au règlement \
de copropriété.

Par ailleurs le hall n'a pas été lavé depuis dix jours, les poubelles débordent le lundi \
et la lumière du parking ne fonctionne plus.

Merci de faire le nécessaire auprès de la société de nettoyage.

Sylvie Moreau
Lot 21 - Résidence Les Mimosas"""),
            text_part(
                '<div dir="ltr">Bonjour,<br><br>Je me permets de vous écrire encore une '
                "fois : depuis trois semaines, des travaux dans l'appartement du 2e font du "
                "bruit dès 7h30 le samedi, ce qui est contraire au règlement de copropriété."
                "<br><br>Par ailleurs le hall n'a pas été lavé depuis dix jours, les "
                "poubelles débordent le lundi et la lumière du parking ne fonctionne plus."
                "<br><br>Merci de faire le nécessaire auprès de la société de nettoyage."
                "<br><br>Sylvie Moreau<br>Lot 21 - Résidence Les Mimosas</div>\n",
                subtype="html",
            ),
        ],
    ),
)


# =============================================================================================
# Le Belvédère - ascenseur en panne [ASC-2026-003]
# =============================================================================================
ASC = "ASC-2026-003"
ASC_SUBJECT = f"[{ASC}] Ascenseur en panne - Le Belvédère, 45 bd du Mont-Boron"
T.update({
    "asc01": paris(2, 9, 8, 12, 27),
    "asc02": paris(2, 9, 9, 30, 4),
    "asc03": paris(2, 9, 15, 47, 51),
    "asc04": paris(2, 10, 18, 22, 36),
    "asc05": paris(2, 11, 9, 5, 13),
    "asc06": paris(2, 13, 17, 10, 2),
    "asc07": paris(2, 14, 10, 2, 45),
})  # fmt: skip
M.update({
    "asc01": gmail_id("asc01"),
    "asc02": outlook_id("asc02"),
    "asc03": f"<ticket-INT-88412.{_hash('asc03', 12)}@ascenseurs-riviera.example.com>",
    "asc04": gmail_id("asc04"),
    "asc05": outlook_id("asc05"),
    "asc06": plain_id("asc06", "ascenseurs-riviera.example.com", T["asc06"]),
    "asc07": uuid_id("asc07", "example.org"),
})  # fmt: skip

# 01 - owner complaint to the building address, no reference -> needs_review, le-belvedere.
asc01_text = """Bonjour,

L'ascenseur est encore en panne depuis samedi matin ! J'habite au 7e avec ma mère qui a \
86 ans et qui ne peut pas descendre les escaliers. C'est la troisième panne depuis Noël.

Merci d'envoyer quelqu'un aujourd'hui.

Élodie Rossi
Lot 131 - 06 12 34 56 41"""
add(
    "belvedere-asc-01-owner-complaint-ascenseur-en-panne",
    review("le-belvedere"),
    [
        received("mail-sor-f41.gmail-relay.example.com", "192.0.2.41", T["asc01"]),
        ("MIME-Version", "1.0"),
        ("From", addr(ELODIE)),
        date(T["asc01"]),
        ("Message-ID", M["asc01"]),
        ("Subject", hdr("Ascenseur en panne depuis samedi !!")),
        ("To", addr(BELVEDERE)),
    ],
    multipart(
        "alternative",
        "000000000000e1b2c3064a7f5d12",
        [
            text_part(asc01_text),
            text_part(gmail_html(asc01_text, "", "").split("<br><div class")[0] + "\n", subtype="html"),
        ],
    ),
)

# 02 - gestionnaire opens the dossier: To the lift company, Cc the building address + owner.
asc02_text = f"""Bonjour,

Nous vous signalons l'arrêt de l'ascenseur de la résidence Le Belvédère, 45 boulevard du \
Mont-Boron, 06300 Nice (appareil n° 06-NICE-4471, contrat d'entretien complet CE-2019-118) \
depuis le samedi 7 février.

Accès : code portail : 2580, clé de la machinerie chez la gardienne (04 93 00 00 35).

Merci d'intervenir en urgence : une résidente âgée est bloquée au 7e étage. Merci de \
rappeler la référence {ASC} dans vos réponses et votre bon d'intervention.

Bien cordialement,

{CLAIRE_SIG}"""
add(
    "belvedere-asc-02-gestionnaire-opens-dossier-to-lift-company",
    assigned("le-belvedere", ASC),
    [
        ("From", addr(CLAIRE)),
        ("To", addr(LIFT)),
        ("CC", addrs(BELVEDERE, ELODIE)),
        ("Subject", hdr(ASC_SUBJECT)),
        date(T["asc02"]),
        ("Message-ID", M["asc02"]),
        ("Importance", "high"),
        ("X-Priority", "1"),
        *outlook_headers("asc02", ASC_SUBJECT, T["asc02"]),
    ],
    multipart(
        "alternative",
        "_000_PR3P195MB0871asc02_",
        [text_part(asc02_text), text_part(outlook_html(asc02_text), subtype="html")],
    ),
)

# 03 - the lift company's ticketing tool answers with an HTML-only intervention report.
asc03_html = f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Bon d'intervention INT-88412</title></head>
<body style="font-family:Arial,sans-serif;font-size:14px;color:#222">
<table width="600" cellpadding="8" style="border:1px solid #ccc">
<tr><td style="background:#0b4f7a;color:#fff;font-size:18px">
<b>Ascenseurs Riviera</b> &ndash; Bon d'intervention n&deg; INT-88412</td></tr>
<tr><td>
<p>Madame Martin,</p>
<p>Suite &agrave; votre demande (r&eacute;f. {ASC}), notre technicien Thomas Lopez est
intervenu le 09/02/2026 de 13h10 &agrave; 15h30 sur l'appareil n&deg; 06-NICE-4471.</p>
<table cellpadding="4" style="border-collapse:collapse">
<tr><td><b>Constat</b></td><td>Carte de commande de la porte pali&egrave;re du 7e
d&eacute;fectueuse (d&eacute;faut contact de verrouillage).</td></tr>
<tr><td><b>Action</b></td><td>Appareil laiss&eacute; &agrave; l'arr&ecirc;t par
s&eacute;curit&eacute;. Pi&egrave;ce command&eacute;e chez le fabricant.</td></tr>
<tr><td><b>D&eacute;lai</b></td><td>Remise en service pr&eacute;vue sous 3 &agrave; 5 jours
ouvr&eacute;s.</td></tr>
</table>
<p>Service d&eacute;pannage &ndash; 04 93 00 00 70 (24h/24)</p>
</td></tr></table>
<img src="cid:logo-riviera" alt="" width="1" height="1">
</body></html>"""
add(
    "belvedere-asc-03-lift-company-intervention-report-html-only",
    assigned("le-belvedere", ASC),
    [
        received("out.ascenseurs-riviera.example.com", "203.0.113.70", T["asc03"]),
        ("From", addr(LIFT)),
        ("To", addr(CLAIRE)),
        ("Cc", addr(BELVEDERE)),
        ("Subject", hdr(f"RE: {ASC_SUBJECT}")),
        date(T["asc03"]),
        ("Message-ID", M["asc03"]),
        ("In-Reply-To", M["asc02"]),
        ("References", M["asc02"]),
        ("MIME-Version", "1.0"),
        ("X-Mailer", "RivieraTicket 3.1"),
    ],
    text_part(asc03_html, subtype="html"),
)

# 04 - the owner, still stuck, answers 02 from Gmail (Gmail quoting) -> assigned.
asc04_new = """Bonjour,

Trois à cinq jours ?! Ma mère a un rendez-vous à l'hôpital jeudi. Est-ce qu'une solution \
provisoire est possible (portage, accompagnement) ?

Élodie Rossi"""
asc04_attr = f"Le {fr_gmail(T['asc02'])}, Claire Martin <{CLAIRE[1]}> a écrit :"
asc04_quoted = asc02_text.split("\n\n" + CLAIRE_SIG, maxsplit=1)[0]
add(
    "belvedere-asc-04-owner-reply-gmail-quote",
    assigned("le-belvedere", ASC),
    [
        received("mail-sor-f41.gmail-relay.example.com", "192.0.2.41", T["asc04"]),
        ("MIME-Version", "1.0"),
        ("References", M["asc02"]),
        ("In-Reply-To", M["asc02"]),
        ("From", addr(ELODIE)),
        date(T["asc04"]),
        ("Message-ID", M["asc04"]),
        ("Subject", hdr(f"Re: {ASC_SUBJECT}", mode="B")),
        ("To", addr(CLAIRE)),
        ("Cc", addr(BELVEDERE)),
    ],
    multipart(
        "alternative",
        "000000000000f4a9b1064a8c2e77",
        [
            text_part(f"{asc04_new}\n\n{asc04_attr}\n\n{quote(asc04_quoted)}\n"),
            text_part(gmail_html(asc04_new, asc04_attr, asc04_quoted), subtype="html"),
        ],
    ),
)

# 05 - the gestionnaire chases the lift company (Outlook quoting of 03's text) -> assigned.
asc05_text = f"""Bonjour,

Le contrat d'entretien CE-2019-118 prévoit une remise en service sous 48 heures ouvrées \
hors commande de pièces. Pouvez-vous me confirmer la date de livraison de la carte et, \
en attendant, organiser la mise à disposition d'un agent pour accompagner la résidente \
du 7e jeudi matin ?

À défaut, nous appliquerons les pénalités prévues à l'article 9 du contrat.

Cordialement,

{CLAIRE_SIG}

{
    outlook_quote(
        LIFT,
        T["asc03"],
        [CLAIRE],
        f"RE: {ASC_SUBJECT}",
        "Bon d'intervention n° INT-88412 - Carte de commande de la porte palière du 7e "
        "défectueuse. Appareil laissé à l'arrêt par sécurité. Remise en service prévue "
        "sous 3 à 5 jours ouvrés.",
        cc=[BELVEDERE],
    )
}"""
add(
    "belvedere-asc-05-gestionnaire-chases-lift-company-outlook-quote",
    assigned("le-belvedere", ASC),
    [
        ("From", addr(CLAIRE)),
        ("To", addr(LIFT)),
        ("CC", addrs(BELVEDERE, MONIQUE)),
        ("Subject", hdr(f"RE: {ASC_SUBJECT}")),
        date(T["asc05"]),
        ("Message-ID", M["asc05"]),
        ("In-Reply-To", M["asc03"]),
        ("References", refs(M["asc02"], M["asc03"])),
        *outlook_headers("asc02", ASC_SUBJECT, T["asc05"], replies=2),
    ],
    multipart(
        "alternative",
        "_000_PR3P195MB0871asc05_",
        [text_part(asc05_text), text_part(outlook_html(asc05_text), subtype="html")],
    ),
)

# 06 - the technician (known contact) reports the lift back in service; base64 body.
add(
    "belvedere-asc-06-technician-back-in-service-base64",
    assigned("le-belvedere", ASC),
    [
        received("out.ascenseurs-riviera.example.com", "203.0.113.70", T["asc06"]),
        ("From", addr(LIFT_TECH)),
        ("To", addr(CLAIRE)),
        ("Cc", addrs(BELVEDERE, LIFT)),
        ("Subject", hdr(f"RE: {ASC_SUBJECT}")),
        date(T["asc06"]),
        ("Message-ID", M["asc06"]),
        ("In-Reply-To", M["asc05"]),
        ("References", refs(M["asc02"], M["asc03"], M["asc05"])),
        ("MIME-Version", "1.0"),
        ("X-Mailer", "Microsoft Outlook 16.0"),
    ],
    text_part(
        """Bonjour Madame Martin,

La carte de commande a été livrée ce matin. Remplacement effectué, essais de \
fonctionnement et de sécurité conformes : l'appareil 06-NICE-4471 est remis en service \
depuis 16h40.

Rapport détaillé sous 48h (bon INT-88412, clôturé).

Thomas Lopez
Technicien - Ascenseurs Riviera
06 12 34 56 72

Envoyé depuis mon téléphone""",
        cte="base64",
    ),
)

# 07 - a council member (Thunderbird) asks about penalties -> assigned.
add(
    "belvedere-asc-07-council-member-asks-penalties-thunderbird",
    assigned("le-belvedere", ASC),
    [
        received("smtp.example.org", "198.51.100.24", T["asc07"]),
        ("Message-ID", M["asc07"]),
        date(T["asc07"]),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
        ("Subject", hdr(f"Re: {ASC_SUBJECT}")),
        ("Content-Language", "fr"),
        ("To", addr(CLAIRE)),
        ("Cc", addr(BELVEDERE)),
        ("References", refs(M["asc02"], M["asc03"], M["asc05"], M["asc06"])),
        ("From", addr(MONIQUE)),
        ("In-Reply-To", M["asc06"]),
    ],
    text_part(
        f"""Bonjour Claire,

Merci pour le suivi. Six jours d'arrêt pour la troisième panne depuis décembre : le conseil \
syndical souhaite que les pénalités de l'article 9 soient bien appliquées, et que la \
question du remplacement des portes palières soit mise à l'ordre du jour de l'AG d'avril.

Bien cordialement,
Monique Blanc
Conseil syndical - Le Belvédère

Le {fr_short(T["asc06"])}, Thomas Lopez a écrit :
> La carte de commande a été livrée ce matin. Remplacement effectué, essais de
> fonctionnement et de sécurité conformes.""",
        cte="quoted-printable",
    ),
)


# =============================================================================================
# Le Belvédère - assemblée générale [AG-2026-001]
# =============================================================================================
AG = "AG-2026-001"
AG_SUBJECT = f"[{AG}] Convocation à l'assemblée générale ordinaire du 14 avril 2026 - Le Belvédère"
T.update({
    "ag01": paris(3, 17, 10, 0, 3),
    "ag02": paris(3, 17, 10, 0, 41),
    "ag03": paris(3, 21, 15, 12, 18),
    "ag04": paris(4, 2, 9, 45, 37),  # CEST (+0200) from 29 March
})  # fmt: skip
M.update({"ag01": outlook_id("ag01"), "ag03": uuid_id("ag03", "example.net"),
          "ag04": outlook_id("ag04")})  # fmt: skip

CONVOCATION_PDF = tiny_pdf(
    "CONVOCATION - ASSEMBLÉE GÉNÉRALE ORDINAIRE",
    [
        "Syndicat des copropriétaires Le Belvédère - 45 boulevard du Mont-Boron, 06300 Nice",
        "Mardi 14 avril 2026 à 18h00 - Salle des fêtes du Mont-Boron",
        "",
        "Ordre du jour (extrait) :",
        "1. Élection du président de séance, des scrutateurs et du secrétaire (art. 24)",
        "5. Approbation des comptes de l'exercice 2025 (art. 24)",
        "9. Désignation du syndic Cabinet Azur Syndic (art. 25)",
        "12. Ravalement des façades nord et est - budget 186 000 € TTC (art. 25)",
        "13. Remplacement des portes palières de l'ascenseur (art. 24)",
        "",
        "Pièces jointes : comptes 2025, budget 2027, devis ravalement, formulaire de vote",
        "par correspondance, pouvoir. Le syndic : Cabinet Azur Syndic.",
    ],
    T["ag01"],
)
ag01_text = f"""Madame, Monsieur,

Vous êtes convoqué(e) à l'assemblée générale ordinaire des copropriétaires de la résidence \
Le Belvédère, le mardi 14 avril 2026 à 18h00, salle des fêtes du Mont-Boron.

Vous trouverez en pièce jointe la convocation, l'ordre du jour et le formulaire de vote par \
correspondance. Conformément à votre accord pour la notification électronique, cet envoi \
vaut convocation.

Si vous ne pouvez pas être présent(e), vous pouvez donner pouvoir à la personne de votre \
choix ou voter par correspondance (formulaire à nous retourner au plus tard 3 jours francs \
avant l'assemblée).

Bien cordialement,

{CLAIRE_SIG}"""
add(
    "belvedere-ag-01-convocation-pdf-opens-dossier",
    assigned("le-belvedere", AG),
    [
        ("From", addr(CLAIRE)),
        ("To", addr(BELVEDERE)),
        ("Subject", hdr(AG_SUBJECT)),
        date(T["ag01"]),
        ("Message-ID", M["ag01"]),
        *outlook_headers("ag01", AG_SUBJECT, T["ag01"], attach=True),
    ],
    multipart(
        "mixed",
        "_004_PR3P195MB0871ag01_",
        [
            multipart(
                "alternative",
                "_000_PR3P195MB0871ag01_",
                [text_part(ag01_text), text_part(outlook_html(ag01_text), subtype="html")],
            ),
            binary_part(CONVOCATION_PDF, "application/pdf", "Convocation_AGO_14-04-2026_Le_Belvédère.pdf"),
        ],
    ),
)

# 02 - bounce (multipart/report) for one Bcc'd owner's dead address. Subject carries the
# reference, sender is postmaster; the content type alone makes it ignored.
bounce_text = """Votre message n'a pas pu être remis aux destinataires suivants :

jacques.ancien@example.net
Le serveur de messagerie du destinataire a rejeté l'adresse : la boîte aux lettres \
n'existe pas.

Diagnostic pour les administrateurs :
Serveur générateur : PR3P195MB0871.EURP195.PROD.OUTLOOK.COM
jacques.ancien@example.net
Remote server returned '550 5.1.1 <jacques.ancien@example.net>: Recipient address \
rejected: User unknown in virtual mailbox table'"""
bounce_status = f"""Reporting-MTA: dns;PR3P195MB0871.EURP195.PROD.OUTLOOK.COM
Received-From-MTA: dns;PR3P195MB0871.EURP195.PROD.OUTLOOK.COM
Arrival-Date: {format_datetime(T["ag01"].astimezone(UTC))}

Final-Recipient: rfc822;jacques.ancien@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp;550 5.1.1 <jacques.ancien@example.net>: Recipient address rejected:
 User unknown in virtual mailbox table
Remote-MTA: dns;mx.example.net
"""
bounce_headers = f"""From: Claire Martin <{CLAIRE[1]}>
To: {q_words(BELVEDERE[0])} <{BELVEDERE[1]}>
Subject: {q_words(AG_SUBJECT)}
Date: {format_datetime(T["ag01"])}
Message-ID: {M["ag01"]}
Content-Type: multipart/mixed; boundary="_004_PR3P195MB0871ag01_"
MIME-Version: 1.0
"""
add(
    "belvedere-ag-02-bounce-multipart-report",
    IGNORED,
    [
        ("From", addr(POSTMASTER)),
        ("To", addr(CLAIRE)),
        ("Date", format_datetime(T["ag02"])),
        ("Subject", hdr(f"Non remis : {AG_SUBJECT}")),
        ("Message-ID", f"<{_hash('ag02').upper()}@PR3P195MB0871.EURP195.PROD.OUTLOOK.COM>"),
        ("In-Reply-To", M["ag01"]),
        ("References", M["ag01"]),
        ("Thread-Topic", hdr(AG_SUBJECT)),
        ("Thread-Index", thread_index("ag01", 1)),
        ("Content-Language", "fr-FR"),
        ("X-MS-Exchange-Organization-SCL", "-1"),
        ("MIME-Version", "1.0"),
    ],
    multipart(
        "report",
        "B7E2A1C0-4D3F-4E5A-8B9C-0D1E2F3A4B5C",
        [
            text_part(bounce_text),
            Entity((("Content-Type", "message/delivery-status"),), bounce_status),
            Entity((("Content-Type", "text/rfc822-headers"),), bounce_headers),
        ],
        params="; report-type=delivery-status",
    ),
)

# 03 - the owner with lots in two buildings asks a question and sends his proxy (pouvoir).
ag03_text = f"""Bonjour Madame Martin,

Je ne pourrai pas être présent le 14 avril. Je donne pouvoir à Mme Monique Blanc \
(pouvoir signé en pièce jointe, scan).

Question sur la résolution n° 12 : le devis de ravalement inclut-il la reprise des \
balcons ? Si non, je voterai contre.

Cordialement,
François Leroy
Lot 118 - Le Belvédère (et lot 7 aux Mimosas)
06 12 34 56 18

Le {fr_short(T["ag01"])}, Claire Martin a écrit :
{quote(ag01_text.split(chr(10) + "--", maxsplit=1)[0].rstrip())}"""
POUVOIR_PDF = tiny_pdf(
    "POUVOIR - AG DU 14 AVRIL 2026 - LE BELVÉDÈRE",
    [
        "Je soussigné François Leroy, propriétaire du lot 118,",
        "donne pouvoir à Mme Monique Blanc (lot 104) pour me représenter",
        "et voter en mon nom à l'assemblée générale ordinaire du 14 avril 2026.",
        "Fait à Nice, le 21 mars 2026.   Bon pour pouvoir. Signature : F. Leroy",
    ],
    T["ag03"],
)
add(
    "belvedere-ag-03-owner-two-buildings-question-pouvoir",
    assigned("le-belvedere", AG),
    [
        received("smtp-out.example.net", "198.51.100.77", T["ag03"]),
        ("Message-ID", M["ag03"]),
        date(T["ag03"]),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
        ("Subject", q_words(f"Re: {AG_SUBJECT}")),
        ("Content-Language", "fr"),
        ("To", addr(CLAIRE)),
        ("Cc", addr(BELVEDERE)),
        ("References", M["ag01"]),
        ("In-Reply-To", M["ag01"]),
        ("From", addr(FRANCOIS)),
    ],
    multipart(
        "mixed",
        "------------0kV7sPq3Lr9Yt2Hn5Jc8Xw1B",
        [
            text_part(ag03_text, params="; format=flowed", cte="8bit"),
            binary_part(POUVOIR_PDF, "application/pdf", "pouvoir_AG_2026_lot118.pdf"),
        ],
        preamble="This is a multi-part message in MIME format.\n",
    ),
    crlf=False,
)

# 04 - the assistant (role gestionnaire in contacts.yaml) answers, after the switch to summer
# time (+0200) -> assigned.
ag04_text = f"""Bonjour Monsieur Leroy,

Nous avons bien reçu votre pouvoir au profit de Mme Blanc ; il sera joint à la feuille de \
présence.

Concernant la résolution n° 12 : le devis de l'entreprise Façades du Sud inclut la reprise \
des nez de balcons (poste 4, 21 400 € TTC) mais pas l'étanchéité des balcons privatifs, \
qui restent à la charge de chaque copropriétaire selon le règlement de copropriété.

Bien cordialement,

{SOPHIE_SIG}

{
    outlook_quote(
        FRANCOIS,
        T["ag03"],
        [CLAIRE],
        f"Re: {AG_SUBJECT}",
        ag03_text.split(chr(10) + "Le ", maxsplit=1)[0].rstrip(),
        cc=[BELVEDERE],
    )
}"""
add(
    "belvedere-ag-04-assistant-answers-after-dst-outlook",
    assigned("le-belvedere", AG),
    [
        ("From", addr(SOPHIE)),
        ("To", addr(FRANCOIS)),
        ("CC", addrs(BELVEDERE, CLAIRE)),
        ("Subject", hdr(f"RE : {AG_SUBJECT}")),
        date(T["ag04"]),
        ("Message-ID", M["ag04"]),
        ("In-Reply-To", M["ag03"]),
        ("References", refs(M["ag01"], M["ag03"])),
        *outlook_headers("ag04", AG_SUBJECT, T["ag04"], replies=1),
    ],
    multipart(
        "alternative",
        "_000_PR3P195MB0871ag04_",
        [text_part(ag04_text), text_part(outlook_html(ag04_text), subtype="html")],
    ),
)

# Near-identical subject in another building: "Fuite toiture" at Le Belvédère while Villa
# Carabacel has an open "Fuite toiture" dossier. No reference, no thread -> needs_review,
# le-belvedere (never fuzzy-matched across buildings).
T["belv-roof"] = paris(2, 26, 8, 30, 14)
add(
    "belvedere-trap-fuite-toiture-near-identical-subject",
    review("le-belvedere"),
    [
        received("smtp-out.example.net", "198.51.100.77", T["belv-roof"]),
        ("From", addr(PAUL)),
        ("To", addr(BELVEDERE)),
        ("Subject", "Fuite toiture"),
        date(T["belv-roof"]),
        ("Message-ID", uuid_id("belv-roof", "example.net")),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
    ],
    text_part("""Bonjour,

Avec les pluies de cette nuit, de l'eau coule le long du mur du palier du 8e étage, sous \
la terrasse. Il y a une flaque devant l'ascenseur, j'ai mis une serpillière.

Paul Nguyen
Lot 152, 8e étage - 06 12 34 56 52"""),
)


# =============================================================================================
# Villa Carabacel - réfection toiture [TRX-2026-007]
# =============================================================================================
TRX = "TRX-2026-007"
TRX_SUBJECT = f"[{TRX}] Fuite toiture - demande de devis (Villa Carabacel)"
T.update({
    "trx01": paris(2, 2, 7, 58, 40),
    "trx02": paris(2, 3, 9, 40, 12),
    "trx03": paris(2, 12, 17, 5, 56),
    "trx04": paris(2, 13, 10, 20, 8),
    "trx05": paris(2, 13, 10, 20, 39),
    "trx06": paris(2, 16, 19, 30, 21),
    "trx07": paris(2, 25, 11, 15, 0),
    "trx08": paris(3, 31, 16, 5, 47),  # CEST (+0200)
})  # fmt: skip
M.update({
    "trx01": uuid_id("trx01", "example.net"),
    "trx02": outlook_id("trx02"),
    "trx03": plain_id("trx03", "toitures-nicoises.example.net", T["trx03"]),
    "trx04": outlook_id("trx04"),
    "trx05": plain_id("trx05", "example.org", T["trx05"]),
    "trx06": uuid_id("trx06", "example.net"),
    "trx07": plain_id("trx07", "toitures-nicoises.example.net", T["trx07"]),
    "trx08": outlook_id("trx08"),
})  # fmt: skip

# 01 - council member reports the leak to the building address + Julien. No reference
# -> needs_review, villa-carabacel. Subject "Fuite toiture", same as the Belvédère trap.
add(
    "carabacel-trx-01-council-reports-fuite-toiture-no-reference",
    review("villa-carabacel"),
    [
        received("smtp-out.example.net", "198.51.100.77", T["trx01"]),
        ("Message-ID", M["trx01"]),
        date(T["trx01"]),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
        ("Subject", "Fuite toiture"),
        ("Content-Language", "fr"),
        ("To", addr(CARABACEL)),
        ("Cc", addr(JULIEN)),
        ("From", addr(GERARD)),
    ],
    text_part(
        """Bonjour Monsieur Roux,

Après la tempête de ce week-end, plusieurs tuiles ont glissé côté jardin et l'eau entre \
dans la cage d'escalier, au-dessus du 3e. Mme Costa (lot 204) a des traces au plafond de \
sa chambre.

Il faudrait faire venir un couvreur rapidement, au moins pour bâcher.

Gérard Olivieri
Conseil syndical - Villa Carabacel
06 12 34 56 81""",
        params="; format=flowed",
        cte="8bit",
    ),
    crlf=False,
)

# 02 - gestionnaire opens the dossier; the only building address is the plus-address
# dossiers+villa-carabacel@ -> assigned (opens TRX-2026-007).
trx02_text = f"""Bonjour Monsieur Lambert,

Suite aux intempéries du 31 janvier, nous constatons des infiltrations en toiture à la \
Villa Carabacel, 3 boulevard Carabacel, 06000 Nice (tuiles canal déplacées côté jardin, \
infiltration dans la cage d'escalier et au lot 204).

Merci de procéder :
1. à une mise en sécurité (bâchage) dans les meilleurs délais ;
2. à l'établissement d'un devis pour la reprise de la couverture, avec en option la \
réfection complète du versant nord.

Accès toiture par la trappe du 4e, code portail : 7319. Contact sur place : M. Olivieri \
(conseil syndical), 06 12 34 56 81.

Bien cordialement,

{JULIEN_SIG}"""
add(
    "carabacel-trx-02-gestionnaire-opens-plus-address",
    assigned("villa-carabacel", TRX),
    [
        ("From", addr(JULIEN)),
        ("To", addr(ROOFER)),
        ("CC", addrs(DOSSIERS_CARABACEL, GERARD)),
        ("Subject", hdr(TRX_SUBJECT)),
        date(T["trx02"]),
        ("Message-ID", M["trx02"]),
        *outlook_headers("trx02", TRX_SUBJECT, T["trx02"]),
    ],
    multipart(
        "alternative",
        "_000_PR3P195MB0871trx02_",
        [text_part(trx02_text), text_part(outlook_html(trx02_text), subtype="html")],
    ),
)

# 03 - the roofer's quote (PDF); a small-business client that writes everything in
# ISO-8859-1 (encoded "Niçoises" in the From name, QP body) -> assigned.
ROOF_QUOTE_PDF = tiny_pdf(
    "TOITURES NIÇOISES - DEVIS N° D-2026-031",
    [
        "Client : SDC Villa Carabacel, c/o Cabinet Azur Syndic, 27 rue Pastorelli, 06000 Nice",
        f"Votre référence : {TRX}",
        "",
        "A. Travaux conservatoires (urgents)",
        "   Bâchage provisoire (réalisé le 04/02) ......................   480,00 €",
        "   Remplacement 35 tuiles canal, reprise faîtage et solin .....  3 500,00 €",
        "   Total A HT : 3 980,00 €   TVA 10 % : 398,00 €   TTC : 4 378,00 €",
        "",
        "B. Option : réfection complète du versant nord (120 m²)",
        "   Total B HT : 35 360,00 €  TVA 10 % : 3 536,00 €   TTC : 38 896,00 €",
        "   (travaux relevant d'un vote en assemblée générale)",
        "",
        "Échafaudage compris. Garantie décennale n° DEC-0000-2231. Validité 3 mois.",
    ],
    T["trx03"],
)
trx03_text = f"""Bonjour Monsieur Roux,

Le bâchage a été fait le 4 février. Veuillez trouver ci-joint notre devis D-2026-031 :
- A. travaux conservatoires : 4 378,00 € TTC ;
- B. option réfection complète du versant nord : 38 896,00 € TTC.

Nous pouvons intervenir pour la partie A la semaine 10 (du 2 au 6 mars) si accord \
avant le 20 février.

Cordialement,

Patrick Lambert
Toitures Niçoises - couverture, zinguerie
04 93 00 00 90 - 06 12 34 56 90

-----Message d'origine-----
De : Julien Roux [mailto:{JULIEN[1]}]
Envoyé : {fr_outlook(T["trx02"])}
À : contact@toitures-nicoises.example.net
Objet : {TRX_SUBJECT}

{trx02_text.split(chr(10) + "--", maxsplit=1)[0].rstrip()}"""
add(
    "carabacel-trx-03-roofer-quote-pdf-iso-8859-1",
    assigned("villa-carabacel", TRX),
    [
        received("smtp.toitures-nicoises.example.net", "203.0.113.95", T["trx03"]),
        ("From", addr(ROOFER, charset="iso-8859-1")),
        ("To", addr(JULIEN)),
        ("Cc", addr(DOSSIERS_CARABACEL)),
        ("Subject", f"RE: {TRX_SUBJECT}"),
        date(T["trx03"]),
        ("Message-ID", M["trx03"]),
        ("In-Reply-To", M["trx02"]),
        ("References", M["trx02"]),
        ("MIME-Version", "1.0"),
        ("X-Mailer", "Microsoft Outlook 14.0"),
        ("Thread-Index", thread_index("trx02", 1)),
        ("Content-Language", "fr"),
    ],
    multipart(
        "mixed",
        "----=_NextPart_000_0017_01DC9C2E.5B3A7F10",
        [
            text_part(trx03_text, charset="windows-1252"),
            binary_part(ROOF_QUOTE_PDF, "application/pdf", "Devis D-2026-031 Villa Carabacel.pdf"),
        ],
        preamble="This is a multipart message in MIME format.\n",
    ),
)

# 04 - "TR:" forward to the conseil syndical, Cc the building address -> assigned.
TRX04_SUBJECT = f"TR: {TRX_SUBJECT}"
trx04_text = f"""Bonjour Monsieur Olivieri, Madame Ferraro,

Ci-dessous le devis de Toitures Niçoises. Je vous propose :
- de commander dès maintenant la partie A (travaux conservatoires, 4 378 € TTC), \
que le syndic peut engager en urgence (article 18 de la loi du 10 juillet 1965) ;
- d'inscrire l'option B (réfection du versant nord) à l'ordre du jour de la prochaine AG.

Merci de me donner l'avis du conseil syndical.

Bien cordialement,

{JULIEN_SIG}

{
    outlook_quote(
        ROOFER,
        T["trx03"],
        [JULIEN],
        f"RE: {TRX_SUBJECT}",
        trx03_text.split(chr(10) + "-----", maxsplit=1)[0].rstrip(),
        cc=[DOSSIERS_CARABACEL],
    )
}"""
add(
    "carabacel-trx-04-tr-forward-to-conseil-syndical",
    assigned("villa-carabacel", TRX),
    [
        ("From", addr(JULIEN)),
        ("To", addrs(GERARD, MARTINE)),
        ("CC", addr(CARABACEL)),
        ("Subject", hdr(TRX04_SUBJECT)),
        date(T["trx04"]),
        ("Message-ID", M["trx04"]),
        *outlook_headers("trx02", TRX_SUBJECT, T["trx04"], replies=2, attach=True),
    ],
    multipart(
        "mixed",
        "_004_PR3P195MB0871trx04_",
        [
            multipart(
                "alternative",
                "_000_PR3P195MB0871trx04_",
                [text_part(trx04_text), text_part(outlook_html(trx04_text), subtype="html")],
            ),
            binary_part(ROOF_QUOTE_PDF, "application/pdf", "Devis D-2026-031 Villa Carabacel.pdf"),
        ],
    ),
)

# 05 - a council member's hosting autoresponder: only "X-Autoreply: yes" (no Auto-Submitted,
# no "Réponse automatique" subject) -> ignored, although it quotes the reference.
add(
    "carabacel-trx-05-council-member-x-autoreply-ignored",
    IGNORED,
    [
        received("mail.example.org", "198.51.100.24", T["trx05"]),
        ("From", addr(MARTINE)),
        ("To", addr(JULIEN)),
        ("Subject", hdr(f"Absente jusqu'au 23/02 - {TRX04_SUBJECT}")),
        date(T["trx05"]),
        ("Message-ID", M["trx05"]),
        ("In-Reply-To", M["trx04"]),
        ("References", M["trx04"]),
        ("X-Autoreply", "yes"),
        ("MIME-Version", "1.0"),
    ],
    text_part(
        """Bonjour,

Je suis en déplacement jusqu'au 23 février sans accès régulier à mes mails.
Pour la Villa Carabacel, merci de contacter M. Olivieri (06 12 34 56 81).

Martine Ferraro""",
        charset="iso-8859-1",
    ),
)

# 06 - the council's decision, Thunderbird FR quoting -> assigned.
trx06_text = f"""Bonjour Monsieur Roux,

Après échange avec Mme Ferraro par téléphone (elle est en déplacement) et Mme Costa, \
le conseil syndical (3 membres sur 3) émet un avis favorable :
- partie A : accord pour commander immédiatement (4 378 € TTC) ;
- partie B : à inscrire à l'ordre du jour de l'AG, avec un second devis comparatif.

Merci de nous transmettre le planning d'intervention.

Gérard Olivieri
Conseil syndical - Villa Carabacel

Le {fr_short(T["trx04"])}, Julien Roux a écrit :
{quote(trx04_text.split(chr(10) + "--", maxsplit=1)[0].rstrip())}"""
add(
    "carabacel-trx-06-council-decision-thunderbird",
    assigned("villa-carabacel", TRX),
    [
        received("smtp-out.example.net", "198.51.100.77", T["trx06"]),
        ("Message-ID", M["trx06"]),
        date(T["trx06"]),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
        ("Subject", hdr(f"Re: {TRX04_SUBJECT}")),
        ("Content-Language", "fr"),
        ("To", addr(JULIEN)),
        ("Cc", addrs(CARABACEL, MARTINE)),
        ("References", M["trx04"]),
        ("In-Reply-To", M["trx04"]),
        ("From", addr(GERARD)),
    ],
    text_part(trx06_text, params="; format=flowed"),
    crlf=False,
)

# 07 - works schedule from the roofer; the multipart/alternative has NO closing boundary
# (malformed MIME, real headers) and must still route normally -> assigned.
trx07_text = f"""Bonjour Monsieur Roux,

Suite à votre bon de commande, voici le planning des travaux conservatoires ({TRX}) :

- lundi 2 mars : montage de l'échafaudage côté jardin (stationnement interdit devant le \
portail de 7h à 12h) ;
- mardi 3 au jeudi 5 mars : dépose et remplacement des tuiles, reprise du faîtage et du \
solin ;
- vendredi 6 mars : repli et nettoyage.

Merci d'informer les occupants.

Patrick Lambert - Toitures Niçoises
06 12 34 56 90"""
trx07_html = (
    "<html><body><p>Bonjour Monsieur Roux,</p><p>Suite &agrave; votre bon de "
    "commande, voici le planning des travaux conservatoires :</p><ul>"
    "<li>lundi 2 mars : montage de l'&eacute;chafaudage</li>"
    "<li>mardi 3 au jeudi 5 mars : d&eacute;pose et remplacement des tuiles</li>"
    "<li>vendredi 6 mars : repli et nettoyage</li></ul>"
    "<p>Patrick Lambert - Toitures Ni&ccedil;oises</p></body></html>\n"
)
add(
    "carabacel-trx-07-works-schedule-missing-closing-boundary",
    assigned("villa-carabacel", TRX),
    [
        received("smtp.toitures-nicoises.example.net", "203.0.113.95", T["trx07"]),
        ("From", addr(ROOFER, charset="iso-8859-1")),
        ("To", addr(JULIEN)),
        ("Cc", addr(CARABACEL)),
        ("Subject", hdr(f"[{TRX}] Planning d'intervention semaine 10 (2 au 6 mars)")),
        date(T["trx07"]),
        ("Message-ID", M["trx07"]),
        ("MIME-Version", "1.0"),
        ("X-Mailer", "Microsoft Outlook 14.0"),
    ],
    multipart(
        "alternative",
        "----=_NextPart_000_0042_01DCA5F0.3C1E2B40",
        [
            text_part(trx07_text, charset="iso-8859-1"),
            text_part(trx07_html, subtype="html", charset="iso-8859-1"),
        ],
        close=False,
    ),
)

# 08 - end of works, summer time (+0200); the plus-address is written in mixed case
# (Dossiers+Villa-Carabacel@Cabinet-Azur.example.fr) -> still villa-carabacel -> assigned.
trx08_text = f"""Bonjour à tous,

Les travaux conservatoires de toiture ont été réceptionnés sans réserve ce jour en \
présence de M. Olivieri. Plus aucune infiltration n'a été constatée lors des pluies de \
la semaine dernière.

La réfection complète du versant nord sera soumise au vote de l'assemblée générale \
du 19 mai (deux devis comparatifs).

Bien cordialement,

{JULIEN_SIG}"""
add(
    "carabacel-trx-08-end-of-works-mixed-case-plus-address-cest",
    assigned("villa-carabacel", TRX),
    [
        ("From", addr(JULIEN)),
        ("To", addrs(GERARD, MARTINE)),
        ("CC", f"{addr(ROOFER)},\n\tDossiers+Villa-Carabacel@Cabinet-Azur.example.fr"),
        ("Subject", hdr(f"[{TRX}] Réception des travaux conservatoires")),
        date(T["trx08"]),
        ("Message-ID", M["trx08"]),
        *outlook_headers("trx08", f"[{TRX}] Réception des travaux conservatoires", T["trx08"]),
    ],
    multipart(
        "alternative",
        "_000_PR3P195MB0871trx08_",
        [text_part(trx08_text), text_part(outlook_html(trx08_text), subtype="html")],
    ),
)


# =============================================================================================
# Miscellaneous: ignored, quarantined, cross-building traps
# =============================================================================================
# Newsletter sent to a building address: List-Unsubscribe + Precedence: bulk, HTML with a
# tracking pixel -> ignored before the building address is even looked at.
T["newsletter"] = paris(3, 5, 7, 0, 0)
newsletter_html = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>L'Écho de la Copropriété - mars 2026</title>
</head><body style="margin:0;background:#f3f1ec">
<table role="presentation" width="100%"><tr><td align="center">
<table role="presentation" width="600" style="background:#fff;font-family:Georgia,serif">
<tr><td style="padding:24px"><h1 style="color:#7a3b0b">L'Écho de la Copropriété</h1>
<h2>Mars 2026 : ce qui change pour les copropriétés</h2>
<p>DPE collectif, plan pluriannuel de travaux, fonds de travaux : notre dossier du mois fait
le point sur les obligations 2026.</p>
<p><a href="https://echo-copro.example.com/r/2026-03/ppt?u=8f3a">Lire l'article</a></p>
<p style="font-size:11px;color:#888">Vous recevez cette lettre car vous êtes inscrit(e) avec
l'adresse mimosas@cabinet-azur.example.fr.
<a href="https://echo-copro.example.com/u/8f3a2c">Se désinscrire</a></p>
</td></tr></table></td></tr></table>
<img src="https://tracker.example.com/p.gif?c=2026-03&amp;u=8f3a2c" width="1" height="1" alt="">
</body></html>"""
add(
    "misc-newsletter-html-tracking-pixel",
    IGNORED,
    [
        received("mta7.echo-copro.example.com", "203.0.113.200", T["newsletter"]),
        ("From", addr(NEWSLETTER)),
        ("To", addr(MIMOSAS)),
        ("Subject", hdr("Mars 2026 : DPE collectif, PPT, fonds de travaux - ce qui change")),
        date(T["newsletter"]),
        ("Message-ID", f"<nl-2026-03.8f3a2c.{_hash('newsletter', 10)}@echo-copro.example.com>"),
        (
            "List-Unsubscribe",
            "<https://echo-copro.example.com/u/8f3a2c>,\n <mailto:unsubscribe@echo-copro.example.com"
            "?subject=unsubscribe-8f3a2c>",
        ),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Precedence", "bulk"),
        ("Feedback-ID", "2026-03:newsletter:echo-copro"),
        ("MIME-Version", "1.0"),
    ],
    multipart(
        "alternative",
        "=_echo_8f3a2c_alt",
        [
            text_part(
                "L'Écho de la Copropriété - mars 2026\n\nDPE collectif, plan pluriannuel de "
                "travaux, fonds de travaux : ce qui change.\n"
                "https://echo-copro.example.com/r/2026-03/ppt?u=8f3a\n\n"
                "Se désinscrire : https://echo-copro.example.com/u/8f3a2c"
            ),
            text_part(newsletter_html, subtype="html"),
        ],
    ),
)

# An owner with lots in BOTH Les Mimosas and Le Belvédère writes To one building address and
# Cc the other -> evidence for two buildings -> needs_review, building null.
T["two-buildings"] = paris(3, 10, 8, 5, 27)
add(
    "misc-trap-cc-two-building-addresses",
    review(None),
    [
        received("smtp-out.example.net", "198.51.100.77", T["two-buildings"]),
        ("Message-ID", uuid_id("two-buildings", "example.net")),
        date(T["two-buildings"]),
        ("MIME-Version", "1.0"),
        ("User-Agent", THUNDERBIRD_UA),
        ("Subject", hdr("Changement de coordonnées bancaires - prélèvement des appels de fonds")),
        ("Content-Language", "fr"),
        ("To", addr(MIMOSAS)),
        ("Cc", addr(BELVEDERE)),
        ("From", addr(FRANCOIS)),
    ],
    text_part(
        """Bonjour,

J'ai changé de banque. Merci de mettre à jour le mandat de prélèvement pour mes deux lots \
(lot 7 aux Mimosas, lot 118 au Belvédère) à compter de l'appel de fonds du 2e trimestre :

IBAN : FR76 3000 6000 0112 3456 7890 189
BIC : EXMPFRPPXXX

Le mandat SEPA signé suit par courrier.

Cordialement,
François Leroy - 06 12 34 56 18""",
        params="; format=flowed",
        cte="8bit",
    ),
    crlf=False,
)

# A tenant nobody knows writes to the syndic's general address (not a building address),
# no reference: the body names the building but v1 never reads bodies -> needs_review, null.
T["unknown"] = paris(4, 8, 12, 30, 9)
add(
    "misc-unknown-sender-general-address-complaint",
    review(None),
    [
        received("smtp.example.com", "192.0.2.44", T["unknown"]),
        ("From", addr(KARIM)),
        ("To", addr(CONTACT)),
        ("Subject", hdr("Nuisances sonores - chien qui aboie toute la journée")),
        date(T["unknown"]),
        ("Message-ID", plain_id("unknown", "example.com", T["unknown"])),
        ("MIME-Version", "1.0"),
    ],
    text_part(
        """Bonjour,

Je suis locataire au Belvédère (3e étage, porte droite). Le chien de l'appartement d'en \
face aboie toute la journée quand ses propriétaires sont absents. J'ai déjà glissé un mot \
sous leur porte, sans effet.

Que pouvez-vous faire ?

Karim Benali
06 12 34 56 99""",
        charset="iso-8859-1",
    ),
)


# =============================================================================================
# Not a mail at all: a truncated chunk of base64 (the middle of a PDF attachment) without a
# single header line -> quarantined.
# =============================================================================================
def broken_chunk() -> bytes:
    """Lines 40-60 of a base64 body, cut in the middle of a line, no headers."""
    encoded = base64.encodebytes(INVOICE_PDF * 3).decode("ascii").splitlines()
    chunk = encoded[4:24]
    chunk[-1] = chunk[-1][:37]
    return ("\r\n".join(chunk)).encode("ascii")


def main() -> None:
    """Write every .eml, the broken file and expected.jsonl."""
    names = {s.name for s in SAMPLES}
    if len(names) != len(SAMPLES):
        raise SystemExit("duplicate sample names")
    for stale in OUT.glob("*.eml"):
        stale.unlink()
    for sample in SAMPLES:
        (OUT / sample.name).write_bytes(sample.raw)
    broken = "misc-broken-not-a-mail-truncated-base64.eml"
    (OUT / broken).write_bytes(broken_chunk())
    rows = [
        {"file": s.name, "outcome": s.outcome, "building": s.building, "dossier": s.dossier} for s in SAMPLES
    ]
    rows.append({"file": broken, "outcome": "quarantined", "building": None, "dossier": None})
    rows.sort(key=lambda row: str(row["file"]))
    with (OUT / "expected.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
