"""Specification of auto-reply, bounce and bulk-mail detection."""

from __future__ import annotations

import pytest

from dossiermail.parse.autoreply import AutoReplyClues, auto_reply_reason


def clues(
    headers: dict[str, str] | None = None,
    subject: str = "Fuite d'eau",
    content_types: tuple[str, ...] = ("text/plain",),
    sender: str = "marie@example.fr",
) -> AutoReplyClues:
    return AutoReplyClues(headers or {}, subject, content_types, sender)


def test_ordinary_mail_is_not_automatic() -> None:
    assert auto_reply_reason(clues()) is None


def test_auto_submitted_no_is_a_person() -> None:
    assert auto_reply_reason(clues({"auto-submitted": "no"})) is None


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "auto-notified; owner=x"])
def test_auto_submitted_other_than_no_is_automatic(value: str) -> None:
    assert auto_reply_reason(clues({"auto-submitted": value})) == f"Auto-Submitted: {value}"


@pytest.mark.parametrize("name", ["x-autoreply", "x-autorespond"])
def test_autoreply_headers_are_automatic(name: str) -> None:
    assert auto_reply_reason(clues({name: "yes"})) is not None


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "auto_reply", "BULK"])
def test_bulk_precedence_is_automatic(value: str) -> None:
    assert auto_reply_reason(clues({"precedence": value})) == f"Precedence: {value.lower()}"


def test_first_class_precedence_is_a_person() -> None:
    assert auto_reply_reason(clues({"precedence": "first-class"})) is None


@pytest.mark.parametrize("content_type", ["multipart/report", "message/delivery-status"])
def test_delivery_status_notifications_are_automatic(content_type: str) -> None:
    reason = auto_reply_reason(clues(content_types=("text/plain", content_type)))
    assert reason == f"delivery status notification ({content_type})"


@pytest.mark.parametrize("sender", ["mailer-daemon@mx.example", "postmaster@syndic.example"])
def test_bounce_senders_are_automatic(sender: str) -> None:
    assert auto_reply_reason(clues(sender=sender)) is not None


@pytest.mark.parametrize("name", ["list-id", "list-unsubscribe"])
def test_mailing_lists_and_newsletters_are_bulk_mail(name: str) -> None:
    assert auto_reply_reason(clues({name: "<x>"})) is not None


@pytest.mark.parametrize(
    "subject",
    [
        "Réponse automatique : Fuite d'eau",
        "Absence du bureau : Devis",
        "Absent du bureau",
        "Message d'absence",
        "Out of Office: Devis",
        "Automatic reply: Leak",
        "Autoreply: Leak",
        "[EXT] Réponse automatique : Devis",
    ],
)
def test_out_of_office_subjects_are_automatic(subject: str) -> None:
    assert auto_reply_reason(clues(subject=subject)) is not None


def test_x_auto_response_suppress_alone_is_not_proof() -> None:
    assert auto_reply_reason(clues({"x-auto-response-suppress": "All"})) is None


def test_x_auto_response_suppress_with_an_absence_subject_is_automatic() -> None:
    reason = auto_reply_reason(
        clues({"x-auto-response-suppress": "All"}, subject="Fuite d'eau - je suis absent")
    )
    assert reason is not None


def test_a_person_replying_about_an_absence_is_not_automatic() -> None:
    assert auto_reply_reason(clues(subject="RE: Absence du gardien en août")) is None
