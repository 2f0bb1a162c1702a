"""Specification of ``parse_message`` on small French syndic messages built inline."""

from __future__ import annotations

import base64
from datetime import UTC, timedelta
from email import message_from_bytes

import pytest
from mailparser.utils import get_addresses

from dossiermail.domain import Address
from dossiermail.parse import ParseError, attachment_bytes, headers, parse_message
from tests.test_parse_oracle import message_files

HEADERS = (
    "From: Marie Lefèvre <marie@example.fr>",
    "To: Syndic Dupont <gestion@syndic.example>",
    "Subject: Fuite d'eau",
    "Date: Tue, 3 Mar 2026 10:12:00 +0100",
    "Message-ID: <m1@example.fr>",
)


def mail(*headers: str, body: str = "Bonjour.\n", base: tuple[str, ...] = HEADERS) -> bytes:
    """A raw message: ``headers`` replace the base headers of the same name."""
    names = {h.split(":", 1)[0].lower() for h in headers}
    kept = [h for h in base if h.split(":", 1)[0].lower() not in names]
    text = "\r\n".join([*kept, *headers]) + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")
    return text.encode("utf-8")


def test_message_key_and_envelope_recipients_are_passed_through_lower_cased() -> None:
    parsed = parse_message(mail(), "key-1", envelope_to=("Dossier+12@Syndic.Example",))
    assert parsed.message_key == "key-1"
    assert parsed.envelope_to == ("dossier+12@syndic.example",)


def test_message_id_is_kept_as_written_with_brackets() -> None:
    parsed = parse_message(mail("Message-ID:   <CAF+x=1@mail.gmail.com>  "), "k")
    assert parsed.message_id == "<CAF+x=1@mail.gmail.com>"


def test_missing_message_id_is_none() -> None:
    assert parse_message(mail(base=HEADERS[:4]), "k").message_id is None


def test_references_and_in_reply_to_are_ids_without_brackets_in_order() -> None:
    raw = mail(
        "In-Reply-To: <parent@example.fr> (message de Jean du 2 mars)",
        "References: <root@example.fr> junk,\r\n <mid@example.fr>\r\n\t<parent@example.fr>",
    )
    parsed = parse_message(raw, "k")
    assert parsed.in_reply_to == ("parent@example.fr",)
    assert parsed.references == ("root@example.fr", "mid@example.fr", "parent@example.fr")


def test_rfc2047_subject_is_decoded_and_unfolded() -> None:
    raw = mail("Subject: =?utf-8?q?RE=C2=A0=3A_Fuite_d=27eau_=C3=A0_l=27=C3=A9tage?=\r\n 3, b\xe2t B")
    parsed = parse_message(raw, "k")
    assert parsed.subject == "RE : Fuite d'eau à l'étage 3, bât B"
    assert parsed.normalized_subject == "fuite d eau a l etage 3 bat b"


def test_latin1_raw_subject_is_decoded() -> None:
    raw = mail().replace(b"Subject: Fuite d'eau", "Subject: Réunion".encode("latin-1"))
    assert parse_message(raw, "k").subject == "Réunion"


def test_encoded_newline_in_a_header_never_reaches_the_value() -> None:
    raw = mail("Subject: =?utf-8?q?Devis=0D=0ABcc=3A_pirate=40evil=2Eexample?=")
    parsed = parse_message(raw, "k")
    assert "\n" not in parsed.subject
    assert "\r" not in parsed.subject
    assert parsed.subject == "Devis Bcc: pirate@evil.example"


def test_addresses_have_decoded_names_and_lower_cased_emails() -> None:
    raw = mail(
        "From: =?iso-8859-1?q?Ren=E9_Barth=E9l=E9my?= <Rene.B@Example.FR>",
        'To: undisclosed-recipients:;, "Conseil, syndical" <CS@Residence.Example>',
        "Cc: Équipe: a@b.example, c@d.example;, <garbage",
    )
    parsed = parse_message(raw, "k")
    assert parsed.from_ == Address("René Barthélémy", "rene.b@example.fr")
    assert parsed.to == (Address("Conseil, syndical", "cs@residence.example"),)
    assert [a.email for a in parsed.cc][:2] == ["a@b.example", "c@d.example"]


def test_a_name_equal_to_its_address_is_left_empty() -> None:
    raw = mail('From: "marie@example.fr" <marie@example.fr>', "To: <gestion@syndic.example>")
    parsed = parse_message(raw, "k")
    assert parsed.from_ == Address("", "marie@example.fr")
    assert parsed.to == (Address("", "gestion@syndic.example"),)


def test_a_comment_after_a_bare_address_is_its_name() -> None:
    parsed = parse_message(mail("From: marie@example.fr (Marie Lefèvre)"), "k")
    assert parsed.from_ == Address("Marie Lefèvre", "marie@example.fr")


def test_encoded_words_are_decoded_in_names_but_not_inside_quotes() -> None:
    raw = mail(
        "From: =?utf-8?q?Ren=C3=A9?= Dupont <rene@example.fr>",
        'To: "=?utf-8?q?Ren=C3=A9?=" <rene@example.fr>',
    )
    parsed = parse_message(raw, "k")
    assert parsed.from_ == Address("René Dupont", "rene@example.fr")
    assert parsed.to == (Address("=?utf-8?q?Ren=C3=A9?=", "rene@example.fr"),)  # RFC 2047 §5


def test_raw_latin1_display_name_is_decoded() -> None:
    raw = mail().replace(b"Marie Lef\xc3\xa8vre", "René Lefèvre".encode("latin-1"))
    assert parse_message(raw, "k").from_ == Address("René Lefèvre", "marie@example.fr")


def test_ambiguous_or_broken_items_give_no_address_but_their_neighbours_do() -> None:
    raw = mail(
        'To: a@example.fr, "guillemet ouvert <b@example.fr>',
        "Cc: <<c@example.fr>>, d@example.fr, x <e@example.fr> y, sans-arobase, f@example.fr",
    )
    parsed = parse_message(raw, "k")
    assert [a.email for a in parsed.to] == ["a@example.fr"]
    assert [a.email for a in parsed.cc] == ["d@example.fr", "f@example.fr"]


def test_deeply_nested_comment_in_an_address_does_not_recurse() -> None:
    raw = mail("From: marie@example.fr (" + "(" * 5000 + ")" * 5000 + ")")
    assert parse_message(raw, "k").from_ == Address("", "marie@example.fr")


@pytest.mark.parametrize(
    "value",
    [
        "marie@example.fr",
        "Marie Lefevre <marie@example.fr>",
        '"Lefevre, Marie" <marie@example.fr>,\r\n\t"" <b@example.fr>, <c@example.fr>',
        "J. P. O'Neil <jp.o-neil+devis@ex-ample.fr>, , bounce=x=y@example.fr,",
        '"a@example.fr" <a@example.fr>',
    ],
)
def test_the_regex_for_common_headers_reads_what_mail_parser_reads(value: str) -> None:
    fast = headers._fast_pairs(value)
    assert fast is not None
    assert fast == _mail_parser_pairs(value)


def _mail_parser_pairs(value: str) -> list[tuple[str, str]]:
    return [(name, address) for name, address in get_addresses(value, decode_names=True) if address]


def test_every_corpus_address_header_the_regex_reads_is_read_as_mail_parser_reads_it() -> None:
    """The fast path may only answer when it gives what mail-parser's structural parser gives."""
    read = 0
    for path in message_files():
        message = message_from_bytes(path.read_bytes())
        for name, value in message.raw_items():
            if name.lower() not in {"from", "to", "cc"} or not str(value).isascii():
                continue
            fast = headers._fast_pairs(str(value))
            if fast is not None:
                read += 1
                assert fast == _mail_parser_pairs(str(value)), (path.name, value)
    assert read > 1000  # the corpora's headers, not an empty loop


def test_missing_address_headers_give_empty_values() -> None:
    parsed = parse_message(mail(base=("Subject: Sans expéditeur",)), "k")
    assert parsed.from_ is None
    assert parsed.to == ()
    assert parsed.cc == ()


def test_delivered_to_and_x_original_to_are_collected() -> None:
    raw = mail(
        "Delivered-To: Dossier+DDE-2026-014@Syndic.Example",
        "X-Original-To: Immeuble-Tilleuls@syndic.example",
        "Delivered-To: gestion@syndic.example",
    )
    assert parse_message(raw, "k").delivered_to == (
        "dossier+dde-2026-014@syndic.example",
        "gestion@syndic.example",
        "immeuble-tilleuls@syndic.example",
    )


def test_date_keeps_the_senders_offset() -> None:
    date = parse_message(mail("Date: Tue, 3 Mar 2026 10:12:00 +0100"), "k").date
    assert date is not None
    assert date.utcoffset() == timedelta(hours=1)
    assert date.astimezone(UTC).hour == 9


def test_naive_date_is_taken_as_utc() -> None:
    date = parse_message(mail("Date: Tue, 3 Mar 2026 10:12:00 -0000"), "k").date
    assert date is not None
    assert date.tzinfo is UTC


def test_unparseable_date_is_none_with_a_defect() -> None:
    parsed = parse_message(mail("Date: le 3 mars vers midi"), "k")
    assert parsed.date is None
    assert "unparseable Date header" in parsed.defects


def test_quoted_printable_latin1_body_is_decoded() -> None:
    raw = mail(
        "Content-Type: text/plain; charset=iso-8859-1",
        "Content-Transfer-Encoding: quoted-printable",
        body="Le plombier passe =E0 9h.\n",
    )
    assert parse_message(raw, "k").text == "Le plombier passe à 9h."


def test_base64_utf8_body_is_decoded() -> None:
    body = base64.encodebytes("Réunion du conseil syndical à 18 h.\n".encode()).decode()
    raw = mail("Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", body=body)
    assert parse_message(raw, "k").text == "Réunion du conseil syndical à 18 h."


def test_bogus_charset_falls_back_and_is_reported() -> None:
    raw = mail("Content-Type: text/plain; charset=x-nimportequoi").replace(
        b"Bonjour.", "Syndic: réunion".encode("latin-1")
    )
    parsed = parse_message(raw, "k")
    assert parsed.text == "Syndic: réunion"
    assert any("x-nimportequoi" in defect for defect in parsed.defects)


def test_html_only_mail_gets_text_from_the_html() -> None:
    html = (
        "<html><head><title>Titre</title><style>p{color:red}</style></head><body>"
        "<p>Bonjour,</p><p>La r&eacute;union est <b>report&eacute;e</b>.<br>Cordialement</p>"
        "<script>alert(1)</script><blockquote>Ancien message</blockquote></body></html>"
    )
    raw = mail("Content-Type: text/html; charset=utf-8", body=html)
    parsed = parse_message(raw, "k")
    assert parsed.html == html
    assert parsed.text == "Bonjour,\n\nLa réunion est reportée.\nCordialement\n\n> Ancien message"
    assert parsed.new_text == "Bonjour,\n\nLa réunion est reportée.\nCordialement"
    assert parsed.quoted_text == "> Ancien message"


ALTERNATIVE = """\
--alt
Content-Type: text/plain; charset=utf-8

Texte brut.
--alt
Content-Type: text/html; charset=utf-8

<p>Texte <b>HTML</b>.</p>
--alt--
"""


def test_alternative_mail_prefers_text_plain_and_keeps_html() -> None:
    raw = mail('Content-Type: multipart/alternative; boundary="alt"', body=ALTERNATIVE)
    parsed = parse_message(raw, "k")
    assert parsed.text == "Texte brut."
    assert parsed.html is not None
    assert "<b>HTML</b>" in parsed.html
    assert parsed.attachments == ()


MIXED = """\
--mix
Content-Type: text/plain; charset=utf-8

Veuillez trouver le devis ci-joint.
--mix
Content-Type: application/pdf; name="=?utf-8?q?devis_=C3=A9lagage=2Epdf?="
Content-Disposition: attachment; filename*=utf-8''devis%20%C3%A9lagage.pdf
Content-Transfer-Encoding: base64

{pdf}
--mix
Content-Type: image/png; name="=?utf-8?b?cGxhbiDDqXRhZ2UucG5n?="
Content-Disposition: inline
Content-ID: <plan@syndic.example>
Content-Transfer-Encoding: base64

{png}
--mix
Content-Type: text/plain; charset=utf-8
Content-Disposition: attachment; filename="releve.txt"

compteur 123
--mix--
"""
PDF = b"%PDF-1.4 devis\n" * 10
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def _mixed() -> bytes:
    body = MIXED.format(
        pdf=base64.encodebytes(PDF).decode().strip(), png=base64.encodebytes(PNG).decode().strip()
    )
    return mail('Content-Type: multipart/mixed; boundary="mix"', body=body)


def test_attachments_have_decoded_names_sizes_and_content_ids() -> None:
    parsed = parse_message(_mixed(), "k")
    assert parsed.text == "Veuillez trouver le devis ci-joint."
    pdf, png, txt = parsed.attachments
    assert (pdf.filename, pdf.content_type, pdf.size, pdf.inline) == (
        "devis élagage.pdf",
        "application/pdf",
        len(PDF),
        False,
    )
    assert (png.filename, png.size, png.content_id, png.inline) == (
        "plan étage.png",
        len(PNG),
        "plan@syndic.example",
        True,
    )
    assert (txt.filename, txt.content_type) == ("releve.txt", "text/plain")


def test_attachment_bytes_returns_the_decoded_payload_by_index() -> None:
    raw = _mixed()
    assert attachment_bytes(raw, 0) == PDF
    assert attachment_bytes(raw, 1) == PNG
    assert attachment_bytes(raw, 2).strip() == b"compteur 123"
    with pytest.raises(IndexError):
        attachment_bytes(raw, 3)


def test_attached_message_counts_as_one_attachment() -> None:
    body = (
        "--m\r\nContent-Type: text/plain\r\n\r\nVoir le message joint.\r\n"
        "--m\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
        "From: a@b.example\r\nSubject: Original\r\n\r\nTexte original.\r\n--m--\r\n"
    )
    raw = mail('Content-Type: multipart/mixed; boundary="m"', body=body)
    parsed = parse_message(raw, "k")
    assert parsed.text == "Voir le message joint."
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]
    assert parsed.attachments[0].filename == "piece-jointe-1.eml"
    assert b"Texte original." in attachment_bytes(raw, 0)


def test_outlook_reply_is_split_into_new_text_quote_and_signature() -> None:
    body = (
        "Bonjour,\n\nLe devis est validé.\n\nEnvoyé de mon iPhone\n\n"
        "De : Ascenseurs Martin <sav@martin.example>\nEnvoyé : lundi 3 mars 2026 09:00\n"
        "À : Syndic <gestion@syndic.example>\nObjet : Devis\n\nVoici le devis.\n"
    )
    parsed = parse_message(mail("Subject: RE: Devis", body=body), "k")
    assert parsed.new_text == "Bonjour,\n\nLe devis est validé."
    assert parsed.signature == "Envoyé de mon iPhone"
    assert parsed.quoted_text.endswith("Voici le devis.")


def test_person_mail_is_not_an_auto_reply() -> None:
    parsed = parse_message(mail("X-Auto-Response-Suppress: All"), "k")
    assert parsed.auto_reply is None


def test_out_of_office_reply_is_detected() -> None:
    raw = mail("Subject: Réponse automatique : Fuite d'eau", "Auto-Submitted: auto-replied")
    assert parse_message(raw, "k").auto_reply == "Auto-Submitted: auto-replied"


def test_delivery_status_notification_is_detected() -> None:
    body = (
        "--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; x@y.example\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n--r--\r\n"
    )
    raw = mail(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example>",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
        body=body,
    )
    parsed = parse_message(raw, "k")
    assert parsed.auto_reply is not None
    assert "delivery status notification" in parsed.auto_reply
    assert parsed.text == "Delivery failed."


def test_newsletter_is_bulk_mail() -> None:
    raw = mail("List-Unsubscribe: <mailto:unsub@news.example>", "Subject: Lettre d'info")
    assert parse_message(raw, "k").auto_reply == "bulk mail (List-Unsubscribe)"


def test_bom_before_the_headers_is_tolerated() -> None:
    parsed = parse_message(b"\xef\xbb\xbf" + mail(), "k")
    assert parsed.subject == "Fuite d'eau"


def test_parse_error_carries_a_one_line_reason() -> None:
    with pytest.raises(ParseError, match=r"^no mail header found$"):
        parse_message(b"juste du texte\r\nsans en-tete\r\n", "k")


@pytest.mark.parametrize(
    ("transfer", "body"),
    [("8bit", "Code porte : 12\x0034\n"), ("quoted-printable", "Code porte : 12=0034\n")],
)
def test_a_nul_in_a_body_is_shown_as_a_replacement_character_with_a_defect(transfer: str, body: str) -> None:
    raw = mail(f"Content-Transfer-Encoding: {transfer}", body=body)
    parsed = parse_message(raw, "k")
    assert "\x00" not in parsed.text + parsed.new_text
    assert "12\ufffd34" in parsed.text
    assert "NUL characters in the body, shown as U+FFFD" in parsed.defects
