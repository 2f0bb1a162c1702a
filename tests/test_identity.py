"""The content key: one mail seen through several channels is one message; different mails are not."""

from __future__ import annotations

from dossiermail.ingest.identity import content_key, split_head_body

MAIL = (
    b"Message-ID: <abc@cabinet-azur.example.fr>\r\n"
    b"Date: Tue, 03 Mar 2026 10:12:00 +0100\r\n"
    b"From: Claire Martin <claire.martin@cabinet-azur.example.fr>\r\n"
    b"To: mimosas@cabinet-azur.example.fr\r\n"
    b"Subject: [DDE-2026-014] Fuite au plafond\r\n"
    b"\r\n"
    b"Bonjour,\r\nLe plombier passe demain.\r\n"
)


def test_crlf_and_lf_copies_share_a_key() -> None:
    assert content_key(MAIL) == content_key(MAIL.replace(b"\r\n", b"\n"))


def test_transport_headers_added_by_imap_server_do_not_change_the_key() -> None:
    relayed = b"Return-Path: <x@y>\r\nReceived: from mx by imap; Tue, 3 Mar 2026\r\n" + MAIL
    relayed += b"\r\n\r\n"
    assert content_key(relayed) == content_key(MAIL)


def test_header_folding_and_name_case_do_not_change_the_key() -> None:
    folded = MAIL.replace(b"Subject: [DDE-2026-014] Fuite", b"SUBJECT: [DDE-2026-014]\r\n Fuite")
    assert content_key(folded) == content_key(MAIL)


def test_reused_message_id_with_another_body_is_another_message() -> None:
    other = MAIL.replace(b"demain", b"lundi")
    assert content_key(other) != content_key(MAIL)


def test_a_changed_identity_header_is_another_message() -> None:
    other = MAIL.replace(b"+0100", b"+0200")
    assert content_key(other) != content_key(MAIL)


def test_garbage_without_headers_gets_a_key_from_its_bytes() -> None:
    assert split_head_body(b"\x00\xff garbage") == (b"", b"\x00\xff garbage")
    assert content_key(b"\x00\xff garbage") != content_key(b"\x00\xff other")
