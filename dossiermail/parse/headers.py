"""Reading header values from the stdlib ``Message`` that mail-parser holds, without ever raising.

Values come from ``raw_items()`` (as written, 8-bit octets kept as surrogate escapes), are decoded
here (RFC 2047, bogus charsets) and never contain a line break.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from dossiermail.parse.charsets import decode_bytes, undo_surrogates
from dossiermail.parse.containment import one_line

HeaderIndex = dict[str, list[str]]

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SPACES = re.compile(r"\s+")
_BRACKETED_ID = re.compile(r"<([^<>]*)>")


def header_index(message: Message) -> HeaderIndex:
    """Lower-cased header name -> raw values in order, read once."""
    index: HeaderIndex = {}
    for name, value in message.raw_items():
        index.setdefault(str(name).strip().lower(), []).append(str(value))
    return index


def first(index: HeaderIndex, name: str) -> str | None:
    """The first raw value of header ``name``, or None."""
    values = index.get(name)
    return values[0] if values else None


def _decode_encoded_words(value: str) -> str:
    """RFC 2047 decoding that keeps the spaces between plain and encoded words."""
    try:
        return str(policy.default.header_factory("x-unstructured", value))
    except Exception:  # hostile encoded words: fall back to the lenient decoder
        chunks = []
        for data, charset in decode_header(value):
            if isinstance(data, bytes):
                chunks.append(decode_bytes(data, charset)[0])
            else:
                chunks.append(data)
        return "".join(chunks)


def clean_text(value: str) -> str:
    """Already-decoded text made single-line, with real characters for raw 8-bit octets."""
    return _SPACES.sub(" ", one_line(undo_surrogates(value))).strip()


def decode_text(raw: str | None) -> str:
    """A raw header value as readable, single-line text with whitespace collapsed."""
    if not raw:
        return ""
    value = undo_surrogates(_FOLD.sub("", raw))
    if "=?" in value:
        value = _decode_encoded_words(value)
    return _SPACES.sub(" ", one_line(value)).strip()


def message_id(index: HeaderIndex) -> str | None:
    """The Message-ID as written (angle brackets kept), stripped, or None."""
    value = _SPACES.sub(" ", one_line(undo_surrogates(first(index, "message-id") or ""))).strip()
    return value or None


def id_list(index: HeaderIndex, name: str) -> tuple[str, ...]:
    """Message ids from In-Reply-To/References, without brackets, in order, ignoring junk."""
    text = one_line(undo_surrogates(" ".join(index.get(name, []))))
    found = [_SPACES.sub("", match) for match in _BRACKETED_ID.findall(text)]
    if not found:
        found = [token.strip("<>,;") for token in text.split() if "@" in token]
    return tuple(dict.fromkeys(mid for mid in found if mid))


def mailbox_list(index: HeaderIndex, *names: str) -> tuple[str, ...]:
    """Lower-cased addresses from plain address headers such as Delivered-To, without duplicates."""
    values = [one_line(undo_surrogates(v)) for name in names for v in index.get(name, [])]
    found = [addr.strip().lower() for _, addr in getaddresses(values)]
    return tuple(dict.fromkeys(addr for addr in found if "@" in addr))


def parse_date(raw: str | None) -> datetime | None:
    """An aware datetime keeping the sender's offset; naive dates are taken as UTC; else None."""
    if not raw or not raw.strip():
        return None
    try:
        value = parsedate_to_datetime(one_line(undo_surrogates(raw)).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
