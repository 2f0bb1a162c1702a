"""Mail bodies made safe for the extranet: the rules of ``dossiermail.mailhtml``, one by one."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import pytest

from dossiermail.mailhtml import MAX_DEPTH, SafeBody, html_body, remote_note, text_body
from dossiermail.mailhtml.tokens import Kind, tokenize
from dossiermail.redact import Redactor, redactor_for
from dossiermail.rules.loader import load_rules
from tests.conftest import RULES, SAMPLES

PHONE = "06 12 34 56 78"
MASK = "[numéro masqué]"


def keep(text: str) -> str:
    return text


def mask_phone(text: str) -> str:
    return text.replace(PHONE, MASK)


def no_cid(cid: str) -> str | None:
    return None


def render(html: str, redact: object = keep) -> SafeBody:
    assert callable(redact)
    return html_body(html, cid_url=no_cid, redact=redact)


def depth(markup: str) -> int:
    """The deepest element nesting of (well-formed) markup."""
    deepest = current = 0
    for token in tokenize(markup):
        if token.kind is Kind.START:
            current += 1
            deepest = max(deepest, current)
        elif token.kind is Kind.END:
            current -= 1
    return deepest


# -- what may stay -------------------------------------------------------------------------------
def test_mail_markup_is_kept() -> None:
    html = (
        "<h2>Compte rendu</h2><p>Le <b>plombier</b> <i>passe</i> <u>jeudi</u>.</p>"
        "<ul><li>un</li></ul><ol start='3'><li>trois</li></ol>"
        "<table><tr><th colspan='2'>Poste</th></tr><tr><td>A</td><td align='right'>4 378 €</td></tr></table>"
        "<hr><pre><code>ref DDE-2026-014</code></pre>"
    )
    body = render(html).html
    for fragment in ("<h2>", "<b>plombier</b>", "<i>", "<u>", "<li>un</li>", '<ol start="3">', "<table>"):
        assert fragment in body
    assert '<th colspan="2">' in body
    assert '<td align="right">' in body
    assert "<pre><code>ref DDE-2026-014</code></pre>" in body
    assert "<hr>" in body


@pytest.mark.parametrize(
    "html",
    [
        "<script>window.__xss=1</script>",
        "<style>body{background:red}</style>",
        "<iframe src='https://evil.example'></iframe>",
        "<form action='https://evil.example'><input name=q><button>go</button></form>",
        "<object data='x.swf'></object><embed src='x.swf'>",
        "<svg><script>window.__xss=1</script></svg>",
        "<math><mi>x</mi></math>",
        "<link rel=stylesheet href='x.css'><meta http-equiv=refresh content='0;url=x'><base href='//evil'>",
        "<template><b>t</b></template><noscript><b>n</b></noscript>",
    ],
)
def test_dangerous_elements_go(html: str) -> None:
    body = render(f"<p>avant</p>{html}<p>après</p>").html
    assert body.startswith("<p>avant</p>")
    assert body.endswith("<p>après</p>")
    for tag in ("script", "style", "iframe", "form", "input", "button", "object", "embed", "svg", "math"):
        assert f"<{tag}" not in body
    for tag in ("link", "meta", "base", "template", "noscript"):
        assert f"<{tag}" not in body


def test_event_handlers_ids_classes_and_styles_go() -> None:
    body = render(
        "<p id='x' class='MsoNormal' onclick='window.__xss=1' style='color:red' onmouseover=x>Texte</p>"
    ).html
    assert body == "<p>Texte</p>"


def test_presentational_attributes_keep_only_harmless_values() -> None:
    body = render("<table><tr><td align='javascript:x' valign='top' colspan='2;x'>a</td></tr></table>").html
    assert '<td valign="top">a</td>' in body


def test_style_attributes_are_dropped_and_their_remote_backgrounds_counted() -> None:
    body = render(
        "<div style=\"background:url('https://t.example/bg.png')\">a</div>"
        "<td style='color:red'>b</td><table background='http://t.example/b.gif'><tr><td>c</td></tr></table>"
    )
    assert "style=" not in body.html
    assert "background" not in body.html
    assert body.remote_blocked == 2


# -- images --------------------------------------------------------------------------------------
def test_cid_images_are_resolved_and_listed() -> None:
    urls = {"logo@riviera": "../pj/12/logo.png"}
    body = html_body(
        '<p><img src="cid:logo@riviera" alt="Logo"><img src="CID:%3Clogo@riviera%3E">'
        '<img src="cid:absent"></p>',
        cid_url=urls.get,
        redact=keep,
    )
    assert body.html == '<p><img src="../pj/12/logo.png" alt="Logo"><img src="../pj/12/logo.png"></p>'
    assert body.inline_cids == ("logo@riviera",)
    assert body.remote_blocked == 0


@pytest.mark.parametrize(
    "src",
    [
        "http://t.example/p.gif",
        "https://t.example/open?u=8f3a",
        "//t.example/p.gif",
        " HTTPS://t.example/p.gif",
        "ht\ttp://t.example/p.gif",
    ],
)
def test_remote_images_are_removed_and_counted(src: str) -> None:
    body = render(f'<p>Lettre<img src="{src}" width="1" height="1"></p>')
    assert body.html == "<p>Lettre</p>"
    assert body.remote_blocked == 1


def test_data_images_keep_only_raster_types() -> None:
    png = "data:image/png;base64,iVBORw0KGgo="
    body = render(
        f'<img src="{png}" width="10" height="20%">'
        '<img src="data:image/svg+xml;base64,PHN2Zz4=">'
        '<img src="data:text/html,<script>window.__xss=1</script>">'
        '<img src="javascript:window.__xss=1"><img src="pj/logo.png"><img>'
    )
    assert body.html == f'<img src="{png}" width="10" height="20%">'
    assert body.remote_blocked == 0


def test_image_dimensions_must_be_numbers() -> None:
    body = render('<img src="data:image/gif;base64,R0lGOD" width="1;x" height="100">')
    assert body.html == '<img src="data:image/gif;base64,R0lGOD" height="100">'


# -- links ---------------------------------------------------------------------------------------
def test_web_and_mailto_links_open_in_a_new_tab() -> None:
    body = render('<a href="https://ex.fr/a?b=1&amp;c=2" target="_self" rel="opener">site</a>')
    assert body.html == (
        '<a href="https://ex.fr/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">site</a>'
    )
    mail = render('<a href="mailto:syndic@example.fr">écrire</a>').html
    assert mail == '<a href="mailto:syndic@example.fr" target="_blank" rel="noopener noreferrer">écrire</a>'


@pytest.mark.parametrize(
    "href",
    [
        "javascript:window.__xss=1",
        " JaVaScRiPt:window.__xss=1",
        "java&#x09;script:window.__xss=1",
        "&#106;avascript:window.__xss=1",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==",
        "file:///etc/passwd",
        "pages/relative.html",
        "#ancre",
        "cid:part1",
    ],
)
def test_other_links_lose_their_tag_but_keep_their_text(href: str) -> None:
    body = render(f'<p>Voir <a href="{href}">le lien</a>.</p>').html
    assert body == "<p>Voir le lien.</p>"


# -- redaction -----------------------------------------------------------------------------------
def test_redact_runs_on_text_and_shown_attributes() -> None:
    body = render(
        f'<p title="{PHONE}">Appelez le {PHONE}<img src="data:image/png;base64,AA" alt="tél {PHONE}"></p>',
        mask_phone,
    ).html
    assert PHONE not in body
    assert body.count(MASK) == 3


def test_a_redacted_mailto_becomes_plain_text() -> None:
    def mask_address(text: str) -> str:
        return text.replace("owner@example.net", "[adresse masquée]")

    body = render('<p><a href="mailto:owner@example.net">owner@example.net</a></p>', mask_address).html
    assert body == "<p>[adresse masquée]</p>"


def test_a_link_whose_url_redaction_changes_loses_its_target() -> None:
    body = render(f'<a href="https://ex.fr/rappel?tel={PHONE}">rappel</a>', mask_phone).html
    assert body == "rappel"


def test_redaction_placeholders_cannot_smuggle_markup() -> None:
    def hostile(text: str) -> str:
        return text.replace("secret", "<img src=x onerror=window.__xss=1>")

    body = render('<p title="secret">secret</p><img src="data:image/png;base64,AA" alt="secret">', hostile)
    assert "<img src=x" not in body.html
    assert "&lt;img src=x onerror=window.__xss=1&gt;" in body.html
    assert "onerror" not in re.sub(r'"[^"]*"|&lt;.*?&gt;', "", body.html)


def engine() -> Redactor:
    """The real redaction engine, configured by the project's rules/redaction.yaml."""
    return redactor_for(load_rules(RULES).redaction)


def test_redact_runs_finds_values_split_over_inline_tags() -> None:
    redactor = engine()
    html = (
        "<p>Tél : <b>06</b> 12 <span>34 56</span> 78</p>"
        "<table><tr><td>06 12</td><td>34 56 78</td></tr></table>"
        '<div class="gmail_quote">Le lun. a écrit :<blockquote>Mon <i>06</i> 98 76 54 32</blockquote></div>'
    )
    per_node = html_body(html, cid_url=no_cid, redact=redactor.text)
    assert "<b>06</b> 12 <span>34 56</span> 78" in per_node.html
    body = html_body(html, cid_url=no_cid, redact=redactor.text, redact_runs=redactor.runs)
    assert "[téléphone masqué]" in body.html
    assert "<td>06 12</td><td>34 56 78</td>" in body.html  # cells are separate blocks
    assert "98 76" not in body.quoted_html
    assert "[téléphone masqué]" in body.quoted_html


def test_redact_runs_that_loses_pieces_falls_back_to_node_by_node() -> None:
    def broken_runs(pieces: Sequence[str]) -> Sequence[str]:
        return ["".join(pieces)]

    body = html_body(
        f"<p>Appelez le <b>{PHONE}</b> ou <i>là</i></p>",
        cid_url=no_cid,
        redact=mask_phone,
        redact_runs=broken_runs,
    )
    assert body.html == f"<p>Appelez le <b>{MASK}</b> ou <i>là</i></p>"


def test_redaction_reaches_the_quoted_history() -> None:
    html = f'<p>Merci</p><div class="gmail_quote">Le lun. a écrit :<blockquote>{PHONE}</blockquote></div>'
    body = render(html, mask_phone)
    assert PHONE not in body.quoted_html
    assert MASK in body.quoted_html


# -- nesting and size ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "html",
    [
        "<div>" * 100_000 + "fond" + "</div>" * 100_000,
        "<div><span><b>" * 50_000 + "fond",
        "<table><tr><td>" * 30_000 + "fond",
        '<blockquote type="cite">' * 50_000 + "fond",
        "<ul><li>" * 50_000 + "fond",
    ],
    ids=["closed-divs", "unclosed-inline", "tables", "blockquotes", "lists"],
)
def test_deep_nesting_is_flattened_without_recursion(html: str) -> None:
    started = time.monotonic()
    body = render(html)
    assert time.monotonic() - started < 60  # about 1 s alone; generous for a loaded CI machine
    assert "fond" in body.html + body.quoted_html
    assert depth(body.html) <= MAX_DEPTH + 40
    assert depth(body.quoted_html) <= MAX_DEPTH + 40


def test_shallow_markup_is_not_flattened() -> None:
    html = "<div>" * 60 + "<b>fond</b>" + "</div>" * 60
    assert depth(render(html).html) == 61


@pytest.mark.slow
def test_a_five_megabyte_body_completes() -> None:
    row = (
        "<tr><td><p>Bonjour <b>monde</b> &amp; <a href='https://x.fr/a'>lien</a>"
        "<img src='http://t.example/p.gif'></p></td></tr>\n"
    )
    html = "<table>" + row * (5_000_000 // len(row)) + "</table>"
    assert len(html) >= 4_900_000
    started = time.monotonic()
    body = render(html)
    assert time.monotonic() - started < 180  # about 8 s alone; catches quadratic behaviour only
    assert body.remote_blocked == 5_000_000 // len(row)
    assert body.html.count("<b>monde</b>") == body.remote_blocked
    assert "t.example" not in body.html


# -- quoted history ------------------------------------------------------------------------------
GMAIL = (
    '<div dir="ltr">Bonjour,<br><br>Avis favorable.<br>Henri</div><br>'
    '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">'
    "Le jeu. 15 janv. 2026 à 09:50, Claire &lt;c@x.fr&gt; a écrit :<br></div>"
    '<blockquote class="gmail_quote" style="margin:0px">Voici le devis.</blockquote></div>'
)
OUTLOOK_WEB_FR = (
    '<div dir="ltr">C\'est noté.</div><div id="appendonsend"></div>'
    '<hr style="display:inline-block;width:98%" tabindex="-1">'
    '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>De :</b> Jean &lt;j@x.fr&gt;<br>'
    "<b>Envoyé :</b> lundi 9 mars 2026 10:12<br><b>À :</b> Syndic<br><b>Objet :</b> Fuite</font>"
    "<div>&nbsp;</div></div><div>Il y a une fuite.</div>"
)
OUTLOOK_DESKTOP_EN = (
    "<html><head><style>p.MsoNormal{margin:0}</style></head><body><div class=WordSection1>"
    "<p class=MsoNormal>Noted, thanks.<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
    "<div><div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>"
    "<p class=MsoNormal><b>From:</b> Jean Dupont &lt;jean@x.fr&gt;<br><b>Sent:</b> Monday, March 9, 2026"
    "<br><b>To:</b> Syndic<br><b>Subject:</b> Leak<o:p></o:p></p></div></div>"
    "<p class=MsoNormal>There is a leak.<o:p></o:p></p></div></body></html>"
)
OUTLOOK_DESKTOP_FR = (
    "<div class=WordSection1><p class=MsoNormal>Bien reçu.</p>"
    "<div style='border:none;border-top:solid #E1E1E1 1.0pt'><p class=MsoNormal><b>De&nbsp;:</b> Jean"
    "<br><b>Envoyé&nbsp;:</b> lundi 9 mars 2026 10:12<br><b>À&nbsp;:</b> Syndic<br>"
    "<b>Objet&nbsp;:</b> Fuite</p></div><p class=MsoNormal>Il y a une fuite.</p></div>"
)
OUTLOOK_SEPARATOR = (
    "<p>Pour information.</p><p>-----Message d'origine-----</p><p>De : Jean</p><p>Il y a une fuite.</p>"
)
APPLE_MAIL = (
    '<html><body dir="auto">Parfait, merci.<br><br><div dir="ltr">Envoyé de mon iPhone</div>'
    '<div dir="ltr"><br><blockquote type="cite">Le 9 mars 2026 à 10:12, Syndic &lt;s@x.fr&gt; '
    'a écrit&nbsp;:<br><br></blockquote></div><blockquote type="cite"><div dir="ltr">'
    "Le plombier passe jeudi.</div></blockquote></body></html>"
)
APPLE_ATTRIBUTION_OUTSIDE = (
    "<div>Parfait, merci.</div><div><br><div>Le 9 mars 2026 à 10:12, Syndic a écrit :</div><br>"
    '<blockquote type="cite"><div>Le plombier passe jeudi.</div></blockquote></div>'
)
YAHOO = (
    '<div>Merci pour le devis.</div><div class="yahoo_quoted"><div>Le lundi 9 mars 2026, Jean a écrit :'
    "</div><div>Voici le devis.</div></div>"
)
THUNDERBIRD = (
    '<p>D\'accord pour jeudi.</p><div class="moz-cite-prefix">Le 09/03/2026 à 10:12, Syndic a '
    'écrit&nbsp;:<br></div><blockquote type="cite" cite="mid:abc@x"><p>Le plombier passe jeudi.'
    "</p></blockquote><br>"
)


@pytest.mark.parametrize(
    ("html", "written", "quoted"),
    [
        (GMAIL, "Avis favorable.", ("a écrit", "Voici le devis.")),
        (OUTLOOK_WEB_FR, "C'est noté.", ("Envoyé", "Il y a une fuite.")),
        (OUTLOOK_DESKTOP_EN, "Noted, thanks.", ("From:", "There is a leak.")),
        (OUTLOOK_DESKTOP_FR, "Bien reçu.", ("Objet", "Il y a une fuite.")),
        (OUTLOOK_SEPARATOR, "Pour information.", ("Message d'origine", "Il y a une fuite.")),
        (APPLE_MAIL, "Parfait, merci.", ("a écrit", "Le plombier passe jeudi.")),
        (APPLE_ATTRIBUTION_OUTSIDE, "Parfait, merci.", ("a écrit", "Le plombier passe jeudi.")),
        (THUNDERBIRD, "D'accord pour jeudi.", ("a écrit", "Le plombier passe jeudi.")),
        (YAHOO, "Merci pour le devis.", ("a écrit", "Voici le devis.")),
    ],
    ids=[
        "gmail",
        "outlook-web-fr",
        "outlook-desktop-en",
        "outlook-desktop-fr",
        "outlook-separator",
        "apple-mail",
        "apple-mail-attribution-outside",
        "thunderbird",
        "yahoo",
    ],
)
def test_quoted_history_is_cut(html: str, written: str, quoted: tuple[str, ...]) -> None:
    body = render(html)
    text = re.sub(r"<[^>]+>", "", body.html).replace("&nbsp;", " ")
    history = re.sub(r"<[^>]+>", "", body.quoted_html).replace("&nbsp;", " ").replace("\xa0", " ")
    assert written in text
    for words in quoted:
        assert words in history
        assert words not in text
    assert "<blockquote type" not in body.quoted_html
    assert depth(body.quoted_html) >= 1


@pytest.mark.parametrize("quote", ['<blockquote type="cite">', '<blockquote class="gmail_quote">'])
def test_an_interleaved_reply_keeps_its_quotes_in_place(quote: str) -> None:
    html = (
        '<div class="moz-cite-prefix">Le 09/03/2026, Syndic a écrit :</div>'
        f"{quote}Question 1 ?</blockquote><p>Réponse 1.</p>"
        f"{quote}Question 2 ?</blockquote><p>Réponse 2.</p>"
    )
    body = render(html)
    assert body.quoted_html == ""
    assert body.html.index("Question 1") < body.html.index("Réponse 1") < body.html.index("Question 2")


def test_blank_lines_left_at_the_end_of_the_body_go() -> None:
    assert render(GMAIL).html.endswith("Henri</div>")
    assert render(OUTLOOK_DESKTOP_EN).html == "<div><p>Noted, thanks.</p></div>"
    assert render("<p>Texte</p><p>&nbsp;</p><br><div><br> </div>\n<hr>").html == "<p>Texte</p>"
    assert render("<p>Texte<img src='data:image/png;base64,AA'></p><br>").html.endswith("</p>")


@pytest.mark.parametrize("separator", ["<br>", "\n", "</p><p>"])
def test_words_written_before_an_attribution_stay_in_the_body(separator: str) -> None:
    html = (
        f"<p>Le plombier est passé ce matin.{separator}Le 3 mars 2026, Jean a écrit :</p>"
        '<blockquote type="cite">Quand passe le plombier ?</blockquote>'
    )
    body = render(html)
    assert "Le plombier est passé ce matin." in body.html
    assert "Quand passe le plombier ?" in body.quoted_html


def test_a_mail_without_history_has_no_quoted_part() -> None:
    body = render("<p>De : la part du conseil syndical, merci.</p><blockquote>Une citation.</blockquote>")
    assert body.quoted_html == ""
    assert "<blockquote>Une citation.</blockquote>" in body.html


def test_empty_bodies_give_an_empty_safe_body() -> None:
    assert render("  \n") == SafeBody("", "", 0, ())
    assert text_body("\n\n", redact=keep) == SafeBody("", "", 0, ())


# -- plain text ----------------------------------------------------------------------------------
def test_text_is_escaped_with_paragraphs_and_line_breaks() -> None:
    body = text_body("Bonjour,\r\nligne 2 <b>pas gras</b> & co\n\n\nParagraphe 2", redact=keep)
    assert body.html == ("<p>Bonjour,<br>ligne 2 &lt;b&gt;pas gras&lt;/b&gt; &amp; co</p><p>Paragraphe 2</p>")
    assert body.quoted_html == ""


def test_text_links_are_detected_without_their_punctuation() -> None:
    body = text_body(
        "Voir https://ex.fr/devis?id=1&v=2. Et (http://ex.fr/a_(b)) ou javascript:window.__xss=1",
        redact=keep,
    ).html
    assert '<a href="https://ex.fr/devis?id=1&amp;v=2" target="_blank" rel="noopener noreferrer">' in body
    assert (
        '<a href="http://ex.fr/a_(b)" target="_blank" rel="noopener noreferrer">http://ex.fr/a_(b)</a>)'
        in body
    )
    assert "javascript:window.__xss=1" in body
    assert body.count("<a ") == 2


def test_text_is_redacted_before_it_is_escaped() -> None:
    def hostile(text: str) -> str:
        return text.replace(PHONE, '<script>window.__xss=1</script>"')

    body = text_body(f"Tél : {PHONE}", redact=hostile).html
    assert body == '<p>Tél : &lt;script&gt;window.__xss=1&lt;/script&gt;"</p>'


def test_remote_note_speaks_french() -> None:
    assert remote_note(0) == ""
    assert remote_note(1) == "1 image distante bloquée"
    assert remote_note(4) == "4 images distantes bloquées"


# -- newsletters ---------------------------------------------------------------------------------
NEWSLETTER = """<!doctype html><html><head>
<link rel="stylesheet" href="https://news.example.com/mail.css">
<style>@import url("https://fonts.example.com/css?family=Roboto");
@font-face { font-family: R; src: url(https://fonts.example.com/r.woff2) }
.hero { background-image: url('//cdn.example.com/hero.jpg') }</style></head>
<body background="https://cdn.example.com/bg.png">
<table width="600" background="http://cdn.example.com/table.png"><tr><td>
<img src="https://cdn.example.com/logo.png" alt="L'Écho" width="200">
<h1>L'Écho de la Copropriété</h1><p>Le point sur le DPE collectif.
<a href="https://news.example.com/r/1?u=8f3a">Lire</a></p>
<p style="background:url(https://cdn.example.com/p.png)">Pub</p>
<img src="https://t.example.com/open/8f3a.gif" width="1" height="1" style="display:none">
<img src='http://t2.example.com/o.gif' width=1 height=1>
<img src="//t3.example.com/o.gif"><img srcset="https://cdn.example.com/a.png 2x">
</td></tr></table></body></html>"""


def test_a_newsletter_loses_every_remote_resource() -> None:
    body = render(NEWSLETTER)
    assert body.remote_blocked == 12
    assert "Le point sur le DPE collectif." in body.html
    assert '<a href="https://news.example.com/r/1?u=8f3a" target="_blank"' in body.html
    without_links = re.sub(r'href="[^"]*"', "", body.html)
    assert "example.com" not in without_links
    assert "<img" not in body.html


def test_the_sample_newsletter_tracking_pixel_is_blocked() -> None:
    from dossiermail.parse.message import parse_message

    raw = (SAMPLES / "misc-newsletter-html-tracking-pixel.eml").read_bytes()
    message = parse_message(raw, "newsletter")
    assert message.html is not None
    assert re.search(r"<img[^>]+src=[\"']https?://", message.html, re.IGNORECASE)
    body = html_body(message.html, cid_url=no_cid, redact=keep)
    assert body.remote_blocked >= 1
    assert "<img" not in body.html
    assert not re.search(r"(src|background)=", body.html)
