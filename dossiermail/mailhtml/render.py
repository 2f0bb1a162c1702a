"""Third pass: write the body and quoted tokens as reader markup, applying the mail rules.

Text nodes and the attribute values a reader sees (``alt``, ``title``, link targets) go through
``redact`` here, before the final nh3 pass, and are escaped when written, so a redaction
placeholder can never become markup. Links keep only http(s) and mailto targets; images keep only
``cid:`` parts the caller resolves and ``data:`` raster images; remote images are counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from dossiermail.mailhtml.policy import (
    SHOWN_ATTRIBUTES,
    SHOWN_TAGS,
    content_id,
    is_inline_image,
    is_mailto,
    is_remote,
    is_web_link,
    plain_attribute_ok,
)
from dossiermail.mailhtml.tokens import Kind, Token

REDACTED_ATTRIBUTES = frozenset({"alt", "title"})
# Tags inside a run of text: a value split over them (<b>06</b> 12 34 56 78) is one value.
INLINE_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "s", "strike", "del", "ins", "small", "sub", "sup", "mark",
        "q", "cite", "abbr", "span", "code", "kbd", "samp", "tt",
    }
)  # fmt: skip

# Enum member lookups (``Kind.TEXT``) cost several times a global's: the loops use these.
_TEXT, _START, _END = Kind.TEXT, Kind.START, Kind.END
RedactRuns = Callable[[Sequence[str]], Sequence[str]]
# The attributes each shown tag may keep (its own and the "*" ones), computed once.
_ALLOWED_ATTRIBUTES = {tag: SHOWN_ATTRIBUTES.get(tag, set()) | SHOWN_ATTRIBUTES["*"] for tag in SHOWN_TAGS}


@dataclass
class Rendering:
    """What writing the tokens produced, shared by the body and the quoted part."""

    cid_url: Callable[[str], str | None]
    redact: Callable[[str], str]
    redact_runs: RedactRuns | None = None
    remote_blocked: int = 0
    inline_cids: list[str] = field(default_factory=list)
    image_urls: set[str] = field(default_factory=set)
    _redacted: dict[str, str] = field(default_factory=dict)

    def shown(self, text: str) -> str:
        """``text`` through ``redact``; blank text as is, repeated text redacted once."""
        if not text.strip():
            return text
        found = self._redacted.get(text)
        if found is None:
            found = self._redacted[text] = self.redact(text)
        return found

    def write(self, tokens: list[Token], chosen: list[int]) -> str:
        """The markup of the tokens at the ``chosen`` indexes, in increasing order.

        An element left out has its end tag left out too.
        """
        texts = self._redacted_texts(tokens, chosen)
        out: list[str] = []
        skipped: set[int] = set()
        for index in chosen:
            token = tokens[index]
            if token.kind is _TEXT:
                out.append(escape(texts[index], quote=False))
            elif token.kind is _END:
                if token.pair not in skipped:
                    out.append(f"</{token.name}>")
            else:
                tag = self._tag(token)
                if tag is None and token.kind is _START:
                    skipped.add(index)
                out.append(tag or "")
        return "".join(out)

    def _redacted_texts(self, tokens: list[Token], chosen: list[int]) -> dict[int, str]:
        """Each chosen text token as a reader may see it: node by node, or run by run."""
        if self.redact_runs is None:
            return {i: self.shown(tokens[i].text) for i in chosen if tokens[i].kind is _TEXT}
        texts: dict[int, str] = {}
        for run in _runs(tokens, chosen):
            texts.update(zip(run, self._redact_run([tokens[i].text for i in run]), strict=True))
        return texts

    def _redact_run(self, pieces: list[str]) -> list[str]:
        """Adjacent text nodes of one block redacted together (node by node if the caller fails)."""
        if not "".join(pieces).strip() or self.redact_runs is None:
            return pieces
        redacted = list(self.redact_runs(pieces))
        if len(redacted) != len(pieces):
            return [self.shown(piece) for piece in pieces]
        return redacted

    # -- one tag ------------------------------------------------------------------------------
    def _tag(self, token: Token) -> str | None:
        if token.name not in SHOWN_TAGS:
            return None
        if token.name == "img":
            return self._image(token)
        attributes = self._plain_attributes(token)
        if token.name == "a":
            href = self._link(token.attrs.get("href", ""))
            if href is None:
                return None
            attributes.insert(0, ("href", href))
        return _start_tag(token.name, attributes)

    def _plain_attributes(self, token: Token) -> list[tuple[str, str]]:
        allowed = _ALLOWED_ATTRIBUTES[token.name]  # _tag lets only SHOWN_TAGS through
        kept: list[tuple[str, str]] = []
        for name, value in token.attrs.items():
            if name not in allowed or name in {"href", "src"}:
                continue
            if name in REDACTED_ATTRIBUTES:
                kept.append((name, self.shown(value)))
            elif plain_attribute_ok(name, value):
                kept.append((name, value.strip()))
        return kept

    def _link(self, href: str) -> str | None:
        """The href a reader may follow, or None to show the link's text only."""
        if not (is_web_link(href) or is_mailto(href)):
            return None
        target = href.strip()
        return target if self.shown(target) == target else None

    def _image(self, token: Token) -> str | None:
        src = token.attrs.get("src", "")
        cid = content_id(src)
        url: str | None
        if cid is not None:
            url = self.cid_url(cid)
            if url is not None and cid not in self.inline_cids:
                self.inline_cids.append(cid)
        elif is_inline_image(src):
            url = src.strip()
        else:
            self.remote_blocked += int(is_remote(src))
            url = None
        if url is None:
            return None
        self.image_urls.add(url)
        return _start_tag("img", [("src", url), *self._plain_attributes(token)])


def _runs(tokens: list[Token], chosen: list[int]) -> list[list[int]]:
    """The chosen text tokens grouped in runs that only inline tags separate."""
    runs: list[list[int]] = [[]]
    for index in chosen:
        token = tokens[index]
        if token.kind is _TEXT:
            runs[-1].append(index)
        elif token.name not in INLINE_TAGS and runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _start_tag(name: str, attributes: list[tuple[str, str]]) -> str:
    written = "".join(f' {key}="{escape(value, quote=True)}"' for key, value in attributes)
    return f"<{name}{written}>"
