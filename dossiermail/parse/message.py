"""``parse_message``: raw bytes -> ``ParsedMessage``, or a ``ParseError`` and nothing else.

mail-parser parses the bytes once; its stdlib ``Message`` (``mail.message``) is reused for raw
header access, the MIME walk and attachment sizes. Every failure, expected or not, becomes a
``ParseError`` whose one-line reason the caller stores with the quarantined message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import mailparser
from mailparser.exceptions import MailParserRecursionError

from dossiermail.domain import Address, Attachment, ParsedMessage
from dossiermail.parse.autoreply import AutoReplyClues, auto_reply_reason
from dossiermail.parse.body import decode_part, html_to_text
from dossiermail.parse.containment import (
    MAX_BYTES,
    MAX_DEPTH,
    check_depth,
    check_has_mail_header,
    check_raw,
    strip_leading_noise,
)
from dossiermail.parse.errors import ParseError
from dossiermail.parse.headers import (
    HeaderIndex,
    clean_text,
    decode_text,
    first,
    header_index,
    id_list,
    mailbox_list,
    message_id,
    parse_date,
)
from dossiermail.parse.parts import attachment_leaves, is_body, leaves, payload_bytes, to_attachment
from dossiermail.parse.quotes import split_text
from dossiermail.parse.subject import normalize_subject

# mail-parser logs every oddity of hostile mail at WARNING/ERROR; our defects list carries them.
logging.getLogger("mailparser").setLevel(logging.CRITICAL + 1)

AUTO_REPLY_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "x-auto-response-suppress",
)
MAX_DEFECTS = 50


@dataclass
class _Parts:
    """What one walk over the MIME leaves collects."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    content_types: set[str] = field(default_factory=set)
    defects: list[str] = field(default_factory=list)


def _read_parts(message: Message) -> _Parts:
    parts = _Parts(content_types={message.get_content_type()})
    for leaf in leaves(message):
        parts.content_types.add(leaf.content_type)
        if not is_body(leaf):
            parts.attachments.append(to_attachment(leaf, len(parts.attachments) + 1))
            continue
        text, defect = decode_part(leaf.part)
        if defect:
            parts.defects.append(defect)
        (parts.html if leaf.content_type == "text/html" else parts.plain).append(text)
    return parts


def _text(parts: _Parts, html: str | None) -> str:
    """The text/plain body, or text made from the HTML when there is no usable plain text."""
    plain = "\n\n".join(part.strip("\n") for part in parts.plain if part.strip())
    if plain or html is None:
        return plain
    return html_to_text(html)


def _addresses(pairs: Any) -> tuple[Address, ...]:
    """mail-parser's ``(name, address)`` pairs as domain addresses; empty addresses dropped."""
    found: list[Address] = []
    for name, email in pairs or []:
        address = clean_text(str(email)).lower()
        if address:
            found.append(Address(name=clean_text(str(name or "")).strip("\"' "), email=address))
    return tuple(found)


def _mailparser_defects(mail: Any) -> list[str]:
    """mail-parser's defects (a list of ``{where: [text, ...]}``) as short one-line strings."""
    found: list[str] = []
    for group in mail.defects or []:
        for texts in group.values() if isinstance(group, dict) else []:
            found.extend(clean_text(str(text).split("\n")[0])[:200] for text in texts)
    return found


def _date_defects(index: HeaderIndex, date_found: bool) -> list[str]:
    if date_found:
        return []
    written = (first(index, "date") or "").strip()
    return ["unparseable Date header"] if written else ["no Date header"]


def _auto_reply(index: HeaderIndex, subject: str, parts: _Parts, sender: str) -> str | None:
    headers = {name: decode_text(first(index, name)) for name in AUTO_REPLY_HEADERS if name in index}
    clues = AutoReplyClues(headers, subject, parts.content_types, sender)
    return auto_reply_reason(clues)


def _run_mailparser(raw: bytes) -> tuple[Any, Message]:
    mail = mailparser.parse_from_bytes(raw)
    message = mail.message
    if not isinstance(message, Message):
        raise ParseError("no mail header found")
    return mail, message


def _parse(raw: bytes, message_key: str, envelope_to: tuple[str, ...]) -> ParsedMessage:
    mail, message = _run_mailparser(raw)
    check_depth(message)
    index = header_index(message)
    check_has_mail_header(index)
    subject = decode_text(first(index, "subject"))
    parts = _read_parts(message)
    html = "\n".join(parts.html) if parts.html else None
    text = _text(parts, html)
    split = split_text(text)
    from_ = _addresses(mail.from_)
    date = parse_date(first(index, "date"))
    defects = _mailparser_defects(mail) + parts.defects + _date_defects(index, date is not None)
    return ParsedMessage(
        message_key=message_key,
        message_id=message_id(index),
        in_reply_to=id_list(index, "in-reply-to"),
        references=id_list(index, "references"),
        subject=subject,
        normalized_subject=normalize_subject(subject),
        from_=from_[0] if from_ else None,
        to=_addresses(mail.to),
        cc=_addresses(mail.cc),
        date=date,
        text=text,
        html=html,
        new_text=split.new_text,
        quoted_text=split.quoted_text,
        signature=split.signature,
        attachments=tuple(parts.attachments),
        auto_reply=_auto_reply(index, subject, parts, from_[0].email if from_ else ""),
        defects=tuple(dict.fromkeys(defects))[:MAX_DEFECTS],
        envelope_to=tuple(clean_text(str(addr)).lower() for addr in envelope_to),
        delivered_to=mailbox_list(index, "delivered-to", "x-original-to"),
    )


def _failure(exc: Exception) -> ParseError:
    """An unexpected exception as the one-line quarantine reason."""
    if isinstance(exc, (RecursionError, MailParserRecursionError)):
        return ParseError(f"multipart nesting deeper than {MAX_DEPTH}")
    lines = str(exc).strip().splitlines()
    detail = f": {lines[0]}" if lines else ""
    return ParseError(f"parser failed: {type(exc).__name__}{detail}")


def parse_message(
    raw: bytes,
    message_key: str,
    *,
    envelope_to: tuple[str, ...] = (),
    max_bytes: int = MAX_BYTES,
) -> ParsedMessage:
    """Parse one raw message; raises only ``ParseError`` (with a one-line reason), on any input."""
    try:
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise ParseError(f"raw message must be bytes, not {type(raw).__name__}")
        data = strip_leading_noise(bytes(raw))
        check_raw(data, max_bytes=max_bytes)
        return _parse(data, message_key, tuple(envelope_to))
    except ParseError:
        raise
    except Exception as exc:
        raise _failure(exc) from exc


def attachment_bytes(raw: bytes, index: int, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The decoded payload of ``ParsedMessage.attachments[index]`` for the same raw message.

    Raises ``ParseError`` when the message cannot be parsed and ``IndexError`` when there is no
    attachment ``index``.
    """
    try:
        data = strip_leading_noise(bytes(raw))
        check_raw(data, max_bytes=max_bytes)
        _, message = _run_mailparser(data)
        check_depth(message)
        found = attachment_leaves(message)
    except ParseError:
        raise
    except Exception as exc:
        raise _failure(exc) from exc
    if not 0 <= index < len(found):
        raise IndexError(f"no attachment {index}: the message has {len(found)}")
    return payload_bytes(found[index].part)
