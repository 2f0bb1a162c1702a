"""``html_body`` and ``text_body``: a mail body as markup safe to embed in an extranet page.

HTML goes through four passes: a streaming walk that caps nesting depth and writes canonical
markup (``canonical``); a first nh3 pass that normalises it to a well-formed tree of allowed tags;
a walk over those tokens that cuts the quoted history, resolves ``cid:`` images, drops remote ones,
keeps only http(s)/mailto links and applies ``redact`` (``quotes``, ``render``); and a final nh3 pass
over each part, which alone decides what reaches the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import nh3

from dossiermail.mailhtml.canonical import canonical_html
from dossiermail.mailhtml.policy import (
    DROPPED_WITH_CONTENT,
    FINAL_SCHEMES,
    FIRST_PASS_ATTRIBUTES,
    FIRST_PASS_SCHEMES,
    LINK_REL,
    LINK_TARGET,
    SHOWN_ATTRIBUTES,
    SHOWN_TAGS,
    is_mailto,
    is_web_link,
)
from dossiermail.mailhtml.quotes import Part, split_parts
from dossiermail.mailhtml.render import RedactRuns, Rendering
from dossiermail.mailhtml.tokens import tokenize

_BODY, _QUOTED = Part.BODY, Part.QUOTED  # Enum member lookups are slow in loops
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v\xa0]*\n+")
_WEB_URL = re.compile(r"https?://[^\s<>\"'\u00a0]+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?»\"'"

_FIRST_PASS = nh3.Cleaner(
    tags=SHOWN_TAGS,
    clean_content_tags=DROPPED_WITH_CONTENT,
    attributes=FIRST_PASS_ATTRIBUTES,
    link_rel=None,
    url_schemes=FIRST_PASS_SCHEMES,
)


@dataclass(frozen=True)
class SafeBody:
    """A mail body ready to embed as-is: sanitized by nh3 last, history apart, remote content out."""

    html: str
    quoted_html: str
    remote_blocked: int
    inline_cids: tuple[str, ...]


EMPTY = SafeBody(html="", quoted_html="", remote_blocked=0, inline_cids=())


def remote_note(remote_blocked: int) -> str:
    """The French note shown under a body whose remote images were blocked ("" when none were)."""
    if remote_blocked <= 0:
        return ""
    if remote_blocked == 1:
        return "1 image distante bloquée"
    return f"{remote_blocked} images distantes bloquées"


def final_clean(html: str, image_urls: frozenset[str] = frozenset()) -> str:
    """The last nh3 pass: allowed tags and attributes only, links opening in a new tab.

    ``image_urls`` are the only ``src`` values an ``<img>`` may keep besides ``data:`` raster images.
    """

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "href":
            return value if is_web_link(value) or is_mailto(value) else None
        if attribute == "src":
            return value if value in image_urls else None
        return value

    return nh3.clean(
        html,
        tags=SHOWN_TAGS,
        attributes=SHOWN_ATTRIBUTES,
        attribute_filter=attribute_filter,
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": LINK_TARGET}},
        url_schemes=FINAL_SCHEMES,
    )


def html_body(
    html: str,
    *,
    cid_url: Callable[[str], str | None],
    redact: Callable[[str], str],
    redact_runs: RedactRuns | None = None,
) -> SafeBody:
    """An HTML mail body as safe markup, its quoted history apart (see the module docstring).

    ``cid_url`` maps a Content-ID (no angle brackets) to the URL the page serves that inline
    part from (relative, http(s) or ``data:``), or None to drop the image; ``redact`` masks what
    the audience may not read and is applied to every text node and shown attribute value.
    ``redact_runs`` (such as ``Redactor.runs``), when given, redacts instead the text nodes that
    only inline tags separate together, so ``<b>06</b> 12 34 56 78`` is found; it must return
    one piece per piece given (otherwise ``redact`` is used node by node).
    """
    if not html.strip():
        return EMPTY
    canonical = canonical_html(html)
    tokens = tokenize(_FIRST_PASS.clean(canonical.html))
    parts = split_parts(tokens)
    rendering = Rendering(cid_url=cid_url, redact=redact, redact_runs=redact_runs)
    body = rendering.write(tokens, [i for i, part in enumerate(parts) if part is _BODY])
    history = rendering.write(tokens, [i for i, part in enumerate(parts) if part is _QUOTED])
    urls = frozenset(rendering.image_urls)
    return SafeBody(
        html=final_clean(body, urls).strip(),
        quoted_html=final_clean(history, urls).strip(),
        remote_blocked=canonical.remote_blocked + rendering.remote_blocked,
        inline_cids=tuple(rendering.inline_cids),
    )


def _split_url(url: str) -> tuple[str, str]:
    """A detected URL without the punctuation that ends the sentence around it: (url, rest)."""
    end = len(url)
    while end > 0:
        last = url[end - 1]
        closing = last == ")" and url.count("(", 0, end) < url.count(")", 0, end)
        if last not in _TRAILING_PUNCTUATION and not closing:
            break
        end -= 1
    return url[:end], url[end:]


def _linked_line(line: str) -> str:
    """One line of text, escaped, with its http(s) URLs as links."""
    out: list[str] = []
    position = 0
    for match in _WEB_URL.finditer(line):
        url, rest = _split_url(match.group())
        out.append(escape(line[position : match.start()], quote=False))
        if url.lower() in {"http://", "https://"}:
            out.append(escape(url, quote=False))
        else:
            out.append(f'<a href="{escape(url, quote=True)}">{escape(url, quote=False)}</a>')
        out.append(escape(rest, quote=False))
        position = match.end()
    out.append(escape(line[position:], quote=False))
    return "".join(out)


def text_body(text: str, *, redact: Callable[[str], str]) -> SafeBody:
    """A plain-text body as escaped paragraphs (``<p>``, ``<br>``) with http(s) links detected.

    ``redact`` runs on the text first; ``quoted_html`` stays empty (plain text arrives already
    split into new text, quoted text and signature: render each with its own call).
    """
    normalized = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not normalized.strip():
        return EMPTY
    redacted = redact(normalized)
    paragraphs = [part.strip("\n") for part in _PARAGRAPH_BREAK.split(redacted) if part.strip()]
    markup = "".join(
        "<p>" + "<br>".join(_linked_line(line) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
    )
    return SafeBody(html=final_clean(markup), quoted_html="", remote_blocked=0, inline_cids=())
