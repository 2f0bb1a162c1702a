"""The content key that identifies a message across channels (SMTP copy, IMAP copy, archive).

It hashes the headers that identify a mail as written (Message-ID, Date, From, Subject, To, Cc,
References, In-Reply-To) plus the body with line endings and trailing blanks normalized, so transport
headers (Received, Return-Path, Delivered-To) and CRLF/LF differences do not make a new message, while
two different mails that reuse a Message-ID stay apart. Pure byte work: never raises on bad mail.
"""

from __future__ import annotations

import hashlib
import re

IDENTITY_HEADERS: tuple[bytes, ...] = (
    b"message-id",
    b"date",
    b"from",
    b"subject",
    b"to",
    b"cc",
    b"references",
    b"in-reply-to",
)
_BLANK_LINE = re.compile(rb"\r?\n[ \t]*\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_HEADER = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*)$", re.DOTALL)


def split_head_body(raw: bytes) -> tuple[bytes, bytes]:
    """The header block and the body, split at the first blank line (no header: all body)."""
    match = _BLANK_LINE.search(raw)
    if match is None:
        return (raw, b"") if _HEADER.match(raw.split(b"\n", 1)[0]) else (b"", raw)
    return raw[: match.start()], raw[match.end() :]


def identity_headers(head: bytes) -> list[tuple[bytes, bytes]]:
    """(lower-cased name, whitespace-folded value) of every identity header, in order."""
    found: list[tuple[bytes, bytes]] = []
    for field in _unfolded_fields(head):
        match = _HEADER.match(field)
        if match is None:
            continue
        name = match.group(1).lower()
        if name in IDENTITY_HEADERS:
            found.append((name, b" ".join(match.group(2).split())))
    return found


def _unfolded_fields(head: bytes) -> list[bytes]:
    fields: list[bytes] = []
    for line in _LINE_END.split(head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b" " + line.strip()
        elif line:
            fields.append(line)
    return fields


def normalized_body(body: bytes) -> bytes:
    """The body with LF line ends, trailing spaces removed and trailing blank lines dropped."""
    lines = [line.rstrip(b" \t") for line in _LINE_END.split(body)]
    while lines and not lines[-1]:
        lines.pop()
    return b"\n".join(lines)


def content_key(raw: bytes) -> str:
    """The hex sha256 that names this message in the store."""
    head, body = split_head_body(raw)
    digest = hashlib.sha256()
    for name, value in sorted(identity_headers(head)):
        digest.update(name + b":" + value + b"\n")
    digest.update(b"\n")
    digest.update(normalized_body(body))
    return digest.hexdigest()
