"""Searching one audience's ``search.jsonl``: every query word, ignoring accents and case.

The publisher writes one JSON object per visible message (``dossier``, ``title``, ``date``, ``url``,
``text``), already redacted for that audience; this module never sees anything else. The parsed file
is kept in memory until the file changes (size or modification time).
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PAGE_SIZE = 20
SNIPPET_RADIUS = 90
MAX_QUERY_WORDS = 12
_WORD = re.compile(r"\w+")
_SAFE_URL = re.compile(r"dossiers/[A-Za-z0-9_][A-Za-z0-9._-]*\.html(?:#[A-Za-z0-9_-]+)?")


@dataclass(frozen=True)
class SearchDocument:
    """One message as the search index holds it."""

    dossier: str
    title: str
    date: str
    url: str | None
    text: str
    folded: str


@dataclass(frozen=True)
class Snippet:
    """A piece of text around the first match: before, the match, after."""

    before: str
    match: str
    after: str


@dataclass(frozen=True)
class SearchHit:
    """One result: the message's dossier, title, date, link (relative to the audience root) and snippet."""

    dossier: str
    title: str
    date: str
    url: str | None
    snippet: Snippet


@dataclass(frozen=True)
class SearchPage:
    """One page of results for a query."""

    query: str
    words: tuple[str, ...]
    hits: tuple[SearchHit, ...]
    total: int
    page: int
    pages: int


def fold(text: str) -> str:
    """``text`` without accents, case-folded, one character per original character where possible."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def query_words(query: str) -> tuple[str, ...]:
    """The distinct folded words of a query (at most a dozen)."""
    words = dict.fromkeys(_WORD.findall(fold(query)))
    return tuple(words)[:MAX_QUERY_WORDS]


class SearchIndex:
    """The parsed ``search.jsonl`` files, reloaded when they change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[tuple[int, int], tuple[SearchDocument, ...]]] = {}

    def documents(self, path: Path) -> tuple[SearchDocument, ...]:
        """The documents of ``path`` (parsed once per version of the file)."""
        stat = path.stat()
        version = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and cached[0] == version:
                return cached[1]
        documents = _load(path)
        with self._lock:
            self._cache[path] = (version, documents)
        return documents

    def search(self, path: Path | None, query: str, page: int) -> SearchPage:
        """Page ``page`` (from 1) of the documents containing every word of ``query``."""
        words = query_words(query)
        documents = self.documents(path) if path is not None and words else ()
        found = [doc for doc in documents if all(word in doc.folded for word in words)]
        pages = max(1, -(-len(found) // PAGE_SIZE))
        page = min(max(page, 1), pages)
        chosen = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        hits = tuple(_hit(doc, words) for doc in chosen)
        return SearchPage(query.strip(), words, hits, len(found), page, pages)


def _load(path: Path) -> tuple[SearchDocument, ...]:
    documents: list[SearchDocument] = []
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            record = _record(line)
            if record is not None:
                documents.append(record)
    return tuple(documents)


def _record(line: str) -> SearchDocument | None:
    """One line as a document; blank or malformed lines are skipped."""
    try:
        raw = json.loads(line) if line.strip() else None
    except json.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    fields = {key: str(raw.get(key) or "") for key in ("dossier", "title", "date", "url", "text")}
    url = fields["url"] if _SAFE_URL.fullmatch(fields["url"]) else None
    folded = fold(" ".join((fields["dossier"], fields["title"], fields["text"])))
    return SearchDocument(fields["dossier"], fields["title"], fields["date"], url, fields["text"], folded)


def _hit(document: SearchDocument, words: Sequence[str]) -> SearchHit:
    return SearchHit(
        document.dossier, document.title, document.date, document.url, _snippet(document.text, words)
    )


def _snippet(text: str, words: Sequence[str]) -> Snippet:
    """The text around the first query word found in the message text (its start if none)."""
    flat = " ".join(text.split())
    folded = fold(flat)
    if len(folded) != len(flat):  # ligatures and the like change lengths: no highlight
        return Snippet(_opening(flat), "", "")
    positions = [(folded.find(word), word) for word in words if word in folded]
    if not positions:
        return Snippet(_opening(flat), "", "")
    start, word = min(positions)
    end = start + len(word)
    before = flat[max(0, start - SNIPPET_RADIUS) : start]
    after = flat[end : end + SNIPPET_RADIUS]
    prefix = "… " if start > SNIPPET_RADIUS else ""
    suffix = " …" if end + SNIPPET_RADIUS < len(flat) else ""
    return Snippet(prefix + before, flat[start:end], after + suffix)


def _opening(text: str) -> str:
    """The start of ``text``, about two snippet radii long."""
    length = 2 * SNIPPET_RADIUS
    return text[:length] + (" …" if length < len(text) else "")
