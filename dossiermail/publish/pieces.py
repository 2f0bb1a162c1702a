"""Attachments on the extranet: which may be downloaded, and their bytes from the raw message.

Allowed: PDF, JPEG/PNG/GIF/WebP images and office documents (odt, ods, docx, xlsx, doc, xls). The
type is judged on the file name's extension (or the declared type when the name has none), must not
contradict the declared type, and the bytes must start like that type (a ``.pdf`` that is really
HTML is not published). Everything else is listed on the page as « non publiée ».
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy.orm import Session

from dossiermail.parse import ParseError, attachment_bytes
from dossiermail.publish.formatting import safe_filename
from dossiermail.store.models import RawMessage

_UNDERSCORES = re.compile(r"_{2,}")
_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)


@dataclass(frozen=True)
class PieceType:
    """An allowed attachment type: its extension, MIME types, and how its bytes start."""

    extension: str
    mime_types: tuple[str, ...]
    magic: tuple[bytes, ...]


ALLOWED: tuple[PieceType, ...] = (
    PieceType(".pdf", ("application/pdf",), (b"%PDF-",)),
    PieceType(".jpg", ("image/jpeg", "image/pjpeg"), (b"\xff\xd8\xff",)),
    PieceType(".png", ("image/png",), (b"\x89PNG\r\n\x1a\n",)),
    PieceType(".gif", ("image/gif",), (b"GIF87a", b"GIF89a")),
    PieceType(".webp", ("image/webp",), (b"RIFF",)),
    PieceType(".odt", ("application/vnd.oasis.opendocument.text",), _ZIP),
    PieceType(".ods", ("application/vnd.oasis.opendocument.spreadsheet",), _ZIP),
    PieceType(".docx", ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",), _ZIP),
    PieceType(".xlsx", ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",), _ZIP),
    PieceType(".doc", ("application/msword",), _OLE),
    PieceType(".xls", ("application/vnd.ms-excel",), _OLE),
)
_ALIASES = {".jpeg": ".jpg", ".jpe": ".jpg"}
_BY_EXTENSION = {kind.extension: kind for kind in ALLOWED}
_BY_MIME = {mime: kind for kind in ALLOWED for mime in kind.mime_types}
_GENERIC_MIME = frozenset({"", "application/octet-stream", "application/x-download", "binary/octet-stream"})


def piece_type(filename: str, content_type: str) -> PieceType | None:
    """The allowed type of an attachment, or ``None`` when it may not be published."""
    mime = content_type.split(";", maxsplit=1)[0].strip().lower()
    suffix = PurePosixPath(filename.strip().lower()).suffix
    suffix = _ALIASES.get(suffix, suffix)
    if suffix:
        kind = _BY_EXTENSION.get(suffix)
        if kind is None or (mime not in _GENERIC_MIME and mime not in kind.mime_types):
            return None
        return kind
    return _BY_MIME.get(mime)


def looks_like(kind: PieceType, data: bytes) -> bool:
    """Whether the bytes start the way files of this type do."""
    if kind.extension == ".webp":
        return data.startswith(b"RIFF") and data[8:12] == b"WEBP"
    return data.startswith(kind.magic)


def piece_token(message_key: str, position: int) -> str:
    """A stable folder name for one attachment of one message."""
    return hashlib.sha256(f"{message_key}:{position}".encode()).hexdigest()[:20]


def piece_filename(redacted_name: str, kind: PieceType) -> str:
    """A safe ASCII file name that keeps the allowed extension whatever redaction did to the name.

    ``Devis [téléphone masqué].PDF`` → ``Devis_telephone_masque.pdf``.
    """
    stem = PurePosixPath(redacted_name).stem if PurePosixPath(redacted_name).suffix else redacted_name
    ascii_stem = "".join(c for c in unicodedata.normalize("NFKD", stem) if not unicodedata.combining(c))
    cleaned = _UNDERSCORES.sub("_", safe_filename(ascii_stem, fallback="piece")).strip("_")
    return (cleaned or "piece")[:80] + kind.extension


class PieceBytes:
    """Reads and checks attachment bytes from the raw messages, once per attachment.

    ``checked`` (token → publishable) comes from the previous publication's manifest, so a
    republish reads no raw message whose attachments were already judged.
    """

    def __init__(self, session: Session, checked: dict[str, bool]) -> None:
        self._session = session
        self.checked = dict(checked)
        self._loaded: dict[str, bytes] = {}

    def publishable(self, message_key: str, position: int, kind: PieceType) -> bool:
        """Whether the attachment's bytes are of the allowed type (read once, then remembered)."""
        token = piece_token(message_key, position)
        if token not in self.checked:
            data = self._read(message_key, position)
            self.checked[token] = data is not None and looks_like(kind, data)
            if self.checked[token] and data is not None:
                self._loaded[token] = data
        return self.checked[token]

    def data(self, message_key: str, position: int) -> bytes:
        """The attachment's bytes (re-read from the raw message if not already in memory)."""
        token = piece_token(message_key, position)
        if token not in self._loaded:
            self._loaded[token] = self._read(message_key, position) or b""
        return self._loaded[token]

    def _read(self, message_key: str, position: int) -> bytes | None:
        raw = self._session.get(RawMessage, message_key)
        if raw is None or not raw.raw:
            return None
        try:
            return attachment_bytes(raw.raw, position)
        except (ParseError, IndexError):
            return None


PieceSource = tuple[str, int]
"""Where a written piece comes from: (message key, attachment position)."""
CidUrl = Callable[[str], str | None]
