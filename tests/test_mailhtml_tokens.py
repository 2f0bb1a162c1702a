"""``tokenize``'s regular-expression reader against ``html.parser`` on nh3's output.

nh3 serialises in one narrow shape, which ``tokenize`` reads with a regular expression; any other
markup goes to ``html.parser``. On every HTML body of the corpora and every XSS payload, nh3's
first-pass output must be in that shape and give exactly the tokens ``html.parser`` gives.
"""

from __future__ import annotations

import pytest

from dossiermail.mailhtml.body import _FIRST_PASS, html_body
from dossiermail.mailhtml.canonical import canonical_html
from dossiermail.mailhtml.tokens import Token, _serialised_tokens, _Tokenizer, tokenize
from tests.conftest import ROOT, SAMPLES
from tests.test_parse_corpus import corpus_files, require_corpus
from tests.test_parse_html_text import html_bodies
from tests.xss_corpus import payloads

NEWSLETTERS = ROOT / "tests" / "data" / "newsletters"


def parser_tokens(markup: str) -> list[Token]:
    tokenizer = _Tokenizer()
    tokenizer.feed(markup)
    tokenizer.close()
    return tokenizer.builder.finish()


def first_pass(html: str) -> str:
    return _FIRST_PASS.clean(canonical_html(html).html)


def differing(htmls: list[str]) -> list[str]:
    """The bodies whose first-pass markup the regular expression cannot read or reads otherwise."""
    found: list[str] = []
    for html in htmls:
        markup = first_pass(html)
        if _serialised_tokens(markup) != parser_tokens(markup):
            found.append(html[:80])
    return found


@pytest.mark.parametrize("folder", ["hostile", "notmuch"])
def test_corpus_bodies_tokenize_as_html_parser_reads_them(folder: str) -> None:
    require_corpus(folder)
    htmls = [html for path in corpus_files(folder) for html in html_bodies(path)]
    assert htmls
    assert differing(htmls) == []


def test_newsletters_samples_and_payloads_tokenize_as_html_parser_reads_them() -> None:
    paths = sorted(NEWSLETTERS.glob("*.eml")) + sorted(SAMPLES.glob("*.eml"))
    htmls = [html for path in paths for html in html_bodies(path)] + payloads()
    assert differing(htmls) == []


@pytest.mark.parametrize(
    "markup",
    [
        "<p>a<!-- c -->b</p>",
        "<p class='x'>a</p>",
        "<br/>",
        "<script>a<b></script>",
        "<P>a</P>",
        "<p>a</p >",
        "a < b",
    ],
)
def test_other_markup_is_read_by_html_parser(markup: str) -> None:
    assert _serialised_tokens(markup) is None
    assert tokenize(markup) == parser_tokens(markup)


def test_unmatched_end_tags_are_ignored_by_both_readers() -> None:
    markup = 'a</b>b<p title="x &amp; y">c</i></p>d'
    assert _serialised_tokens(markup) == parser_tokens(markup)
    assert parser_tokens(markup)[0].text == "ab"


def test_a_reference_too_long_for_int_does_not_stop_the_body() -> None:
    # html.unescape raised ValueError past 4,300 digits: publishing stopped on such a mail.
    big = "1" * 5000
    body = html_body(f'<p title="&#{big};">a&#{big};b</p>', cid_url=lambda cid: None, redact=str)
    assert body.html == '<p title="\ufffd">a\ufffdb</p>'
