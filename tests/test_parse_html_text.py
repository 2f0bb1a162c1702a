"""``html_to_text`` against the BeautifulSoup implementation it replaced, and its tricky cases.

``html_to_text`` used to build a BeautifulSoup tree (``html.parser``) and read its text; it now
makes the same text in one streaming pass. The old implementation stays here as the oracle
(beautifulsoup4 is a test dependency only): every HTML body of the shared corpora, the newsletters
and the samples, every XSS payload and a few thousand random tag soups must give exactly the text
it gives. No difference is tolerated: none was found (see ``test_unknown_marked_section...`` for
the one input the oracle refuses), except one made on purpose: a ``<body>`` ends a ``<head>`` left
open, where the old tree kept the body inside the head and dropped it (``_with_head_ended``).
The shared corpora live in ``../shared/corpora``; without them those tests skip, except under
``CI=true`` where a missing corpus is a failure.
"""

from __future__ import annotations

import email
import random
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from bs4.element import NavigableString
from bs4.exceptions import ParserRejectedMarkup

from dossiermail.parse.body import decode_part, html_to_text, shorten_numeric_references
from tests.conftest import ROOT, SAMPLES
from tests.test_parse_corpus import corpus_files, require_corpus
from tests.xss_corpus import payloads

# -- the oracle: html_to_text as it was before the streaming rewrite ------------------------------
_DROPPED_TAGS = ["script", "style", "head", "title", "meta", "noscript", "template"]
_BLOCK_TAGS = [
    "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "pre", "hr", "address", "section", "article", "header", "footer", "dt", "dd",
]  # fmt: skip
_MARKED_TAGS = [*_BLOCK_TAGS, "br", "td", "blockquote"]
_QUOTE_OPEN = "\x02quote-open\x02"
_QUOTE_CLOSE = "\x02quote-close\x02"
_INLINE_SPACES = re.compile(r"[ \t\f\v\xa0\u200b]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _mark_structure(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(_DROPPED_TAGS):
        tag.decompose()
    for tag in soup.find_all(_MARKED_TAGS):
        if tag.name == "br":
            tag.replace_with(NavigableString("\n"))
        elif tag.name == "td":
            tag.append(NavigableString(" "))
        elif tag.name == "blockquote":
            tag.insert(0, NavigableString(f"\n{_QUOTE_OPEN}\n"))
            tag.append(NavigableString(f"\n{_QUOTE_CLOSE}\n"))
        else:
            tag.insert_before(NavigableString("\n"))
            tag.append(NavigableString("\n"))


def _prefix_quotes(text: str) -> list[str]:
    depth = 0
    lines: list[str] = []
    for raw_line in text.split("\n"):
        line = _INLINE_SPACES.sub(" ", raw_line).strip()
        if line == _QUOTE_OPEN:
            depth += 1
        elif line == _QUOTE_CLOSE:
            depth = max(0, depth - 1)
        else:
            lines.append(("> " * depth + line).rstrip() if line else "")
    return lines


class _HeadEnds(HTMLParser):
    """Where a ``<body>`` start tag meets a ``<head>`` left open: the offsets to end it at."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=False)
        self.lines = [0, *(m.end() for m in re.finditer("\n", html))]
        self.heads = 0
        self.offsets: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and self.heads:
            line, column = self.getpos()
            self.offsets.append(self.lines[line - 1] + column)
            self.heads -= 1
        self.heads += tag == "head"

    def handle_endtag(self, tag: str) -> None:
        if tag == "head" and self.heads:
            self.heads -= 1


def _with_head_ended(html: str) -> str:
    """``html`` with ``</head>`` before each ``<body>`` that meets an open head: the one place the
    streaming walk departs from the old tree on purpose (html.parser's tree nested such a body in
    the head and dropped it with the head, 11 of 1,210 SpamAssassin HTML bodies)."""
    finder = _HeadEnds(html)
    try:
        finder.feed(html)
        finder.close()
    except (AssertionError, ValueError):  # what the oracle itself refuses: left to the oracle
        return html
    for offset in reversed(finder.offsets):
        html = html[:offset] + "</head>" + html[offset:]
    return html


def oracle_html_to_text(html: str) -> str:
    """The BeautifulSoup ``html_to_text`` replaced by the streaming walk (a head left open ends at
    ``<body>``, see ``_with_head_ended``)."""
    soup = BeautifulSoup(_with_head_ended(html), "html.parser")
    _mark_structure(soup)
    lines = _prefix_quotes(soup.get_text())
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


# -- corpus bodies --------------------------------------------------------------------------------
# Observed HTML bodies: notmuch 4, hostile 65, newsletters 12, samples 19 (bc3 has none).
MIN_BODIES = {"notmuch": 4, "hostile": 60, "bc3": 0}
NEWSLETTERS = ROOT / "tests" / "data" / "newsletters"
MIN_LOCAL_BODIES = 30


def html_bodies(path: Path) -> list[str]:
    """The decoded ``text/html`` leaves of one message file, attached messages included."""
    message = email.message_from_bytes(path.read_bytes())
    return [
        decode_part(part)[0]
        for part in message.walk()
        if part.get_content_type() == "text/html" and not part.is_multipart()
    ]


def mismatches(paths: list[Path]) -> tuple[int, list[str]]:
    """How many HTML bodies ``paths`` hold, and the files whose text differs from the oracle's."""
    count = 0
    differing: list[str] = []
    for path in paths:
        for html in html_bodies(path):
            count += 1
            if html_to_text(html) != oracle_html_to_text(html):
                differing.append(path.name)
    return count, differing


@pytest.mark.parametrize("folder", sorted(MIN_BODIES))
def test_shared_corpus_html_gives_the_beautifulsoup_text(folder: str) -> None:
    require_corpus(folder)
    count, differing = mismatches(corpus_files(folder))
    assert differing == []
    assert count >= MIN_BODIES[folder]


def test_newsletter_and_sample_html_gives_the_beautifulsoup_text() -> None:
    paths = sorted(NEWSLETTERS.glob("*.eml")) + sorted(SAMPLES.glob("*.eml"))
    count, differing = mismatches(paths)
    assert differing == []
    assert count >= MIN_LOCAL_BODIES


def test_xss_payloads_give_the_beautifulsoup_text() -> None:
    differing = [html for html in payloads() if html_to_text(html) != oracle_html_to_text(html)]
    assert differing == []


# -- random tag soup ------------------------------------------------------------------------------
SOUP_TAGS = (
    "p", "div", "span", "td", "tr", "table", "blockquote", "br", "hr", "pre", "textarea", "ruby",
    "rt", "rp", "script", "style", "head", "title", "meta", "noscript", "template", "li", "img",
    "body", "h1", "xmp",
)  # fmt: skip
SOUP_TEXT = (
    "  ", "\n", "\n\n\n", " \n ", "x", "Bonjour", "&nbsp;", "&amp;", "&foo;", "&copy2", "&#160;",
    "&#x80;", "&#0;", "&#xD800;", "&#150;", "&#129;", "&#99999999;", "<!-- c -->", "<![CDATA[ c ]]>",
    "<![CDATA[\n\n]]>", "<![if !mso]>", "<![endif]>", "<!DOCTYPE html>", "<?php x ?>", "\xa0",
    "\u200b", "\t", "<", ">", "&", "&#", "&#12a", "<!x>", "</>", "< p>",
)  # fmt: skip


def tag_soup(rng: random.Random) -> str:
    """Up to 40 random start, end and self-closing tags, text runs and references."""
    pieces: list[str] = []
    for _ in range(rng.randint(1, 40)):
        roll, tag = rng.random(), rng.choice(SOUP_TAGS)
        if roll < 0.3:
            pieces.append(f"<{tag}>")
        elif roll < 0.5:
            pieces.append(f"</{tag}>")
        elif roll < 0.55:
            pieces.append(f"<{tag}/>")
        elif roll < 0.6:
            pieces.append(f"<{tag.upper()} class='a'>")
        else:
            pieces.append(rng.choice(SOUP_TEXT))
    return "".join(pieces)


def test_random_tag_soup_gives_the_beautifulsoup_text() -> None:
    rng = random.Random(20261123)
    soups = [tag_soup(rng) for _ in range(3000)]
    differing = [html for html in soups if html_to_text(html) != oracle_html_to_text(html)]
    assert differing == []


# -- tricky cases, with the text a reader expects -------------------------------------------------
CASES = {
    "unclosed paragraphs": ("<p>one<p>two", "one\ntwo"),
    "table cells": ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
    "line breaks, end tag of a void element": ("a<br>b</br>c<br/>d", "a\nbc\nd"),
    "horizontal rule": ("a<hr>b", "a\n\nb"),
    "unclosed blockquote": ("<p>Reply</p><blockquote>quoted<br>more", "Reply\n\n> quoted\n> more"),
    "nested blockquotes": (
        "<blockquote>one<blockquote>two</blockquote>back</blockquote>after",
        "> one\n> > two\n> back\nafter",
    ),
    "blockquote end tag without start tag": ("a</blockquote>b", "ab"),
    "end tag closes what opened inside": ("<div><blockquote><b>q</div>after", "> q\n\nafter"),
    "style never closed": ("<p>before</p><style>p {color: red}</p>after", "before"),
    "nested dropped elements": ("<noscript><template>x</template>y</noscript>z", "z"),
    "head closed": ("<html><head><title>T</title></head><body><p>Hi</p></body>", "Hi"),
    "head never closed": ("<head><meta charset='utf-8'><title>T<body><p>Hi", "Hi"),
    "head never closed, body in a comment": ("<head><!-- <body> --><title>T</title>x", ""),
    "whitespace between tags": ("<span>a</span>\n\n\n<span>b</span>", "a\nb"),
    "whitespace in pre": ("<pre><b>a</b>\n\n\n<b>b</b></pre>", "a\n\nb"),
    "inline spaces": ("a&nbsp;&nbsp;\u200b \t b", "a b"),
    "blank lines": ("<p>a</p>\n<p></p><div></div><p>b</p>", "a\n\nb"),
    "references": ("&amp; &foo; &#150; &#0; &lt;b&gt;", "& &foo – \ufffd <b>"),
    "ruby annotations": ("<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>字", "漢字"),
    "cdata and comments": ("a<![CDATA[b]]>c<!-- d -->e", "abce"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tricky_markup(name: str) -> None:
    html, expected = CASES[name]
    assert html_to_text(html) == expected
    assert oracle_html_to_text(html) == expected


def test_unknown_marked_section_is_a_bogus_comment_where_the_oracle_refused_the_body() -> None:
    html = "<p>before<![foo bar>after</p>"
    with pytest.raises(ParserRejectedMarkup):
        oracle_html_to_text(html)
    assert html_to_text(html) == "beforeafter"


def test_a_reference_too_long_for_int_is_a_replacement_character_where_the_oracle_failed() -> None:
    html = f"a&#{'9' * 5000};b"
    with pytest.raises(ValueError):
        oracle_html_to_text(html)
    assert html_to_text(html) == "a\ufffdb"


def test_an_attribute_reference_too_long_for_int_no_longer_fails_the_body() -> None:
    html = f'<a title="&#{"1" * 5000};">lien</a> et <p title="&#{"0" * 5000}65;">suite</p>'
    with pytest.raises(ValueError):
        oracle_html_to_text(html)
    assert html_to_text(html) == "lien et\nsuite"


def test_shortened_references_mean_the_same_characters() -> None:
    html = f"&#{'1' * 5000};|&#{'0' * 5000}66;|&#{'0' * 4400};|&#65;"
    assert unescape(shorten_numeric_references(html)) == "\ufffd|B|\ufffd|A"
