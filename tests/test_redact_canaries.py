"""The canary corpus, parsed like real mail: every planted canary is there before redaction, none after."""

from __future__ import annotations

import pytest

from dossiermail.domain import ParsedMessage
from dossiermail.mailhtml import html_body
from dossiermail.parse import parse_message
from dossiermail.parse.body import html_to_text
from dossiermail.redact import redactor_for
from dossiermail.rules import load_rules
from tests.conftest import RULES
from tests.privacy_canaries import CANARIES, CanaryMail, canary_mails, canary_openers, leaks, leaks_in_html

SHIPPED = load_rules(RULES)
MAILS = canary_mails(SHIPPED)
REDACTOR = redactor_for(SHIPPED.redaction)


def shown_fields(message: ParsedMessage) -> dict[str, str]:
    """Every free text of a message a page may show."""
    fields = {
        "subject": message.subject,
        "text": message.text,
        "new_text": message.new_text,
        "quoted_text": message.quoted_text,
        "signature": message.signature,
        "html_text": html_to_text(message.html) if message.html else "",
    }
    for role, address in [
        ("from", message.from_),
        *(("to", a) for a in message.to),
        *(("cc", a) for a in message.cc),
    ]:
        if address is not None:
            fields[f"{role} name {address.email}"] = address.name
            fields[f"{role} address {address.email}"] = address.email
    for number, attachment in enumerate(message.attachments):
        fields[f"attachment {number}"] = attachment.filename
    return fields


def test_the_corpus_covers_every_placement_encoding_and_building() -> None:
    placements = {mail.placement for mail in MAILS}
    encodings = {mail.encoding for mail in MAILS}

    assert placements == {
        "plain", "html", "html-split", "quoted", "signature", "subject", "display-name", "attachment-name"
    }  # fmt: skip
    assert {"quoted-printable-utf-8", "base64-utf-8", "quoted-printable-iso-8859-1", "B", "Q"} <= encodings
    assert {mail.building for mail in MAILS} == {b.slug for b in SHIPPED.buildings}
    assert len({mail.name for mail in MAILS}) == len(MAILS)
    assert set(canary_openers(SHIPPED)) == {b.slug for b in SHIPPED.buildings}


@pytest.mark.parametrize("mail", MAILS, ids=[mail.name for mail in MAILS])
def test_every_planted_canary_is_parsed_then_masked(mail: CanaryMail) -> None:
    message = parse_message(mail.raw, mail.name)
    fields = shown_fields(message)

    before = {canary for text in fields.values() for canary in leaks(text)}
    assert before >= set(mail.planted), "the mail must really carry what it plants"

    survivors = {name: leaks(REDACTOR.text(text)) for name, text in fields.items()}
    assert {name: found for name, found in survivors.items() if found} == {}


@pytest.mark.parametrize("mail", [m for m in MAILS if m.placement == "quoted"], ids=lambda m: m.name)
def test_quoted_canaries_land_in_the_quoted_part(mail: CanaryMail) -> None:
    message = parse_message(mail.raw, mail.name)

    assert leaks(message.new_text) == []
    assert {c.kind for c in leaks(message.quoted_text)} == {"phone", "iban", "email", "nir", "bic"}


def test_signature_canaries_land_in_the_signature() -> None:
    mail = next(m for m in MAILS if m.placement == "signature")
    message = parse_message(mail.raw, mail.name)

    assert leaks(message.new_text) == []
    assert {c.kind for c in leaks(message.signature)} == {"phone", "iban", "email", "nir", "bic"}


def test_openers_route_nothing_secret() -> None:
    for slug, raw in canary_openers(SHIPPED).items():
        message = parse_message(raw, f"opener-{slug}")
        assert message.subject.startswith("[DDE-2026-9")
        assert not any(leaks(text) for text in shown_fields(message).values())


def test_leaks_in_html_sees_entities_and_split_elements() -> None:
    assert leaks_in_html("<p>06&nbsp;47&#160;18 29 53</p>") == [CANARIES[0]]
    assert leaks_in_html('<p><span style="x">06 47</span><b> 18 29 53</b></p>') == [CANARIES[0]]
    assert leaks_in_html('<a title="06 47 18 29 53">x</a>') == [CANARIES[0]]
    assert leaks_in_html("<p>[téléphone masqué] le 12/03/2026 à 10:30</p>") == []


HTML_MAILS = [m for m in MAILS if m.placement.startswith("html")]


def rendered_leaks(mail: CanaryMail) -> list[str]:
    """Canaries left in the safe markup ``dossiermail.mailhtml`` renders with the redactor."""
    message = parse_message(mail.raw, mail.name)
    assert message.html is not None
    safe = html_body(
        message.html, cid_url=lambda cid: f"cid-{cid}", redact=REDACTOR.text, redact_runs=REDACTOR.runs
    )
    return [c.value for c in leaks_in_html(safe.html + safe.quoted_html)]


@pytest.mark.parametrize("mail", [m for m in HTML_MAILS if m.placement == "html"], ids=lambda m: m.name)
def test_html_bodies_render_without_canaries(mail: CanaryMail) -> None:
    assert rendered_leaks(mail) == []


@pytest.mark.parametrize("mail", [m for m in HTML_MAILS if m.placement == "html-split"], ids=lambda m: m.name)
def test_html_split_over_inline_elements_renders_without_canaries(mail: CanaryMail) -> None:
    assert rendered_leaks(mail) == []
