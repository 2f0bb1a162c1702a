"""``parse_message``: raw bytes -> ``ParsedMessage``, or a ``ParseError`` and nothing else.

The bytes are parsed once by the standard library (``email.message_from_bytes``, compat32 policy:
lenient, and it keeps raw header values) and everything else is read from that ``Message``: raw
headers and addresses (``headers``), the MIME walk, attachment sizes and per-part defects
(``parts``), body text (``body``). Every failure, expected or not, becomes a ``ParseError`` whose
one-line reason the caller stores with the quarantined message; a ``RecursionError`` from the
stdlib's parser is the nesting-depth reason.

What mail-parser still does: its structural address parser reads the From/To/Cc headers that
are not of the common shapes (``headers.address_pairs``). We no longer run its whole
``parse_from_bytes``, which wraps the same ``message_from_bytes`` and then computes much that we
threw away: every Received header parsed (14 s of its 36 s under cProfile on the 6,047
SpamAssassin messages), every address header of every occurrence parsed (7 s), attachment
payloads re-encoded to base64, text bodies decoded that we decode again. Measured per message,
interleaved in one process (CPU time, SpamAssassin): bare ``mailparser.parse_from_bytes``
470-520 msg/s, bare ``message_from_bytes`` 3,100-3,400 msg/s, ``parse_message`` 300-330 msg/s
through ``parse_from_bytes`` and 700-760 msg/s without (2.3x). Memory: the peak is the
stdlib's own parse (about 8x the message size under tracemalloc, for a 6 MB message with or
without mail-parser), so this does not lower it. ``parse_from_bytes`` remains the oracle of
tests/test_parse_oracle.py and the baseline of bench/pipeline_throughput.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

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
    address_pairs,
    clean_text,
    decode_text,
    first,
    header_index,
    id_list,
    mailbox_list,
    message_id,
    parse_date,
)
from dossiermail.parse.parts import (
    attachment_leaves,
    is_body,
    leaves,
    part_defects,
    payload_bytes,
    to_attachment,
)
from dossiermail.parse.quotes import split_text
from dossiermail.parse.subject import normalize_subject

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


def _addresses(index: HeaderIndex, name: str) -> tuple[Address, ...]:
    """The mailboxes of the first ``name`` header as domain addresses; empty addresses dropped."""
    found: list[Address] = []
    for display, email in address_pairs(first(index, name)):
        address = clean_text(email).lower()
        if address:
            found.append(Address(name=clean_text(display).strip("\"' "), email=address))
    return tuple(found)


def _date_defects(index: HeaderIndex, date_found: bool) -> list[str]:
    if date_found:
        return []
    written = (first(index, "date") or "").strip()
    return ["unparseable Date header"] if written else ["no Date header"]


def _auto_reply(index: HeaderIndex, subject: str, parts: _Parts, sender: str) -> str | None:
    headers = {name: decode_text(first(index, name)) for name in AUTO_REPLY_HEADERS if name in index}
    clues = AutoReplyClues(headers, subject, parts.content_types, sender)
    return auto_reply_reason(clues)


def _read_message(raw: bytes) -> Message:
    """The stdlib's parse of the whole message (compat32: lenient, raw header values kept)."""
    return message_from_bytes(raw)


def _parse(raw: bytes, message_key: str, envelope_to: tuple[str, ...]) -> ParsedMessage:
    message = _read_message(raw)
    check_depth(message)
    index = header_index(message)
    check_has_mail_header(index)
    subject = decode_text(first(index, "subject"))
    parts = _read_parts(message)
    html = "\n".join(parts.html) if parts.html else None
    text = _text(parts, html)
    split = split_text(text)
    from_ = _addresses(index, "from")
    date = parse_date(first(index, "date"))
    defects = part_defects(message) + parts.defects + _date_defects(index, date is not None)
    return ParsedMessage(
        message_key=message_key,
        message_id=message_id(index),
        in_reply_to=id_list(index, "in-reply-to"),
        references=id_list(index, "references"),
        subject=subject,
        normalized_subject=normalize_subject(subject),
        from_=from_[0] if from_ else None,
        to=_addresses(index, "to"),
        cc=_addresses(index, "cc"),
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
    if isinstance(exc, RecursionError):
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
        message = _read_message(data)
        check_depth(message)
        found = attachment_leaves(message)
    except ParseError:
        raise
    except Exception as exc:
        raise _failure(exc) from exc
    if not 0 <= index < len(found):
        raise IndexError(f"no attachment {index}: the message has {len(found)}")
    return payload_bytes(found[index].part)
