"""How an attachment is served: its content type, and inline only for allowed images and PDF.

Nothing the browser could run or render as a document (HTML, SVG, XML, scripts) is ever given its own
type: unknown kinds go out as ``application/octet-stream`` with ``Content-Disposition: attachment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

INLINE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}
DOWNLOAD_TYPES = {
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".rtf": "application/rtf",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".zip": "application/zip",
}
GENERIC_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Delivery:
    """The content type and disposition of one attachment."""

    media_type: str
    disposition: str


def delivery(filename: str) -> Delivery:
    """How to serve the file named ``filename``."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in INLINE_TYPES:
        return Delivery(INLINE_TYPES[suffix], "inline")
    return Delivery(DOWNLOAD_TYPES.get(suffix, GENERIC_TYPE), "attachment")
