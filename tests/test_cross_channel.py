"""One mail, two channels: the manager's Cc reaches serve-smtp, the polled mailbox holds a copy.

The IMAP copy went through a delivery agent (Return-Path, Received, Delivered-To added, CRLF line
ends); the content key ignores transport headers, so the store keeps one message, whichever channel
arrives first. Real aiosmtpd server, real Dovecot, same store.
"""

from __future__ import annotations

import time

from imapclient import IMAPClient
from sqlalchemy import select

from dossiermail.ingest.imap import poll_once
from dossiermail.store import Store
from dossiermail.store.models import RawMessage
from tests import dovecot as dv
from tests.test_imap import FAST, account, mailbox_for, server, user
from tests.test_smtp import MIMOSAS, mail, send, smtp_server

__all__ = ["account", "server", "user"]  # pytest fixtures used by name below

MESSAGE = mail("[DDE-2026-014] Devis plomberie", "Bonjour, voici le devis.")


def _delivered_copy() -> bytes:
    """The same mail as a mailbox stores it after local delivery."""
    transport = (
        "Return-Path: <paul.leroy@example.org>\r\n"
        "Delivered-To: gestion@cabinet-azur.example.fr\r\n"
        "Received: from mx.cabinet-azur.example.fr by imap.cabinet-azur.example.fr; "
        "Tue, 03 Mar 2026 10:00:05 +0100\r\n"
    )
    return (transport + MESSAGE).encode()


def _settled(store: Store) -> None:
    """Wait for serve-smtp's background routing, so the test's own writes never race it on SQLite."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with store.session() as session:
            states = set(session.scalars(select(RawMessage.state)))
        if states <= {"routed", "quarantined"}:
            return
        time.sleep(0.1)
    raise AssertionError(f"messages still pending: {states}")


def _sources(store: Store) -> list[tuple[str, str]]:
    with store.session() as session:
        return [(r.channel, r.key) for r in session.scalars(select(RawMessage))]


def test_smtp_then_imap_copy_of_one_mail_is_stored_once(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_url: str
) -> None:
    with smtp_server(sqlite_url) as (store, host, port):
        code, _ = send(host, port, MESSAGE, to=MIMOSAS)
        assert code == 250
        _settled(store)
        user.append("INBOX", _delivered_copy())
        results = poll_once(store, [mailbox_for(server, account)], FAST)
        assert [(r.fetched, r.imported) for r in results] == [(1, 0)]
        assert [channel for channel, _ in _sources(store)] == ["smtp"]


def test_imap_then_smtp_copy_of_one_mail_is_stored_once(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_url: str
) -> None:
    with smtp_server(sqlite_url) as (store, host, port):
        user.append("INBOX", _delivered_copy())
        poll_once(store, [mailbox_for(server, account)], FAST)
        code, _ = send(host, port, MESSAGE, to=MIMOSAS)
        assert code == 250
        assert [channel for channel, _ in _sources(store)] == ["imap"]
