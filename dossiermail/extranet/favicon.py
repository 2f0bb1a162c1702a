"""The site icon: a plain square in the extranet's brand colour, made once as a PNG.

Browsers ask for ``/favicon.ico`` on every site; answering it keeps their consoles free of 404s.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache

BRAND = (0x1D, 0x3A, 0x5F)
SIZE = 16


@cache
def favicon_png() -> bytes:
    """A 16×16 PNG filled with the brand colour."""
    row = b"\x00" + bytes(BRAND) * SIZE
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * SIZE))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
