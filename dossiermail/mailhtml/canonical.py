"""First pass over raw mail HTML: one streaming, non-recursive walk that caps nesting depth.

Python's ``html.parser`` tokenizes the input; the walk writes back a canonical stream (lower-case
tag names, quoted and escaped attributes, escaped text, every element explicitly closed) in which
elements nested deeper than ``MAX_DEPTH`` are flattened: their tags go, their text stays.
Comments, declarations and the content of scripts, styles, embedded documents and foreign XML
(``DROPPED_WITH_CONTENT``) go too. Because the output is canonical, nh3's HTML5 parser reads the
same structure the walk counted, so it never sees more than about ``MAX_DEPTH`` levels.

While it reads, the walk counts the remote resources those dropped parts would have loaded (style
sheets, fonts, CSS backgrounds, ``background=`` attributes, images in dropped content).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

from dossiermail.mailhtml.policy import DROPPED_WITH_CONTENT, MAX_DEPTH, VOID_TAGS, is_remote
from dossiermail.parse.body import shorten_numeric_references

_TAG_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_.:-]*")
# Counting only (never sanitizing): remote url(...) and @import in CSS text.
_CSS_REMOTE = re.compile(
    r"""(?:url\(\s*|@import\s+)["']?\s*(?:https?:|//|\\\\)""",
    re.IGNORECASE,
)
_REMOTE_ATTRIBUTES = frozenset({"background", "poster", "lowsrc", "dynsrc"})
_COUNTED_ATTRIBUTES = _REMOTE_ATTRIBUTES | {"style", "srcset", "src"}  # _remote_in's names
_TEXT_SPECIALS = re.compile(r"[&<>]")  # escape() only when one is there: same output, faster
_ATTRIBUTE_SPECIALS = re.compile(r"[&<>\"']")
_LINK_RELS = ("stylesheet", "icon", "preload", "prefetch", "font")
# Never written out: document-level tags, <image> (which HTML parsers turn into <img>) and
# <plaintext> (which would make the rest of the canonical stream text).
_NEVER_WRITTEN = frozenset({"image", "link", "meta", "base", "html", "head", "body", "plaintext"})


@dataclass(frozen=True)
class CanonicalHtml:
    """The depth-capped canonical markup and the remote resources its dropped parts referenced."""

    html: str
    remote_blocked: int
    flattened: int


@dataclass(slots=True)
class _Open:
    name: str
    emitted: bool
    dropped_content: bool


class LenientParser(HTMLParser):
    """``html.parser`` without the assertion errors it raises on ``<![…`` outside CDATA sections."""

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        # HTML5: outside foreign content "<![" opens a bogus comment that ends at the next ">".
        end = self.rawdata.find(">", i + 3)
        return -1 if end < 0 else end + 1

    def updatepos(self, i: int, j: int) -> int:
        return j  # line numbers are never read: skip counting them


class _Canonicalizer(LenientParser):
    def __init__(self, max_depth: int) -> None:
        super().__init__(convert_charrefs=True)
        self.max_depth = max_depth
        self.out: list[str] = []
        self.stack: list[_Open] = []
        self.open_counts: dict[str, int] = {}
        self.dropping = 0
        self.emitted_depth = 0
        self.remote = 0
        self.flattened = 0
        self.written_names: dict[str, bool] = {}  # tag name -> written out (cached per document)
        self.attribute_names: dict[str, bool] = {}  # attribute name -> kept (cached per document)

    # -- counting -------------------------------------------------------------------------
    def _count_remote(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in _COUNTED_ATTRIBUTES:
                self.remote += self._remote_in(tag, name, value)
        if tag == "link":
            values = {name: value or "" for name, value in attrs}
            rel = values.get("rel", "").lower()
            linked = any(word in rel for word in _LINK_RELS) and is_remote(values.get("href", ""))
            self.remote += int(linked)

    def _remote_in(self, tag: str, name: str, value: str) -> int:
        """How many remote resources one attribute would load."""
        if name == "style":
            return len(_CSS_REMOTE.findall(value))
        if name in _REMOTE_ATTRIBUTES:
            return int(is_remote(value))
        if name == "srcset":
            return sum(1 for item in value.split(",") if is_remote(item))
        if name == "src" and (tag != "img" or self.dropping):
            return int(is_remote(value))
        return 0

    # -- output ---------------------------------------------------------------------------
    def _start_tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        parts = [tag]
        for name, value in attrs:
            kept = self.attribute_names.get(name)
            if kept is None:
                kept = self.attribute_names[name] = _ATTRIBUTE_NAME.fullmatch(name) is not None
            if not kept:
                continue
            if value is None:
                parts.append(name)
            elif _ATTRIBUTE_SPECIALS.search(value):
                parts.append(f'{name}="{escape(value, quote=True)}"')
            else:
                parts.append(f'{name}="{value}"')
        return f"<{' '.join(parts)}>"

    def _push(self, tag: str, emitted: bool, dropped_content: bool) -> None:
        self.stack.append(_Open(tag, emitted, dropped_content))
        self.open_counts[tag] = self.open_counts.get(tag, 0) + 1
        self.emitted_depth += int(emitted)
        self.dropping += int(dropped_content)

    def _pop(self) -> None:
        element = self.stack.pop()
        self.open_counts[element.name] -= 1
        if element.emitted:
            self.emitted_depth -= 1
            self.out.append(f"</{element.name}>")
        self.dropping -= int(element.dropped_content)

    # -- HTMLParser callbacks -------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count_remote(tag, attrs)
        written = self.written_names.get(tag)
        if written is None:
            written = _TAG_NAME.fullmatch(tag) is not None and tag not in _NEVER_WRITTEN
            self.written_names[tag] = written
        if not written:
            return
        if tag in VOID_TAGS:
            if not self.dropping:
                self.out.append(self._start_tag(tag, attrs))
            return
        dropped_content = tag in DROPPED_WITH_CONTENT
        emitted = not self.dropping and not dropped_content and self.emitted_depth < self.max_depth
        if not self.dropping and not dropped_content and not emitted:
            self.flattened += 1
        if emitted:
            self.out.append(self._start_tag(tag, attrs))
        self._push(tag, emitted, dropped_content)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # "<div/>" opens a div in HTML: the slash only closes void elements.
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.open_counts.get(tag):
            return
        while self.stack[-1].name != tag:
            self._pop()
        self._pop()

    def handle_data(self, data: str) -> None:
        if self.dropping:
            if self.stack and self.stack[-1].name == "style":
                self.remote += len(_CSS_REMOTE.findall(data))
            return
        self.out.append(escape(data, quote=False) if _TEXT_SPECIALS.search(data) else data)

    def finish(self) -> None:
        self.close()
        while self.stack:
            self._pop()


def canonical_html(html: str, *, max_depth: int = MAX_DEPTH) -> CanonicalHtml:
    """``html`` rewritten as canonical markup nested at most ``max_depth`` elements deep."""
    try:
        return _canonical(html, max_depth)
    except ValueError:  # a reference too long for int(): see shorten_numeric_references
        return _canonical(shorten_numeric_references(html), max_depth)


def _canonical(html: str, max_depth: int) -> CanonicalHtml:
    walker = _Canonicalizer(max_depth)
    try:
        walker.feed(html)
        walker.finish()
    except AssertionError:  # html.parser's last-resort checks: show the source as text instead
        return CanonicalHtml(escape(html, quote=False), 0, 0)
    return CanonicalHtml("".join(walker.out), walker.remote, walker.flattened)
