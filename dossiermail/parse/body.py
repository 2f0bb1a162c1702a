"""The readable text of a message: decoded text/plain parts, or text made from the HTML part.

HTML becomes text in one streaming pass over ``html.parser``'s tokens, with no tree: scripts,
styles and the head go, paragraphs and line breaks stay, ``<blockquote>`` content is prefixed with
``>`` so the quote splitter sees it, blank lines are collapsed. The HTML itself is returned raw;
publish sanitises it.

The walk keeps the stack of open elements that BeautifulSoup's ``html.parser`` tree builder
would build, and writes each element's text markers when it opens and closes, so its text is the
text of that tree (``tests/test_parse_html_text.py`` compares the two on every corpus body): an end
tag closes every element opened after the matching start tag and is ignored when nothing matches,
``<x/>`` opens and closes ``x``, void elements never hold content, elements still open at the end
close there, whitespace-only text runs shrink to one space or newline outside ``<pre>`` and
``<textarea>``, and character references decode as BeautifulSoup decodes them. Unlike it, a
decimal reference too long for ``int()`` reads as U+FFFD instead of failing the message.
"""

from __future__ import annotations

import re
from email.message import Message
from html.entities import html5
from html.parser import HTMLParser

from dossiermail.parse.charsets import decode_bytes

_DROPPED_TAGS = frozenset({"script", "style", "head", "title", "meta", "noscript", "template"})
_BLOCK_TAGS = frozenset({
    "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "pre", "hr", "address", "section", "article", "header", "footer", "dt", "dd",
})  # fmt: skip
# Elements closed as soon as they open (BeautifulSoup's HTML list, wider than HTML5's).
_VOID_TAGS = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "menuitem",
    "meta", "param", "source", "track", "wbr", "basefont", "bgsound", "command", "frame",
    "image", "isindex", "nextid", "spacer",
})  # fmt: skip
_PRESERVING_TAGS = frozenset({"pre", "textarea"})  # whitespace-only text kept as it is
_RUBY_TAGS = frozenset({"rt", "rp"})  # ruby annotations: not part of the text
_QUOTE_OPEN = "\x02quote-open\x02"
_QUOTE_CLOSE = "\x02quote-close\x02"
# The text written where an element opens and where it closes ("<hr>" closes as it opens).
_NEWLINES = dict.fromkeys(_BLOCK_TAGS - {"hr"}, "\n")
_START_MARKERS = {**_NEWLINES, "blockquote": f"\n{_QUOTE_OPEN}\n", "br": "\n", "hr": "\n\n"}
_END_MARKERS = {**_NEWLINES, "blockquote": f"\n{_QUOTE_CLOSE}\n", "td": " "}
_ASCII_SPACES = " \n\t\f\r"
_INLINE_SPACES = re.compile(r"[ \t\f\v\xa0\u200b]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
# Decimal references longer than int() reads (4,300 digits): html.unescape raises ValueError.
_LONG_DECIMAL_REFERENCE = re.compile(r"&#([0-9]{4300,})")
# Named references without their ";" (html.parser reads "&amp;" and "&amp" alike).
_ENTITIES = {name.removesuffix(";"): character for name, character in html5.items()}


def decode_part(part: Message) -> tuple[str, str | None]:
    """A body part's text with ``\\n`` line ends, and a defect when the charset was wrong."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset()
    text, guessed = decode_bytes(data, charset)
    defect = f"charset {charset!r} did not decode the body; guessed" if guessed else None
    if "\x00" in text:  # no text store takes NUL (PostgreSQL refuses it): shown as U+FFFD
        text = text.replace("\x00", "\ufffd")
        defect = defect or "NUL characters in the body, shown as U+FFFD"
    return text.replace("\r\n", "\n").replace("\r", "\n"), defect


def shorten_numeric_references(html: str) -> str:
    """``html`` with each decimal reference too long for ``int()`` written short, same meaning.

    ``html.parser`` unescapes attribute values (and text, with ``convert_charrefs``) with
    ``html.unescape``, which raises ValueError on them. Leading zeros go; a longer number is past
    U+10FFFF, which HTML reads as U+FFFD.
    """

    def short(match: re.Match[str]) -> str:
        digits = match.group(1).lstrip("0") or "0"
        return "&#" + (digits if len(digits) <= 7 else "65533")

    return _LONG_DECIMAL_REFERENCE.sub(short, html)


def _numeric_reference(name: str) -> str:
    """The character of ``&#name;``: HTML5's replacements, Windows-1252 for 0x80-0x9F."""
    try:
        number = int(name[1:], 16) if name[:1] in "xX" else int(name)
    except ValueError:  # more digits than int() reads (4,300)
        return "\ufffd"
    if number == 0 or number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
        return "\ufffd"
    if 0x80 <= number <= 0x9F:
        try:
            return bytes([number]).decode("cp1252")
        except UnicodeDecodeError:
            pass
    return chr(number)


class _TextWalker(HTMLParser):
    """Text and structure markers from ``html.parser`` callbacks, in one pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.pending: list[str] = []  # the text run read since the last token
        self.stack: list[str] = []
        self.open_counts: dict[str, int] = {}
        self.closed_voids: dict[str, int] = {}  # "<br>" seen: one "</br>" is its own end tag
        self.dropping = 0  # open elements whose content is dropped
        self.hidden = 0  # open ruby annotations
        self.preserving = 0  # open <pre> and <textarea>

    # -- text -----------------------------------------------------------------------------
    def _flush(self, always: bool = False) -> None:
        """End the pending text run; ``always`` keeps it even inside ruby annotations."""
        if not self.pending:
            return
        text = self.pending[0] if len(self.pending) == 1 else "".join(self.pending)
        self.pending = []
        if self.dropping or (self.hidden and not always):
            return
        if not self.preserving and not text.strip(_ASCII_SPACES):
            text = "\n" if "\n" in text else " "
        self.out.append(text)

    # -- elements -------------------------------------------------------------------------
    def _open(self, tag: str) -> None:
        self.stack.append(tag)
        self.open_counts[tag] = self.open_counts.get(tag, 0) + 1
        if not self.dropping and tag in _START_MARKERS:
            self.out.append(_START_MARKERS[tag])
        self.dropping += tag in _DROPPED_TAGS
        self.hidden += tag in _RUBY_TAGS
        self.preserving += tag in _PRESERVING_TAGS

    def _close(self) -> str:
        """Close the innermost open element; its name."""
        name = self.stack.pop()
        self.open_counts[name] -= 1
        self.dropping -= name in _DROPPED_TAGS
        self.hidden -= name in _RUBY_TAGS
        self.preserving -= name in _PRESERVING_TAGS
        if not self.dropping and name in _END_MARKERS:
            self.out.append(_END_MARKERS[name])
        return name

    def _close_to(self, tag: str) -> None:
        """Close the innermost open ``tag`` and every element opened inside it."""
        if self.open_counts.get(tag):
            while self._close() != tag:
                pass

    def _end_head_at(self, tag: str) -> None:
        """As HTML5 reads it: a ``<body>`` (``<body/>`` too) ends a ``<head>`` left open."""
        if tag == "body" and self.open_counts.get("head"):
            self._close_to("head")

    # -- HTMLParser callbacks -------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        self._end_head_at(tag)
        if tag in _VOID_TAGS:
            if not self.dropping and tag in _START_MARKERS:
                self.out.append(_START_MARKERS[tag])
            self.closed_voids[tag] = self.closed_voids.get(tag, 0) + 1
            return
        self._open(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        self._end_head_at(tag)
        self._open(tag)
        self._close_to(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.closed_voids.get(tag):  # the end tag of an already closed "<br>": not a token
            self.closed_voids[tag] -= 1
            return
        self._flush()
        self._close_to(tag)

    def handle_data(self, data: str) -> None:
        self.pending.append(data)

    def handle_charref(self, name: str) -> None:
        self.pending.append(_numeric_reference(name))

    def handle_entityref(self, name: str) -> None:
        self.pending.append(_ENTITIES.get(name, f"&{name}"))

    # Comments, doctypes and processing instructions are no text, but they end a text run.
    def handle_comment(self, data: str) -> None:
        self._flush()

    def handle_decl(self, decl: str) -> None:
        self._flush()

    def handle_pi(self, data: str) -> None:
        self._flush()

    def unknown_decl(self, data: str) -> None:
        self._flush()
        if data[:6].upper() == "CDATA[":  # a CDATA section is text, even in ruby annotations
            self.pending.append(data[6:])
            self._flush(always=True)

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        # Like mailhtml's LenientParser (not imported: mailhtml imports the parse package), but
        # CDATA sections and Outlook's "<![if ...]>" keep html.parser's reading.
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:  # "<![" and an unknown keyword: HTML5's bogus comment, to ">"
            end = self.rawdata.find(">", i + 3)
            return -1 if end < 0 else end + 1

    def updatepos(self, i: int, j: int) -> int:
        return j  # line numbers are never read: skip counting them

    def text(self) -> str:
        """The text once the whole document is fed: remaining elements close at the end."""
        self.close()
        self._flush()
        while self.stack:
            self._close()
        return "".join(self.out)


def _prefix_quotes(text: str) -> list[str]:
    """Replace the blockquote markers by ``> `` prefixes, one per nesting level."""
    raw_lines = _INLINE_SPACES.sub(" ", text).split("\n")  # the spaces never match "\n"
    if "\x02" not in text:  # no quote marker
        return [line.strip() for line in raw_lines]
    depth = 0
    lines: list[str] = []
    for raw_line in raw_lines:
        line = raw_line.strip()
        if line == _QUOTE_OPEN:
            depth += 1
        elif line == _QUOTE_CLOSE:
            depth = max(0, depth - 1)
        else:
            lines.append(("> " * depth + line).rstrip() if line else "")
    return lines


def _walk(html: str) -> str:
    walker = _TextWalker()
    walker.feed(html)
    return walker.text()


def html_to_text(html: str) -> str:
    """Readable text from an HTML body, keeping paragraphs and quoting."""
    try:
        text = _walk(html)
    except ValueError:  # an attribute's reference too long for int(): see shorten_numeric_references
        text = _walk(shorten_numeric_references(html))
    lines = _prefix_quotes(text)
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
