"""Differential test: ``parse_message`` against mail-parser, the parser it replaced, on real corpora.

Every message of ``samples/`` and of the shared notmuch and hostile corpora is parsed by both
``parse_message`` and ``mailparser.parse_from_bytes``; where both parse it, the From/To/Cc
addresses, the subject, the Message-ID and the text/plain and text/html bodies must agree.

Only these normalisations are applied, each for a reason that is ours by design or a documented
shortcoming of mail-parser's output:

1. mail-parser is given the bytes after ``strip_leading_noise`` (UTF-8 BOM and blank lines before
   the first header): our own first step; without it mail-parser reads the whole message as body.
2. Addresses: mail-parser's ``(name, address)`` pairs get the treatment ``ParsedMessage``
   documents for its ``Address`` values (address lower-cased, name on one line with whitespace
   collapsed and outer quotes trimmed, empty addresses dropped).
3. A display name in which mail-parser wrote raw octets that are not UTF-8 as literal ``\\udcXX``
   escapes is not compared (only its address is): we read those octets as cp1252, as for bodies.
4. Subject and Message-ID: whitespace collapsed and trimmed (ours are single-line by contract),
   both sides in Unicode NFC (mail-parser normalises decoded headers to NFC); when a header has
   more than one occurrence mail-parser returns a list, we read the first.
5. Text where either side had to guess a charset: the raw header or body holds octets the declared
   (or default UTF-8) charset cannot decode, or mail-parser's text holds U+FFFD. mail-parser
   drops such octets or replaces them with U+FFFD; we decode with the cp1252/latin-1 fallback of
   ``charsets.decode_bytes``. Only the ASCII characters of both sides are compared.
6. Bodies: line ends are ``\\n`` (we convert CRLF when decoding; mail-parser keeps the CRLF of
   7bit/8bit parts); parts that are empty or only whitespace are dropped (mail-parser skips empty
   parts); plain parts are joined as ``ParsedMessage.text`` joins them. ``text`` is compared only
   when it comes from text/plain parts (made from the HTML it is another function's output).
7. Parts that mail-parser reads as body text and we, by design, do not: the text inside an
   attached ``message/*`` (one attachment for us), text parts that carry a file name (attachments
   for us), ``*/plain`` and ``*/html`` parts whose type is not ``text/`` (``application/plain``,
   ``signature/plain``), and a ``multipart/*`` body the stdlib could not split (we read it as
   text/plain, mail-parser files it as ``text_not_managed``, which is then added to its plain
   parts). For those messages each of our body texts must be an ordered subsequence of
   mail-parser's lines.
8. Bodies in a stateful 7-bit charset (UTF-7, ISO-2022-*, HZ) are not compared: mail-parser
   returns their payload undecoded (``$BF|K\\8l$,(B`` for Japanese).
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from email.message import Message
from pathlib import Path
from typing import Any

import mailparser
import pytest

from dossiermail.domain import Address, ParsedMessage
from dossiermail.parse import ParseError, parse_message
from dossiermail.parse.containment import strip_leading_noise
from tests.conftest import SAMPLES
from tests.test_parse_corpus import CORPORA, corpus_files, require_corpus

FOLDERS = ("notmuch", "hostile")
STATEFUL_CHARSETS = ("utf-7", "iso-2022", "hz-gb")
GUESSED_MARK = "did not decode the body; guessed"
# Observed: 618 of the 320 + 590 + 45 messages parse on both sides (the rest are hostile files
# that one side refuses: no mail header, NUL bytes in headers, mail-parser's own exceptions).
MIN_COMPARED = 600


@dataclass(frozen=True)
class View:
    """What is compared, already normalised (see the module docstring)."""

    from_: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    message_id: str
    plain: str | None
    html: str | None


def _one_line(value: str) -> str:
    return unicodedata.normalize("NFC", " ".join(value.split()))


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _first(value: Any) -> str:
    """mail-parser's decoded header: a string, or a list when the header repeats."""
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value or "")


def _addresses(pairs: Iterable[tuple[str, str]]) -> tuple[Address, ...]:
    found = []
    for name, email in pairs:
        if _one_line(email):
            found.append(Address(_one_line(name).strip("\"' "), _one_line(email).lower()))
    return tuple(found)


def _plain(parts: Iterable[str]) -> str:
    return "\n\n".join(_lf(part).strip("\n") for part in parts if part.strip())


def _html(parts: Iterable[str]) -> str | None:
    kept = [_lf(part) for part in parts if part.strip()]
    return "\n".join(kept) if kept else None


def oracle_view(mail: Any, extra_plain: bool) -> View:
    """mail-parser's fields, normalised; ``extra_plain`` adds its ``text_not_managed`` parts."""
    plain_parts = [*mail.text_plain, *(mail.text_not_managed if extra_plain else [])]
    return View(
        from_=_addresses(mail.from_[:1]),
        to=_addresses(mail.to),
        cc=_addresses(mail.cc),
        subject=_one_line(_first(mail.subject)),
        message_id=_one_line(_first(mail.message_id)),
        plain=_plain(plain_parts) or None,
        html=_html(mail.text_html),
    )


def our_view(parsed: ParsedMessage, oracle_has_plain: bool) -> View:
    """Our fields; ``text`` counts as plain text unless it was made from the HTML."""
    from_html = parsed.html is not None and not oracle_has_plain
    return View(
        from_=(parsed.from_,) if parsed.from_ else (),
        to=parsed.to,
        cc=parsed.cc,
        subject=_one_line(parsed.subject),
        message_id=_one_line(parsed.message_id or ""),
        plain=None if from_html else (_lf(parsed.text) or None),
        html=_html([parsed.html or ""]),
    )


def _walk(message: Message) -> Iterator[Message]:
    stack = [message]
    while stack:
        part = stack.pop()
        yield part
        children = part.get_payload()
        if part.is_multipart() and isinstance(children, list):
            stack.extend(reversed([c for c in children if isinstance(c, Message)]))


def _design_difference(part: Message) -> bool:
    """A part mail-parser reads as body text and we, by design, do not (normalisation 7)."""
    content_type = part.get_content_type()
    maintype, subtype = content_type.split("/", 1)
    if content_type.startswith("message/") and part.is_multipart():
        return True
    if subtype in ("plain", "html") and (maintype != "text" or part.get_filename()):
        return True
    return maintype == "multipart" and not part.is_multipart()


def _not_utf8(value: str) -> bool:
    try:
        value.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return True
    return False


def _ascii(text: str | None, *, one_line: bool = False) -> str | None:
    """Normalisation 5: the ASCII characters only (spaces collapsed again for a header)."""
    if text is None:
        return None
    kept = "".join(c for c in text if c.isascii())
    return " ".join(kept.split()) if one_line else kept


def _is_subsequence(ours: str | None, theirs: str | None) -> bool:
    """Every line of ``ours`` appears in ``theirs``, in the same order."""
    remaining = iter((theirs or "").splitlines())
    return all(line in remaining for line in (ours or "").splitlines())


@dataclass(frozen=True)
class Case:
    """One message parsed both ways, with the facts that decide the normalisations."""

    ours: ParsedMessage
    mail: Any

    def parts(self) -> list[Message]:
        return list(_walk(self.mail.message))

    def design_differs(self) -> bool:
        return any(_design_difference(part) for part in self.parts())

    def stateful_charset(self) -> bool:
        charsets = (part.get_content_charset() or "" for part in self.parts())
        return any(charset.startswith(STATEFUL_CHARSETS) for charset in charsets)

    def raw_header_not_utf8(self, name: str) -> bool:
        values = (v for k, v in self.mail.message.raw_items() if k.strip().lower() == name)
        return any(_not_utf8(value) for value in values)

    def guessed_body(self, theirs: View) -> bool:
        replaced = "\ufffd" in (theirs.plain or "") + (theirs.html or "")
        return replaced or any(GUESSED_MARK in defect for defect in self.ours.defects)


def _without_escaped_names(
    ours: tuple[Address, ...], theirs: tuple[Address, ...]
) -> tuple[tuple[Address, ...], tuple[Address, ...]]:
    """Normalisation 3: where mail-parser wrote ``\\udcXX`` escapes in a name, no name on either side."""
    escaped = {i for i, address in enumerate(theirs) if "\\udc" in address.name}

    def strip(addresses: tuple[Address, ...]) -> tuple[Address, ...]:
        return tuple(Address("", a.email) if i in escaped else a for i, a in enumerate(addresses))

    return strip(ours), strip(theirs)


def header_mismatches(case: Case) -> dict[str, tuple[object, object]]:
    """From/To/Cc, Subject and Message-ID that differ after normalisation."""
    theirs = oracle_view(case.mail, extra_plain=False)
    ours = our_view(case.ours, oracle_has_plain=theirs.plain is not None)
    found: dict[str, tuple[object, object]] = {}
    for field in ("from_", "to", "cc"):
        mine, oracle = _without_escaped_names(getattr(ours, field), getattr(theirs, field))
        if mine != oracle:
            found[field] = (mine, oracle)
    for field, header in (("subject", "subject"), ("message_id", "message-id")):
        text, oracle_text = getattr(ours, field), getattr(theirs, field)
        if case.raw_header_not_utf8(header) or "\ufffd" in text + oracle_text:
            text, oracle_text = _ascii(text, one_line=True), _ascii(oracle_text, one_line=True)
        if text != oracle_text:
            found[field] = (text, oracle_text)
    return found


def body_mismatches(case: Case) -> dict[str, tuple[object, object]]:
    """text/plain and text/html bodies that differ after normalisation."""
    if case.stateful_charset():
        return {}
    design = case.design_differs()
    theirs = oracle_view(case.mail, extra_plain=design)
    ours = our_view(case.ours, oracle_has_plain=theirs.plain is not None)
    guessed = case.guessed_body(theirs)
    found: dict[str, tuple[object, object]] = {}
    for field in ("plain", "html"):
        mine, oracle = getattr(ours, field), getattr(theirs, field)
        if oracle is not None:  # by design, our bodies show NUL as U+FFFD (no text store takes it)
            oracle = oracle.replace("\x00", "\ufffd")
        if guessed:
            mine, oracle = _ascii(mine), _ascii(oracle)
        same = _is_subsequence(mine, oracle) if design else mine == oracle
        if not same:
            found[field] = (mine, oracle)
    return found


def parse_both(raw: bytes) -> Case | None:
    """Both parses of ``raw``, or None when either side refuses the message."""
    try:
        ours = parse_message(raw, "oracle")
    except ParseError:
        return None
    logging.getLogger("mailparser").setLevel(logging.CRITICAL + 1)
    try:
        mail = mailparser.parse_from_bytes(strip_leading_noise(raw))
    except Exception:  # mail-parser's own failures on hostile files: nothing to compare
        return None
    return Case(ours, mail)


@functools.cache
def case_of(path: Path) -> Case | None:
    """``parse_both`` of one file, once per test session."""
    return parse_both(path.read_bytes())


def message_files() -> list[Path]:
    return sorted(SAMPLES.glob("*.eml")) + [p for f in FOLDERS for p in corpus_files(f)]


def _id(path: Path) -> str:
    root = CORPORA if path.is_relative_to(CORPORA) else SAMPLES.parent
    return str(path.relative_to(root))


@pytest.mark.parametrize("path", message_files(), ids=_id)
def test_parse_message_agrees_with_mail_parser(path: Path) -> None:
    case = case_of(path)
    if case is None:
        return
    assert header_mismatches(case) == {}
    assert body_mismatches(case) == {}


def test_most_corpus_messages_are_compared() -> None:
    for folder in FOLDERS:
        require_corpus(folder)
    compared = [p for p in message_files() if case_of(p) is not None]
    assert len(compared) >= MIN_COMPARED


def test_the_oracle_sees_a_changed_address() -> None:
    raw = (SAMPLES / "mimosas-dde-07-conseil-syndical-vote-gmail-quote.eml").read_bytes()
    case = parse_both(raw)
    assert case is not None
    moved = Address(case.ours.to[0].name, "someone-else@example.fr")
    changed = Case(replace(case.ours, to=(moved,)), case.mail)
    assert set(header_mismatches(changed)) == {"to"}


def test_the_oracle_sees_a_changed_body() -> None:
    case = case_of(SAMPLES / "mimosas-dde-07-conseil-syndical-vote-gmail-quote.eml")
    assert case is not None
    changed = Case(replace(case.ours, text=case.ours.text.replace("e", "é", 1)), case.mail)
    assert set(body_mismatches(changed)) == {"plain"}
