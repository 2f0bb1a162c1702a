"""Finding a grant's file in the published site tree, and nothing outside it.

The publisher writes ``SITE/<building>/<audience.slug>/…``; a request for ``/<building>/<rest>``
maps to the grant's own audience folder only. A path is accepted only in the shapes the publisher
writes (the index, a dossier page, an attachment), and only if it resolves, symlinks followed, to a
regular file inside that folder. Everything else is ``None``, which the server answers with its 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dossiermail.audience import Audience

INDEX_PAGE = "index.html"
SEARCH_FILE = "search.jsonl"
SHARED_STYLESHEET = "style.css"

_SEGMENT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f/\\]")
_DOSSIER_PAGE = re.compile(r"dossiers/[A-Za-z0-9_][A-Za-z0-9._-]{0,200}\.html")
_PIECE = re.compile(r"pieces/[A-Za-z0-9_-]{1,128}/[^/]{1,255}")
_BUILDING = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class SiteTree:
    """The folder ``dossiermail publish --out`` wrote."""

    root: Path

    def audience_dir(self, building: str, audience: Audience) -> Path | None:
        """``root/<building>/<audience.slug>``, if it is a real folder (not a symlink to another one)."""
        if not _BUILDING.fullmatch(building):
            return None
        root = self.root.resolve()
        found = _inside(root, Path(building, audience.slug), want_dir=True)
        return found if found == root / building / audience.slug else None

    def page(self, building: str, audience: Audience, rest: str) -> Path | None:
        """The file for ``/<building>/<rest>``, or ``None`` when it is absent or not this grant's."""
        relative = _published_path(rest)
        base = self.audience_dir(building, audience)
        if relative is None or base is None:
            return None
        return _inside(base, relative, want_dir=False)

    def search_index(self, building: str, audience: Audience) -> Path | None:
        """The audience's ``search.jsonl``, if published."""
        base = self.audience_dir(building, audience)
        return None if base is None else _inside(base, Path(SEARCH_FILE), want_dir=False)

    def stylesheet(self) -> Path | None:
        """The shared ``style.css`` at the root of the tree."""
        return _inside(self.root.resolve(), Path(SHARED_STYLESHEET), want_dir=False)


def _published_path(rest: str) -> Path | None:
    """``rest`` as a relative path when it has the shape of a published file, else ``None``."""
    if rest in {"", INDEX_PAGE}:
        return Path(INDEX_PAGE)
    segments = rest.split("/")
    if any(_bad_segment(segment) for segment in segments):
        return None
    if _DOSSIER_PAGE.fullmatch(rest) or _PIECE.fullmatch(rest):
        return Path(*segments)
    return None


def _bad_segment(segment: str) -> bool:
    return segment in {"", ".", ".."} or segment.startswith(".") or bool(_SEGMENT_FORBIDDEN.search(segment))


def _inside(base: Path, relative: Path, *, want_dir: bool) -> Path | None:
    """``base / relative`` resolved, if it exists, has the wanted kind and stays under ``base``."""
    try:
        resolved = (base / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(base):
        return None
    return resolved if (resolved.is_dir() if want_dir else resolved.is_file()) else None
