"""Every XSS payload, rendered by ``mailhtml``, leaves only allowed markup (no browser needed).

The browser test proves nothing runs; this one checks the markup itself with an independent
parser (the standard library's), so it also runs where Chromium is missing.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3
import pytest

from dossiermail.mailhtml import html_body, text_body
from dossiermail.mailhtml.policy import SHOWN_ATTRIBUTES, SHOWN_TAGS
from tests.xss_corpus import payloads

INLINE_IMAGE = "data:image/png;base64,iVBORw0KGgo="
RASTER_DATA = re.compile(r"data:image/(png|jpeg|gif|webp)[;,]")
PAYLOADS = payloads()


class Audit(HTMLParser):
    """Collects every tag, attribute and URL of some markup that breaks the mail rules."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SHOWN_TAGS:
            self.problems.append(f"tag {tag}")
        allowed = SHOWN_ATTRIBUTES.get(tag, set()) | SHOWN_ATTRIBUTES["*"] | {"target", "rel"}
        values = dict(attrs)
        self.problems += [f"attribute {name} on {tag}" for name in values if name not in allowed]
        href = (values.get("href") or "").lower()
        if tag == "a" and not href.startswith(("http://", "https://", "mailto:")):
            self.problems.append(f"href {href[:40]}")
        if tag == "a" and (values.get("target"), values.get("rel")) != ("_blank", "noopener noreferrer"):
            self.problems.append("link without target/rel")
        if tag == "img" and not RASTER_DATA.match(values.get("src") or ""):
            self.problems.append(f"img src {(values.get('src') or '')[:40]}")

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")


def audit(markup: str) -> list[str]:
    parser = Audit()
    parser.feed(markup)
    parser.close()
    return parser.problems


def inline_image(cid: str) -> str:
    return INLINE_IMAGE


def keep(text: str) -> str:
    return text


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"payload-{n}" for n in range(len(PAYLOADS))])
def test_payload_leaves_only_allowed_markup(payload: str) -> None:
    body = html_body(payload, cid_url=inline_image, redact=keep)
    text = text_body(payload, redact=keep)
    for markup in (body.html, body.quoted_html, text.html):
        assert audit(markup) == []
        # safe to embed as-is: sanitizing it again changes nothing
        again = nh3.clean(
            markup,
            tags=SHOWN_TAGS,
            attributes={**SHOWN_ATTRIBUTES, "a": SHOWN_ATTRIBUTES["a"] | {"target", "rel"}},
            link_rel=None,
            url_schemes={"http", "https", "mailto", "data"},
        )
        assert again == markup
