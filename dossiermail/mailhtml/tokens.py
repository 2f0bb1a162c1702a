"""Second pass: nh3's normalised output as a flat token list with each element's start/end paired.

nh3 (html5ever) writes well-formed markup, so a stack pairs every start tag with its end tag
exactly; quoted-history detection and rendering then work on index ranges, without recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from dossiermail.mailhtml.canonical import LenientParser
from dossiermail.mailhtml.policy import VOID_TAGS


class Kind(Enum):
    START = "start"
    END = "end"
    VOID = "void"
    TEXT = "text"


@dataclass
class Token:
    """One start tag, end tag, void element or text node; ``pair`` is the matching tag's index."""

    kind: Kind
    name: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    pair: int = -1

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").lower().split())


class _Tokenizer(LenientParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []
        self.stack: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in VOID_TAGS:
            self.tokens.append(Token(Kind.VOID, tag, values))
            return
        self.stack.append(len(self.tokens))
        self.tokens.append(Token(Kind.START, tag, values))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.tokens[self.stack[-1]].name != tag:
            return  # nh3 never writes one; ignore rather than guess
        start = self.stack.pop()
        self.tokens[start].pair = len(self.tokens)
        self.tokens.append(Token(Kind.END, tag, pair=start))

    def handle_data(self, data: str) -> None:
        if self.tokens and self.tokens[-1].kind is Kind.TEXT:
            self.tokens[-1].text += data
        else:
            self.tokens.append(Token(Kind.TEXT, text=data))

    def finish(self) -> list[Token]:
        self.close()
        while self.stack:
            start = self.stack.pop()
            self.tokens[start].pair = len(self.tokens)
            self.tokens.append(Token(Kind.END, self.tokens[start].name, pair=start))
        return self.tokens


def tokenize(html: str) -> list[Token]:
    """The tokens of well-formed (nh3-written) markup; unmatched end tags are ignored."""
    tokenizer = _Tokenizer()
    tokenizer.feed(html)
    return tokenizer.finish()
