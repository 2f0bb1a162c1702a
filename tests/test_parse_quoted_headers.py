"""Quoted headers as mail clients write them: who wrote the quoted message, when, with which subject."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dossiermail.parse.quoted_headers import QuotedHeader, name_key, parse_quoted_date, quoted_headers


def _one(text: str) -> QuotedHeader:
    found = quoted_headers(text)
    assert len(found) == 1, found
    return found[0]


def test_gmail_french_attribution() -> None:
    header = _one(
        "Merci.\n\nLe lun. 3 nov. 2026 à 10:12, Jean Dupont <jean@dupont.example> a écrit :\n> ok\n"
    )
    assert (header.sender, header.name, header.date) == (
        "jean@dupont.example",
        "Jean Dupont",
        datetime(2026, 11, 3, 10, 12),
    )
    assert header.subject is None


def test_gmail_english_attribution_with_pm_time() -> None:
    header = _one("On Mon, Mar 8, 2010 at 2:10 PM, Alex Bounine <abounine@tundra.example> wrote:\n> x\n")
    assert (header.sender, header.date) == ("abounine@tundra.example", datetime(2010, 3, 8, 14, 10))


def test_an_attribution_wrapped_over_two_lines() -> None:
    header = _one("Le 3 mars 2026 à 09:05, Plomberie Durand\n<devis@plomberie.example> a écrit :\n> devis\n")
    assert (header.sender, header.date) == ("devis@plomberie.example", datetime(2026, 3, 3, 9, 5))


def test_a_date_with_its_offset_is_exact_utc() -> None:
    header = _one("On Tue, 17 Nov 2009 14:00:54 -0500, Lars K <lars at seas.example.edu> wrote:\n")
    assert header.sender == "lars@seas.example.edu"
    assert header.date == datetime(2009, 11, 17, 19, 0, 54, tzinfo=UTC)


def test_outlook_french_block_after_the_separator() -> None:
    text = (
        "Voir ci-dessous.\n\n-----Message d'origine-----\n"
        "De : Plomberie Durand [mailto:devis@plomberie.example]\n"
        "Envoyé : lundi 3 novembre 2026 10:12\nÀ : gestion@cabinet.example\n"
        "Objet : RE: Fuite toiture\n\nBonjour,\n"
    )
    header = _one(text)
    assert (header.sender, header.name) == ("devis@plomberie.example", "Plomberie Durand")
    assert (header.date, header.subject) == (datetime(2026, 11, 3, 10, 12), "RE: Fuite toiture")


def test_outlook_english_block_after_underscores_and_quoted() -> None:
    text = (
        "> ________________________________\n> From: Bob Martin <bob@martin.example>\n"
        "> Sent: Monday, November 3, 2026 10:12 AM\n> To: a@b.example\n> Subject: Fuite\n"
    )
    header = _one(text)
    assert (header.sender, header.date, header.subject) == (
        "bob@martin.example",
        datetime(2026, 11, 3, 10, 12),
        "Fuite",
    )


def test_a_name_only_attribution_is_kept_without_address() -> None:
    header = _one("On Sun, 2009-11-22 at 19:55, Michiel B wrote:\n> x\n")
    assert (header.sender, header.name, header.date) == (None, "Michiel B", datetime(2009, 11, 22, 19, 55))


def test_several_headers_newest_first_and_limited() -> None:
    text = "\n".join(
        f"Le {day} mars 2026 à 10:00, P{day} <p{day}@x.example> a écrit :\n> t" for day in range(1, 6)
    )
    found = quoted_headers(text)
    assert [h.sender for h in found] == ["p1@x.example", "p2@x.example", "p3@x.example"]


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour,\nIl a écrit : rien de plus.\n",
        "De : moi\nà toi\n",
        "From: someone who forgot the rest\n",
        "Le chantier commence lundi, Jean l'a écrit :",
    ],
)
def test_plain_text_is_not_a_quoted_header(text: str) -> None:
    assert quoted_headers(text) == ()


@pytest.mark.parametrize(
    ("written", "french", "expected"),
    [
        ("03/11/2026 10:12", True, datetime(2026, 11, 3, 10, 12)),
        ("11/03/2026 10:12", False, datetime(2026, 11, 3, 10, 12)),
        ("1er févr. 2026 à 8h30", True, datetime(2026, 2, 1, 8, 30)),
        ("Friday, August 5, 2010 12:25 PM", False, datetime(2010, 8, 5, 12, 25)),
        ("31 février 2026", True, None),
        ("demain", True, None),
    ],
)
def test_quoted_dates(written: str, french: bool, expected: datetime | None) -> None:
    assert parse_quoted_date(written, french) == expected


def test_mutt_attribution_with_a_name_and_a_date_without_time() -> None:
    header = _one("On Mon, 3 Nov 2003, Linus Torvalds wrote:\n>\n> The allocator must know about it.\n")
    assert (header.sender, header.name, header.date) == (None, "Linus Torvalds", datetime(2003, 11, 3))
    assert header.quoted == ("the allocator must know about it",)


def test_a_bare_name_attribution_needs_a_capitalised_name_and_a_quote_below() -> None:
    header = _one("Hi,\n\nLinus Torvalds wrote:\n\n> The allocator must know about it.\n")
    assert (header.sender, header.name, header.date) == (None, "Linus Torvalds", None)
    for text in (
        "Linus Torvalds wrote:\nno quote below\n",
        "Linus wrote:\n> one word is no name\n",
        "and then someone wrote:\n> lower case is a sentence\n",
    ):
        assert quoted_headers(text) == (), text


def test_quoted_lines_are_the_first_substantial_ones_one_level_below_the_header() -> None:
    text = (
        "Jean Dupont <jean@dupont.example> wrote:\n> Hi,\n>\n> Le plombier passera jeudi matin.\n"
        "> > An older message quoted deeper is skipped here\n> Il faudra laisser l'accès ouvert.\n"
        "> Third line of the parent message body.\n> Fourth line is not needed at all.\n"
    )
    assert _one(text).quoted == (
        "le plombier passera jeudi matin",
        "il faudra laisser l acces ouvert",
        "third line of the parent message body",
    )


def test_name_key_folds_case_accents_and_word_order() -> None:
    assert name_key("Jérôme DUPRÉ") == name_key("Dupre, Jerome") == "dupre jerome"
    assert name_key("") == ""
