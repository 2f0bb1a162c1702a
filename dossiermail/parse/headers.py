"""Reading header values from the stdlib ``Message``, without ever raising.

Values come from ``raw_items()`` (as written, 8-bit octets kept as surrogate escapes), are decoded
here (RFC 2047, bogus charsets) and never contain a line break. Address headers (From, To, Cc) are
split by a one-pass structural scanner (see ``address_pairs``) that keeps the rules of the
mail-parser release we used before: only complete, unambiguous mailboxes come out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from mailparser.utils import get_addresses

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
    if all(_SIMPLE_ADDRESS.fullmatch(value.strip()) for value in values):  # the usual case
        found = [value.strip().lower() for value in values]
    else:
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


# --- Address headers (From, To, Cc) -----------------------------------------------------------
# mail-parser's structural address parser (``mailparser.utils.get_addresses``) reads these headers:
# it splits items at structural commas only, drops group labels, and yields a mailbox only when
# its addr-spec is complete and unambiguous, never a guessed address. It is thorough and slow
# (a tenth of a millisecond a header), so the common shapes are read by one regex first: they
# give exactly what it would give (tests/test_parse_message.py checks both on every address
# header of the corpora). One deliberate difference: a display name with raw octets that are not
# UTF-8 is read as cp1252, where mail-parser keeps literal ``\udcXX`` escapes.
_WSP = " \t\r\n"
# The common shapes (``a@b``, ``Name <a@b>``, ``"Nom, Prénom" <a@b>``, ASCII, no comments, no
# encoded words) read by one regex: they give what the scanner and ``getaddresses`` would give.
_FAST_WS = r"[ \t\r\n]*"
_FAST_ATEXT = r"A-Za-z0-9!#$%&'*+/?^_`{|}~\-"
_FAST_ADDR = rf"[{_FAST_ATEXT}=]+(?:\.[{_FAST_ATEXT}=]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_FAST_PHRASE = rf"[{_FAST_ATEXT}.]+(?:[ \t\r\n]+[{_FAST_ATEXT}.]+)*"
_FAST_ITEM = re.compile(
    rf"{_FAST_WS}(?:(?P<bare>{_FAST_ADDR})|(?:(?P<words>{_FAST_PHRASE})"
    rf'|"(?P<quoted>[^"\\\r\n]*)")?{_FAST_WS}<(?P<angled>{_FAST_ADDR})>)?{_FAST_WS}(?:,|\Z)'
)
_SIMPLE_ADDRESS = re.compile(_FAST_ADDR)


def _fast_pairs(raw: str) -> list[tuple[str, str]] | None:
    """The mailboxes of a header made only of the common shapes, or None for the full scanner."""
    pairs: list[tuple[str, str]] = []
    position = 0
    while position < len(raw):
        match = _FAST_ITEM.match(raw, position)
        if match is None or match.end() == position:
            return None
        position = match.end()
        if match["bare"]:
            pairs.append(("", match["bare"]))
        elif match["angled"]:
            name = match["quoted"] or " ".join((match["words"] or "").split())
            pairs.append((name, match["angled"]))
    return pairs


_ESCAPED_OCTET = re.compile(r"\\udc([89a-fA-F][0-9a-fA-F])")


def _readable_name(name: str) -> str:
    """mail-parser's literal ``\\udcXX`` escapes of non-UTF-8 octets, read as text (cp1252)."""
    if "\\udc" not in name:
        return name
    return undo_surrogates(_ESCAPED_OCTET.sub(lambda found: chr(0xDC00 + int(found[1], 16)), name))


def _utf8(raw: str) -> str:
    """Raw 8-bit octets read as UTF-8; those that are not UTF-8 stay surrogate escapes."""
    try:
        return raw.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
    except UnicodeError:
        return raw


def address_pairs(raw: str | None) -> list[tuple[str, str]]:
    """``(display name, address)`` for each mailbox of a raw address header value, in order.

    Raw 8-bit octets are read as UTF-8; an address with octets that are not UTF-8 is dropped, a
    display name with them is read as cp1252. A name equal to its address is left empty.
    """
    if not raw or not raw.strip(_WSP):
        return []
    pairs = _fast_pairs(raw) if raw.isascii() else None
    if pairs is None:
        found = get_addresses(_utf8(raw), decode_names=True)
        pairs = [(_readable_name(name), addr) for name, addr in found if addr and addr.isprintable()]
    return [("" if name == addr else name, addr) for name, addr in pairs]
