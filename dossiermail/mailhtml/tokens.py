"""Second pass: nh3's normalised output as a flat token list with each element's start/end paired.

nh3 (html5ever) writes well-formed markup, so a stack pairs every start tag with its end tag
exactly; quoted-history detection and rendering then work on index ranges, without recursion.

nh3 serialises in one narrow shape: escaped text, ``<name attr="value">`` start tags, ``</name>``
end tags, nothing else. That shape is read with one regular expression, which gives the tokens
``html.parser`` gives, several times faster; any markup outside it is read by ``html.parser``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from html import unescape

from dossiermail.mailhtml.canonical import LenientParser
from dossiermail.mailhtml.policy import VOID_TAGS


class Kind(Enum):
    START = "start"
    END = "end"
    VOID = "void"
    TEXT = "text"


# Enum member lookups (``Kind.TEXT``) cost several times a global's: the loops use these.
_TEXT, _START, _END, _VOID = Kind.TEXT, Kind.START, Kind.END, Kind.VOID


@dataclass(slots=True)
class Token:
    """One start tag, end tag, void element or text node; ``pair`` is the matching tag's index."""

    kind: Kind
    name: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    pair: int = -1

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").lower().split())


class _Builder:
    """The token list, each start tag paired with its end tag: what both readers append to."""

    def __init__(self) -> None:
        self.tokens: list[Token] = []
        self.stack: list[int] = []

    def start(self, tag: str, values: dict[str, str]) -> None:
        if tag in VOID_TAGS:
            self.tokens.append(Token(_VOID, tag, values))
            return
        self.stack.append(len(self.tokens))
        self.tokens.append(Token(_START, tag, values))

    def end(self, tag: str) -> None:
        if not self.stack or self.tokens[self.stack[-1]].name != tag:
            return  # nh3 never writes one; ignore rather than guess
        start = self.stack.pop()
        self.tokens[start].pair = len(self.tokens)
        self.tokens.append(Token(_END, tag, pair=start))

    def text(self, data: str) -> None:
        if self.tokens and self.tokens[-1].kind is _TEXT:
            self.tokens[-1].text += data
        else:
            self.tokens.append(Token(_TEXT, text=data))

    def finish(self) -> list[Token]:
        while self.stack:
            start = self.stack.pop()
            self.tokens[start].pair = len(self.tokens)
            self.tokens.append(Token(_END, self.tokens[start].name, pair=start))
        return self.tokens


class _Tokenizer(LenientParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = _Builder()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.builder.start(tag, {name: value or "" for name, value in attrs})

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.builder.end(tag)

    def handle_data(self, data: str) -> None:
        self.builder.text(data)


# One piece of nh3's serialisation: a text run, a start tag (name, attributes) or an end tag.
_SERIALISED = re.compile(r'([^<]+)|<([a-z][a-z0-9]*)((?: [a-z][a-z0-9_:.-]*="[^"]*")*)>|</([a-z][a-z0-9]*)>')
_SERIALISED_ATTRIBUTE = re.compile(r' ([a-z][a-z0-9_:.-]*)="([^"]*)"')
# Elements whose content html.parser reads as raw text: never written by nh3, left to html.parser.
_RAW_TEXT = frozenset({"script", "style"})


def _serialised_tokens(html: str) -> list[Token] | None:
    """The tokens of markup in nh3's serialisation shape (as ``_Tokenizer`` reads it), else None."""
    builder = _Builder()
    position = 0
    for match in _SERIALISED.finditer(html):
        if match.start() != position:
            return None
        position = match.end()
        text, name, attributes, end_name = match.groups()
        if text is not None:
            builder.text(unescape(text))
        elif end_name is not None:
            builder.end(end_name)
        elif name in _RAW_TEXT:
            return None
        else:
            pairs = _SERIALISED_ATTRIBUTE.findall(attributes)
            builder.start(name, {key: unescape(value) for key, value in pairs})
    return builder.finish() if position == len(html) else None


def tokenize(html: str) -> list[Token]:
    """The tokens of well-formed (nh3-written) markup; unmatched end tags are ignored."""
    found = _serialised_tokens(html)
    if found is not None:
        return found
    tokenizer = _Tokenizer()
    tokenizer.feed(html)
    tokenizer.close()
    return tokenizer.builder.finish()
