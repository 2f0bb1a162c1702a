"""The IMAP poller against a real Dovecot: what it imports, what it flags, and what it never loses.

Each test gets its own Dovecot (``tests/dovecot.py``) on a free port with one user; mail is put
there with a real IMAP APPEND. Without Dovecot these tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from dossiermail.cli import main
from dossiermail.ingest.imap import FolderWatcher, poll_folder, poll_once
from dossiermail.ingest.imap_config import ImapConfigFile, Mailbox, MailboxConfig
from dossiermail.store import Store, open_store
from dossiermail.store.models import MailboxState, RawMessage
from tests import dovecot as dv
from tests.conftest import RULES

AZUR = "cabinet-azur.example.fr"
FAST = ImapConfigFile(idle_timeout=5, poll_interval=1, backoff_max=1)


def mail(n: int, subject: str = "Fuite au plafond du lot 12") -> bytes:
    """A small French message, unique by ``n``."""
    return (
        f"Message-ID: <imap-{n}@{AZUR}>\r\n"
        "Date: Tue, 03 Mar 2026 10:00:00 +0100\r\n"
        f"From: Claire Martin <claire.martin@{AZUR}>\r\n"
        f"To: mimosas@{AZUR}\r\n"
        f"Subject: [DDE-2026-014] {subject} ({n})\r\n"
        "\r\n"
        "Bonjour, merci de passer voir la fuite.\r\n"
    ).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[dv.Dovecot]:
    """A running throwaway Dovecot shared by this file's tests, removed at the end."""
    with dv.running() as instance:
        yield instance


@pytest.fixture
def account(server: dv.Dovecot) -> str:
    """A fresh, empty mailbox user for this test."""
    return server.new_user()


@pytest.fixture
def user(server: dv.Dovecot, account: str) -> Iterator[IMAPClient]:
    """The mailbox owner's own IMAP session, to append mail and look at flags."""
    client = IMAPClient(server.host, server.port, ssl=False, timeout=10)
    client.login(account, dv.PASSWORD)
    yield client
    try:
        client.logout()
    except Exception:  # the test may have restarted the server under it
        client.shutdown()


def mailbox_for(server: dv.Dovecot, account: str, **changes: object) -> Mailbox:
    """The poller's view of ``account``'s mailbox."""
    fields: dict[str, object] = {
        "name": "cabinet",
        "host": server.host,
        "port": server.port,
        "tls": False,
        "user": account,
        "password_env": "DM_TEST_IMAP_PASSWORD",
    }
    fields.update(changes)
    return Mailbox(MailboxConfig.model_validate(fields), dv.PASSWORD)


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    """A fresh SQLite store."""
    opened = open_store(sqlite_url)
    yield opened
    opened.dispose()


def stored(store: Store) -> list[tuple[str, str]]:
    """(channel, source) of every stored raw message."""
    with store.session() as session:
        rows = session.execute(select(RawMessage.channel, RawMessage.source).order_by(RawMessage.source))
        return [(channel, source) for channel, source in rows]


def last_uid(store: Store, folder: str = "INBOX") -> int | None:
    with store.session() as session:
        query = select(MailboxState.last_uid).where(MailboxState.folder == folder)
        return session.scalar(query)


def flags(client: IMAPClient, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
    client.select_folder(folder, readonly=True)
    uids = client.search("ALL")
    return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()} if uids else {}


def eventually(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_once_imports_new_mail_and_marks_it_seen_only_afterwards(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_store: Store
) -> None:
    user.append("INBOX", mail(1))
    user.append("INBOX", mail(2))

    results = poll_once(sqlite_store, [mailbox_for(server, account)], FAST)

    assert [(r.fetched, r.imported) for r in results] == [(2, 2)]
    assert stored(sqlite_store) == [("imap", "imap:cabinet/INBOX/1"), ("imap", "imap:cabinet/INBOX/2")]
    assert all(b"\\Seen" in f for f in flags(user).values())
    assert last_uid(sqlite_store) == 2


def test_polling_again_without_new_mail_fetches_nothing_despite_the_uid_star_trap(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_store: Store
) -> None:
    mailbox = mailbox_for(server, account)
    user.append("INBOX", mail(1))
    poll_once(sqlite_store, [mailbox], FAST)

    # "UID 2:*" still answers UID 1 (the last message): the poller must drop it.
    assert user.select_folder("INBOX") and user.search(["UID", "2:*"]) == [1]
    again = poll_once(sqlite_store, [mailbox], FAST)
    user.append("INBOX", mail(2))
    third = poll_once(sqlite_store, [mailbox], FAST)

    assert [r.fetched for r in again] == [0]
    assert [(r.fetched, r.imported) for r in third] == [(1, 1)]
    assert len(stored(sqlite_store)) == 2
    assert last_uid(sqlite_store) == 2


def test_the_same_mail_in_two_folders_is_stored_once(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_store: Store
) -> None:
    user.create_folder("Dossiers")
    user.append("INBOX", mail(1))
    user.append("Dossiers", mail(1))

    results = poll_once(sqlite_store, [mailbox_for(server, account, folders=["INBOX", "Dossiers"])], FAST)

    assert [(r.folder, r.imported, r.duplicates) for r in results] == [("INBOX", 1, 0), ("Dossiers", 0, 1)]
    assert stored(sqlite_store) == [("imap", "imap:cabinet/INBOX/1")]
    assert all(b"\\Seen" in f for f in flags(user, "Dossiers").values())


def test_a_new_uidvalidity_rescans_the_folder_and_dedupes(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_store: Store
) -> None:
    mailbox = mailbox_for(server, account, folders=["Dossiers"])
    user.create_folder("Dossiers")
    user.append("Dossiers", mail(1))
    user.append("Dossiers", mail(2))
    poll_once(sqlite_store, [mailbox], FAST)

    user.delete_folder("Dossiers")  # recreated: new UIDVALIDITY, UIDs start again at 1
    user.create_folder("Dossiers")
    for n in (1, 2, 3):
        user.append("Dossiers", mail(n))
    [result] = poll_once(sqlite_store, [mailbox], FAST)

    assert result.rescanned
    assert (result.fetched, result.imported, result.duplicates) == (3, 1, 2)
    assert len(stored(sqlite_store)) == 3
    assert last_uid(sqlite_store, "Dossiers") == 3


def test_move_mode_moves_stored_mail_to_the_traite_folder(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_store: Store
) -> None:
    user.append("INBOX", mail(1))

    poll_once(sqlite_store, [mailbox_for(server, account, after="move")], FAST)

    assert flags(user, "INBOX") == {}
    assert len(flags(user, "Traité")) == 1
    assert len(stored(sqlite_store)) == 1


@pytest.fixture
def broken_store(store: Store) -> Iterator[Callable[[bool], None]]:
    """Make the raw_messages table disappear (True) or come back (False), on SQLite and PostgreSQL."""

    def set_broken(broken: bool) -> None:
        old, new = ("raw_messages", "raw_messages_away") if broken else ("raw_messages_away", "raw_messages")
        with store.engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))

    yield set_broken


def test_nothing_is_marked_seen_when_the_store_fails(
    server: dv.Dovecot, user: IMAPClient, account: str, store: Store, broken_store: Callable[[bool], None]
) -> None:
    mailbox = mailbox_for(server, account)
    user.append("INBOX", mail(1))
    broken_store(True)

    with pytest.raises(SQLAlchemyError):
        poll_once(store, [mailbox], FAST)

    assert flags(user) == {1: ()}
    assert not last_uid(store)
    broken_store(False)
    [result] = poll_once(store, [mailbox], FAST)
    assert result.imported == 1
    assert b"\\Seen" in flags(user)[1]


def watch(store: Store, mailbox: Mailbox, settings: ImapConfigFile = FAST) -> Iterator[threading.Thread]:
    """The loop-mode watcher of INBOX running in a thread, stopped and joined afterwards."""
    stop = threading.Event()
    thread = threading.Thread(target=FolderWatcher(store, mailbox, "INBOX", settings).run, args=(stop,))
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=15)
        assert not thread.is_alive(), "the watcher did not stop within 15 s"


def count(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(RawMessage)) or 0)


def test_loop_mode_picks_up_new_mail_with_idle_within_seconds(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_store: Store
) -> None:
    user.append("INBOX", mail(1))
    for _ in watch(sqlite_store, mailbox_for(server, account)):
        assert eventually(lambda: count(sqlite_store) == 1, 5)
        time.sleep(0.5)  # the watcher is now in IDLE
        started = time.monotonic()
        user.append("INBOX", mail(2))
        assert eventually(lambda: count(sqlite_store) == 2, 5)
        assert time.monotonic() - started < 5
        assert eventually(lambda: all(b"\\Seen" in f for f in flags(user).values()), 5)


def test_idle_is_renewed_and_still_sees_mail_arriving_after_several_renewals(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_store: Store
) -> None:
    renewing_every_second = ImapConfigFile(idle_timeout=1, poll_interval=1, backoff_max=1)
    for _ in watch(sqlite_store, mailbox_for(server, account), renewing_every_second):
        time.sleep(3.5)
        user.append("INBOX", mail(1))
        assert eventually(lambda: count(sqlite_store) == 1, 5)


def test_loop_mode_reconnects_after_the_server_restarts(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_store: Store
) -> None:
    user.append("INBOX", mail(1))
    for _ in watch(sqlite_store, mailbox_for(server, account)):
        assert eventually(lambda: count(sqlite_store) == 1, 5)
        server.restart()
        with IMAPClient(server.host, server.port, ssl=False, timeout=10) as again:
            again.login(account, dv.PASSWORD)
            again.append("INBOX", mail(2))
        assert eventually(lambda: count(sqlite_store) == 2, 20), server.log()[-2000:]


def test_poll_folder_advances_only_past_what_it_stored(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_store: Store
) -> None:
    for n in range(1, 6):
        user.append("INBOX", mail(n))
    client = IMAPClient(server.host, server.port, ssl=False, timeout=10)
    client.login(account, dv.PASSWORD)
    batches: list[int] = []
    try:
        result = poll_folder(
            client,
            sqlite_store,
            mailbox_for(server, account),
            "INBOX",
            batch=2,
            after_batch=lambda: batches.append(last_uid(sqlite_store) or 0),
        )
    finally:
        client.logout()

    assert result.fetched == 5
    assert batches == [2, 4, 5]


def test_cli_once_imports_routes_and_reports(
    server: dv.Dovecot,
    user: IMAPClient,
    account: str,
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DM_TEST_IMAP_PASSWORD", dv.PASSWORD)
    config = tmp_path / "imap.yaml"
    config.write_text(
        "mailboxes:\n"
        f"  - {{name: cabinet, host: {server.host}, port: {server.port}, tls: false,\n"
        f"     user: {account}, password_env: DM_TEST_IMAP_PASSWORD, folders: [INBOX]}}\n"
    )
    user.append("INBOX", mail(1))

    with pytest.raises(SystemExit) as done:
        main(["poll-imap", "--config", str(config), "--once", "--rules", str(RULES), "--db", sqlite_url])

    assert done.value.code == 0
    assert "cabinet/INBOX: 1 fetched, 1 new, 0 duplicates" in capsys.readouterr().out
    store = open_store(sqlite_url)
    try:
        with store.session() as session:
            assert session.scalars(select(RawMessage.state)).all() == ["routed"]
    finally:
        store.dispose()


def test_the_command_in_loop_mode_imports_and_stops_cleanly_on_sigterm(
    server: dv.Dovecot, user: IMAPClient, account: str, sqlite_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "imap.yaml"
    config.write_text(
        "idle_timeout: 5\n"
        "mailboxes:\n"
        f"  - {{name: cabinet, host: {server.host}, port: {server.port}, tls: false,\n"
        f"     user: {account}, password_file: {tmp_path}/secret}}\n"
    )
    (tmp_path / "secret").write_text(dv.PASSWORD + "\n")
    user.append("INBOX", mail(1))
    command = [sys.executable, "-m", "dossiermail", "poll-imap", "--config", str(config)]
    poller = subprocess.Popen(
        [*command, "--rules", str(RULES), "--db", sqlite_url], stderr=subprocess.PIPE, text=True
    )
    try:
        store = open_store(sqlite_url)
        assert eventually(lambda: count(store) == 1, 15)
        user.append("INBOX", mail(2))
        assert eventually(lambda: count(store) == 2, 10)
        store.dispose()
    finally:
        poller.send_signal(signal.SIGTERM)
        _, errors = poller.communicate(timeout=15)

    assert poller.returncode == 0, errors
    assert "signal 15: stopping" in errors
