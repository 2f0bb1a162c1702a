"""Walk a MIME tree without recursion: leaves sorted into body text and attachments, defects.

The same walk serves ``parse_message`` (the attachment list) and ``attachment_bytes`` (the n-th
attachment's payload), so the indexes always agree. ``part_defects`` reports what the stdlib's
parser noticed in each part (``Message.defects``) and MIME headers whose raw octets are not UTF-8,
as short one-line strings in the form mail-parser used.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from dossiermail.domain import Attachment
from dossiermail.parse.headers import clean_text, decode_text

BODY_TYPES = frozenset({"text/plain", "text/html"})
MIME_HEADERS = ("content-type", "content-disposition", "content-id", "content-transfer-encoding")
MAX_DEFECT_CHARS = 200


@dataclass(frozen=True)
class Leaf:
    """One leaf of the MIME tree; an attached ``message/rfc822`` counts as one leaf."""

    part: Message
    content_type: str
    disposition: str | None
    filename: str


def leaves(message: Message) -> Iterator[Leaf]:
    """Leaves in document order (depth-first), without descending into attached messages."""
    stack = [message]
    while stack:
        part = stack.pop()
        content_type = part.get_content_type()
        if part.is_multipart() and content_type.startswith("multipart/"):
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend(reversed([c for c in children if isinstance(c, Message)]))
            continue
        if content_type.startswith("multipart/"):
            content_type = "text/plain"  # a multipart without a usable boundary: read it as text
        yield Leaf(
            part=part,
            content_type=content_type,
            disposition=part.get_content_disposition(),
            filename=_filename(part),
        )


def _filename(part: Message) -> str:
    """The decoded file name (RFC 2231 parameters, RFC 2047 words), or ``""``."""
    try:
        written = f"{part.get('content-disposition', '')} {part.get('content-type', '')}"
        if "name" not in written.lower():  # no filename= or name= parameter to parse
            return ""
        return decode_text(part.get_filename() or "")
    except Exception:  # a malformed parameter must not lose the whole message
        return ""


def is_body(leaf: Leaf) -> bool:
    """A text/plain or text/html part that is the message's own text, not a file."""
    return leaf.content_type in BODY_TYPES and leaf.disposition != "attachment" and not leaf.filename


def attachment_leaves(message: Message) -> list[Leaf]:
    """Every leaf that is not body text, in the order of ``ParsedMessage.attachments``."""
    return [leaf for leaf in leaves(message) if not is_body(leaf)]


def payload_bytes(part: Message) -> bytes:
    """The decoded payload of a leaf; an attached message is returned as its own bytes."""
    if part.is_multipart():
        inner = [m for m in part.get_payload() if isinstance(m, Message)]
        if part.get_content_type() == "message/rfc822":
            inner = inner[:1]
        try:
            return b"\n".join(m.as_bytes() for m in inner)
        except Exception:  # an unserialisable attached message: nothing we can hand out
            return b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _content_id(part: Message) -> str | None:
    value = decode_text(str(part.get("Content-ID", "") or ""))
    return value.strip().strip("<>").strip() or None


def _fallback_filename(leaf: Leaf, position: int) -> str:
    """A French name for an unnamed attachment: ``piece-jointe-2.ics``."""
    if leaf.content_type == "message/rfc822":
        extension = ".eml"
    else:
        extension = mimetypes.guess_extension(leaf.content_type, strict=False) or ".bin"
    return f"piece-jointe-{position}{extension}"


def to_attachment(leaf: Leaf, position: int) -> Attachment:
    """The metadata the timeline shows; ``position`` is 1-based for the fallback name."""
    content_id = _content_id(leaf.part)
    return Attachment(
        filename=leaf.filename or _fallback_filename(leaf, position),
        content_type=leaf.content_type,
        size=len(payload_bytes(leaf.part)),
        content_id=content_id,
        inline=leaf.disposition == "inline" and content_id is not None,
    )


def all_parts(message: Message) -> Iterator[Message]:
    """Every part, containers and attached messages included, in document order (no recursion)."""
    stack = [message]
    while stack:
        part = stack.pop()
        yield part
        children = part.get_payload() if part.is_multipart() else None
        if isinstance(children, list):
            stack.extend(reversed([c for c in children if isinstance(c, Message)]))


def _mime_header_defects(part: Message, position: int) -> list[str]:
    """MIME headers with raw octets that are not UTF-8: their file names and types are guesses."""
    found: list[str] = []
    for name, value in part.raw_items():
        header = name.strip().lower()
        if header in MIME_HEADERS and not value.isascii():
            try:
                value.encode("utf-8", "surrogateescape").decode("utf-8")
            except UnicodeError:
                found.append(f"MimeHeaderDefect: part {position}, {header}: invalid UTF-8")
    return found


def part_defects(message: Message) -> list[str]:
    """The parser's defects of every part (``Class: description``), one line each, in order."""
    found: list[str] = []
    for position, part in enumerate(all_parts(message)):
        for defect in part.defects:
            text = f"{type(defect).__name__}: {defect.__doc__ or ''}".split("\n")[0]
            found.append(clean_text(text)[:MAX_DEFECT_CHARS])
        found.extend(_mime_header_defects(part, position))
    return found
