"""Charset-tolerant decoding of bytes from mail: declared charset, then utf-8, then Windows/latin-1.

French mail often lies about its charset (``iso-8859-1`` text written by Outlook in ``cp1252``, or a
charset name that does not exist); we never fail, we record that we had to guess.
"""

from __future__ import annotations

import codecs

# Tried in this order after the declared charset. latin-1 maps every byte, so it always succeeds.
FALLBACK_CHARSETS = ("utf-8", "cp1252", "latin-1")

# Names some mailers write that Python does not know, and what they mean.
_ALIASES = {
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "x-user-defined": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "ks_c_5601-1987": "cp949",
}


def _known_charset(charset: str | None) -> str | None:
    """The Python codec name for ``charset``, or None when it is absent or unknown."""
    if not charset:
        return None
    name = _ALIASES.get(charset.strip().strip("\"'").lower(), charset.strip().strip("\"'"))
    try:
        codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    return name


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode ``data``; returns the text and whether the declared charset had to be abandoned.

    A missing charset is not a problem (utf-8 is tried first, then cp1252, then latin-1); a declared
    charset that is unknown or does not fit the bytes is reported as ``True``.
    """
    declared = _known_charset(charset)
    if declared is not None:
        try:
            return data.decode(declared), False
        except (UnicodeError, LookupError, ValueError):
            pass
    for candidate in FALLBACK_CHARSETS:
        try:
            return data.decode(candidate), bool(charset)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace"), True  # pragma: no cover - latin-1 never fails


def undo_surrogates(value: str) -> str:
    """Turn the raw 8-bit octets the stdlib keeps as surrogate escapes into real text."""
    if value.isascii():
        return value
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return decode_bytes(raw, None)[0]
