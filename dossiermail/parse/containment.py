"""Limits that protect the workers from hostile mail: size, header block, NUL bytes, nesting depth.

Checks on the raw bytes run before any parser sees them; the nesting check runs on the parsed tree
without recursion. Every refusal is a ``ParseError`` with a one-line reason for the quarantine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.message import Message

from dossiermail.parse.errors import ParseError

MAX_BYTES = 25 * 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024
MAX_DEPTH = 30

# A header we recognise as mail: at least one of these must be present.
MAIL_HEADERS = frozenset({"from", "to", "subject", "date", "message-id"})

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LINE_BREAKS = re.compile(r"[\r\n\x00\u2028\u2029\x85]+")


def strip_leading_noise(raw: bytes) -> bytes:
    """Drop a UTF-8 byte-order mark and blank lines before the first header (Windows-saved .eml)."""
    return raw.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")


def header_block(raw: bytes) -> bytes:
    """The bytes before the first blank line (the whole message when there is none)."""
    match = _HEADER_END.search(raw, 0, MAX_HEADER_BYTES + 4)
    if match is None:
        return raw
    return raw[: match.start()]


def check_raw(raw: bytes, *, max_bytes: int = MAX_BYTES) -> None:
    """Refuse messages that are too large, have a huge header block or NUL bytes in headers."""
    if len(raw) > max_bytes:
        raise ParseError(f"message too large: {len(raw)} bytes > {max_bytes}")
    headers = header_block(raw)
    if len(headers) > MAX_HEADER_BYTES:
        raise ParseError(f"header block too large: {len(headers)} bytes > {MAX_HEADER_BYTES}")
    if b"\x00" in headers:
        raise ParseError("NUL byte in headers")


def check_has_mail_header(names: Iterable[str]) -> None:
    """Refuse a message that has none of From, To, Subject, Date, Message-ID."""
    if not MAIL_HEADERS.intersection(name.lower() for name in names):
        raise ParseError("no mail header found")


def nesting_depth(message: Message) -> int:
    """How many containers deep the MIME tree goes (a single-part message is 0), iteratively."""
    deepest = 0
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        children = part.get_payload() if part.is_multipart() else None
        if isinstance(children, list):
            stack.extend((child, depth + 1) for child in children if isinstance(child, Message))
    return deepest


def check_depth(message: Message) -> None:
    """Refuse multipart trees nested deeper than ``MAX_DEPTH``."""
    if nesting_depth(message) > MAX_DEPTH:
        raise ParseError(f"multipart nesting deeper than {MAX_DEPTH}")


def one_line(value: str) -> str:
    """A header value that can never carry a line break (encoded CR/LF, NUL, Unicode separators)."""
    if _LINE_BREAKS.search(value):
        value = _LINE_BREAKS.sub(" ", value)
    return value
