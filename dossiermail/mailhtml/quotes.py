"""Find the quoted history in a mail's HTML tokens: what moves into ``SafeBody.quoted_html``.

Two shapes of history are recognised:

- a quoted *element*, moved with its attribution line: Gmail's ``div.gmail_quote`` and Yahoo's
  ``div.yahoo_quoted`` always, and a ``<blockquote type="cite">`` or ``blockquote.gmail_quote``
  (Apple Mail, Thunderbird with its ``div.moz-cite-prefix``, Gmail) when nothing the sender wrote
  follows it — an interleaved reply keeps its quotes in place;
- the *rest of the message* from a marker on: Outlook's ``#divRplyFwdMsg`` / ``#appendonsend``
  (with the ``<hr>`` before it), and any block whose text starts an Outlook header block
  (``De : … Envoyé : … À : … Objet :``) or a forward separator, as ``dossiermail.parse.quotes``
  recognises them in plain text.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from dossiermail.mailhtml.tokens import Kind, Token
from dossiermail.parse.quotes import attribution_length, is_history_start

# Containers that always hold history; a quoting <blockquote> is history only when nothing follows.
QUOTE_CLASSES = frozenset({"gmail_quote", "gmail_quote_container", "yahoo_quoted"})
CITE_CLASSES = frozenset({"gmail_quote"})
CITE_PREFIX_CLASSES = frozenset({"moz-cite-prefix"})
REST_IDS = frozenset(
    {
        "divrplyfwdmsg", "x_divrplyfwdmsg", "appendonsend", "x_appendonsend",
        "mail-editor-reference-message-container", "olk_src_body_section",
    }
)  # fmt: skip
LINE_BREAKING = frozenset(
    {
        "p", "div", "br", "tr", "li", "ul", "ol", "table", "blockquote", "hr", "pre", "dt", "dd",
        "h1", "h2", "h3", "h4", "h5", "h6", "address",
    }
)  # fmt: skip


class Line(NamedTuple):  # a tuple: made once per line of every body
    """A line of the rendered text and the index of the token its text starts in."""

    text: str
    token: int


class Part(Enum):
    """Where a token goes: the body, the quoted history, or nowhere (trailing blank lines)."""

    BODY = "body"
    QUOTED = "quoted"
    HIDDEN = "hidden"


# Enum member lookups (``Kind.TEXT``) cost several times a global's: the loops use these.
_TEXT, _START, _END, _VOID = Kind.TEXT, Kind.START, Kind.END, Kind.VOID
_BODY, _QUOTED, _HIDDEN = Part.BODY, Part.QUOTED, Part.HIDDEN


def split_parts(tokens: list[Token]) -> list[Part]:
    """For each token, the part it belongs to."""
    parts = [_BODY] * len(tokens)
    rest = _rest_start(tokens)
    limit = len(tokens) if rest is None else rest
    for start, end in _element_quotes(tokens, limit):
        for index in range(start, end + 1):
            parts[index] = _QUOTED
    if rest is not None:
        for index in range(rest, len(tokens)):
            token = tokens[index]
            if not (token.kind is _END and token.pair < rest):
                parts[index] = _QUOTED
    _hide_trailing_blanks(tokens, parts)
    return parts


def _hide_trailing_blanks(tokens: list[Token], parts: list[Part]) -> None:
    """Hide the blank text, ``<br>``, ``<hr>`` and emptied elements that end the body."""
    for index in range(len(tokens) - 1, -1, -1):
        token = tokens[index]
        if parts[index] is not _BODY or token.kind is _END:
            continue
        if token.kind is _START:  # everything after it inside was blank
            parts[index] = parts[token.pair] = _HIDDEN
        elif (token.kind is _TEXT and not token.text.strip()) or token.name in {"br", "hr"}:
            parts[index] = _HIDDEN
        else:
            return


# -- quoted elements -------------------------------------------------------------------------
def _is_container(token: Token) -> bool:
    return token.name == "div" and bool(token.classes() & QUOTE_CLASSES)


def _is_cite(token: Token) -> bool:
    if token.name != "blockquote":
        return False
    return token.attrs.get("type", "").strip().lower() == "cite" or bool(token.classes() & CITE_CLASSES)


def _last_meaningful(tokens: list[Token]) -> int:
    """Index of the last token a reader would notice (non-blank text or an image); -1 if none."""
    for index in range(len(tokens) - 1, -1, -1):
        token = tokens[index]
        image = token.kind is _VOID and token.name == "img"
        if image or (token.kind is _TEXT and token.text.strip()):
            return index
    return -1


def _element_quotes(tokens: list[Token], limit: int) -> list[tuple[int, int]]:
    """Index ranges of quoted elements (with their attribution) that start before ``limit``."""
    ranges: list[tuple[int, int]] = []
    last = _last_meaningful(tokens[:limit])
    index = 0
    while index < limit:
        token = tokens[index]
        if token.kind is not _START:
            index += 1
            continue
        end = min(token.pair, limit - 1)
        if _is_container(token) or (_is_cite(token) and last <= end):
            ranges.append((_attribution_start(tokens, index), end))
            index = end + 1
            continue
        index += 1
    return ranges


def _previous_content(tokens: list[Token], index: int) -> int:
    """The index before ``index`` skipping blank text and ``<br>``; -1 at the start."""
    index -= 1
    while index >= 0:
        token = tokens[index]
        blank = token.kind is _TEXT and not token.text.strip()
        if not (blank or (token.kind is _VOID and token.name == "br")):
            return index
        index -= 1
    return -1


def _attribution_start(tokens: list[Token], start: int) -> int:
    """Where a quote's attribution ("Le … a écrit :") begins, or ``start`` when there is none.

    The attribution is the text or element just before the quote, when all it says is one
    attribution line (or it is Thunderbird's ``div.moz-cite-prefix``).
    """
    before = _previous_content(tokens, start)
    if before < 0:
        return start
    token = tokens[before]
    if token.kind is _TEXT:
        return before if _is_attribution([token.text]) else start
    if token.kind is not _END:
        return start
    if tokens[token.pair].classes() & CITE_PREFIX_CLASSES:
        return token.pair
    return token.pair if _is_attribution(_element_lines(tokens, token.pair, before)) else start


def _element_lines(tokens: list[Token], start: int, end: int) -> list[str]:
    """The text of ``tokens[start:end]`` cut at line breaks and block boundaries."""
    lines: list[str] = [""]
    for token in tokens[start:end]:
        if token.kind is _TEXT:
            lines[-1] += token.text
        elif token.name in LINE_BREAKING:
            lines.append("")
    return lines


def _is_attribution(lines: list[str]) -> bool:
    """True when the non-blank text of ``lines`` is exactly one attribution line (source included)."""
    written = [" ".join(line.split()) for text in lines for line in text.split("\n") if line.strip()]
    return len(written) == 1 and attribution_length(written, 0) == 1


# -- rest of the message ---------------------------------------------------------------------
def _lines(tokens: list[Token]) -> list[Line]:
    lines: list[Line] = []
    parts: list[str] = []
    first = -1
    for index, token in enumerate(tokens):
        if token.kind is _TEXT:
            if first < 0 and token.text.strip():
                first = index
            parts.append(token.text)
            if "\n" not in token.text:
                continue
        elif token.name not in LINE_BREAKING:
            continue
        text = "".join(parts)
        for piece in text.split("\n"):
            if piece.strip():
                lines.append(Line(" ".join(piece.split()), first))
        parts, first = [], -1
    return lines


def _back_over_openers(tokens: list[Token], index: int) -> int:
    """Move a cut back over the start tags, blank text and ``<hr>`` that lead to ``index``."""
    while index > 0:
        token = tokens[index - 1]
        opener = token.kind is _START or (token.kind is _VOID and token.name == "hr")
        if not (opener or (token.kind is _TEXT and not token.text.strip())):
            break
        index -= 1
    return index


def _rest_start(tokens: list[Token]) -> int | None:
    """The token where the rest of the message is history, or None."""
    found: int | None = None
    for index, token in enumerate(tokens):
        if token.kind is _START and token.attrs.get("id", "").strip().lower() in REST_IDS:
            found = index
            break
    lines = _lines(tokens if found is None else tokens[:found])
    texts = [line.text for line in lines]
    for number in range(len(lines)):
        if is_history_start(texts, number):
            found = lines[number].token
            break
    return None if found is None else _back_over_openers(tokens, found)
