"""The IMAP poller: fetch new mail from configured folders, store it, then mark it seen or move it.

Per folder the store keeps UIDVALIDITY and the last UID committed (``MailboxState``). A new
UIDVALIDITY means the server renumbered the folder: every UID is fetched again and ``accept`` dedupes
by content key, so nothing is doubled. ``UID last+1:*`` always returns at least the folder's last
message, so UIDs at or below ``last`` are dropped. Bodies are fetched with ``BODY.PEEK[]`` (no
implicit ``\\Seen``); a batch is committed to the store *before* it is flagged ``\\Seen`` or moved, and
``last_uid`` advances only after that. A store failure leaves the server untouched.

``poll_once`` polls every folder once (cron); ``FolderWatcher.run`` keeps one folder up to date with
IDLE (renewed every ``idle_timeout`` seconds) or polling, reconnecting with capped exponential backoff.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from dossiermail.domain import RawMail
from dossiermail.ingest.accept import accept
from dossiermail.ingest.imap_config import ImapConfigFile, Mailbox
from dossiermail.store import Store
from dossiermail.store.models import MailboxState

log = logging.getLogger("dossiermail.imap")

SEEN = b"\\Seen"
BODY = b"BODY[]"
CONNECTION_ERRORS = (OSError, IMAPClientError)
RETRY_ERRORS = (*CONNECTION_ERRORS, SQLAlchemyError)

AfterBatch = Callable[[], None]


@dataclass
class FolderResult:
    """What one poll of one folder did."""

    account: str
    folder: str
    fetched: int = 0
    imported: int = 0
    duplicates: int = 0
    rescanned: bool = False


def connect(mailbox: Mailbox, timeout: float = 60.0) -> IMAPClient:
    """A logged-in client for ``mailbox`` (TLS or plain, as configured)."""
    config = mailbox.config
    client = IMAPClient(
        config.host, port=config.port, ssl=config.tls, timeout=SocketTimeout(connect=15, read=timeout)
    )
    try:
        client.login(config.user, mailbox.password)
    except BaseException:
        close(client)
        raise
    return client


def poll_folder(
    client: IMAPClient,
    store: Store,
    mailbox: Mailbox,
    folder: str,
    *,
    batch: int = 50,
    after_batch: AfterBatch | None = None,
) -> FolderResult:
    """Import the folder's new messages; each batch is committed before it is flagged or moved."""
    name = mailbox.config.name
    result = FolderResult(name, folder)
    info = client.select_folder(folder)
    last, result.rescanned = _start_uid(store, name, folder, int(info[b"UIDVALIDITY"]))
    # ``UID n:*`` returns the last message even when its UID is below n: drop those.
    uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
    for chunk in _chunks(uids, batch):
        _import_chunk(client, store, mailbox, folder, chunk, result)
        if after_batch is not None:
            after_batch()
    return result


def _import_chunk(
    client: IMAPClient, store: Store, mailbox: Mailbox, folder: str, uids: list[int], result: FolderResult
) -> None:
    fetched = client.fetch(uids, ["BODY.PEEK[]"])
    present = [uid for uid in uids if uid in fetched and BODY in fetched[uid]]
    now = datetime.now(UTC)
    with store.session() as session:  # commits here, or raises and nothing below happens
        for uid in present:
            source = f"imap:{mailbox.config.name}/{folder}/{uid}"
            mail = RawMail(raw=bytes(fetched[uid][BODY]), channel="imap", source=source, received_at=now)
            stored = accept(session, mail)
            result.duplicates += stored.duplicate
            result.imported += not stored.duplicate
    result.fetched += len(present)
    _after_store(client, mailbox, present)
    _advance(store, mailbox.config.name, folder, max(uids))


def _after_store(client: IMAPClient, mailbox: Mailbox, uids: list[int]) -> None:
    """Flag the stored messages ``\\Seen``, or move them to ``move_to``."""
    if not uids:
        return
    if mailbox.config.after == "seen":
        client.add_flags(uids, [SEEN], silent=True)
        return
    target = mailbox.config.move_to
    if client.has_capability("MOVE"):
        client.move(uids, target)
        return
    client.copy(uids, target)
    client.add_flags(uids, [b"\\Deleted"], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


def ensure_folders(client: IMAPClient, mailbox: Mailbox) -> None:
    """Create the ``move_to`` folder when the mailbox moves messages and it does not exist."""
    config = mailbox.config
    if config.after == "move" and not client.folder_exists(config.move_to):
        client.create_folder(config.move_to)


def _state(session: Session, account: str, folder: str) -> MailboxState | None:
    query = select(MailboxState).where(MailboxState.account == account, MailboxState.folder == folder)
    return session.scalar(query)


def _start_uid(store: Store, account: str, folder: str, uidvalidity: int) -> tuple[int, bool]:
    """The last UID already stored, or 0 (and a rescan) when UIDVALIDITY is new."""
    with store.session() as session:
        state = _state(session, account, folder)
        if state is not None and state.uidvalidity == uidvalidity:
            return state.last_uid, False
        if state is None:
            session.add(MailboxState(account=account, folder=folder, uidvalidity=uidvalidity, last_uid=0))
        else:
            log.warning("%s/%s: UIDVALIDITY changed, rescanning the folder", account, folder)
            state.uidvalidity, state.last_uid = uidvalidity, 0
            state.updated_at = datetime.now(UTC)
    return 0, state is not None


def _advance(store: Store, account: str, folder: str, uid: int) -> None:
    with store.session() as session:
        state = _state(session, account, folder)
        if state is not None and uid > state.last_uid:
            state.last_uid = uid
            state.updated_at = datetime.now(UTC)


def close(client: IMAPClient) -> None:
    """Log out politely; on a dead connection just drop the socket. Never raises."""
    try:
        client.logout()
    except (*CONNECTION_ERRORS, ValueError):
        with contextlib.suppress(OSError, ValueError):
            client.shutdown()


def _chunks(uids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def poll_once(
    store: Store, mailboxes: list[Mailbox], settings: ImapConfigFile, after_batch: AfterBatch | None = None
) -> list[FolderResult]:
    """Poll every folder of every mailbox once; connection and store errors propagate."""
    results: list[FolderResult] = []
    for mailbox in mailboxes:
        client = connect(mailbox)
        try:
            ensure_folders(client, mailbox)
            for folder in mailbox.config.folders:
                results.append(
                    poll_folder(client, store, mailbox, folder, batch=settings.batch, after_batch=after_batch)
                )
        finally:
            close(client)
    return results


@dataclass
class Backoff:
    """Exponential delays between reconnection attempts: 1, 2, 4 … seconds, capped."""

    cap: float
    first: float = 1.0
    current: float = 0.0

    def next(self) -> float:
        """The delay before the next attempt."""
        self.current = self.first if self.current == 0 else min(self.current * 2, self.cap)
        return self.current

    def reset(self) -> None:
        """A connection worked: start again from ``first``."""
        self.current = 0.0


@dataclass
class FolderWatcher:
    """Keeps one folder imported: poll, then IDLE (or sleep) until new mail, until ``stop`` is set."""

    store: Store
    mailbox: Mailbox
    folder: str
    settings: ImapConfigFile
    after_batch: AfterBatch | None = None

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop``; every connection or store error means reconnect after a backoff."""
        backoff = Backoff(self.settings.backoff_max)
        while not stop.is_set():
            try:
                self._session(stop, backoff)
            except RETRY_ERRORS as exc:
                delay = backoff.next()
                first = (str(exc).strip().splitlines() or [""])[0]
                log.warning("%s: %s: %s; retrying in %.0fs", self._where, type(exc).__name__, first, delay)
                stop.wait(delay)

    @property
    def _where(self) -> str:
        return f"{self.mailbox.config.name}/{self.folder}"

    def _session(self, stop: threading.Event, backoff: Backoff) -> None:
        client = connect(self.mailbox)
        try:
            ensure_folders(client, self.mailbox)
            idle = client.has_capability("IDLE")
            while not stop.is_set():
                self._poll(client)
                backoff.reset()
                if idle:
                    self._idle(client, stop)
                else:
                    stop.wait(self.settings.poll_interval)
                    client.noop()
        finally:
            close(client)

    def _poll(self, client: IMAPClient) -> None:
        result = poll_folder(
            client,
            self.store,
            self.mailbox,
            self.folder,
            batch=self.settings.batch,
            after_batch=self.after_batch,
        )
        if result.fetched:
            log.info("%s: %d fetched, %d new", self._where, result.fetched, result.imported)

    def _idle(self, client: IMAPClient, stop: threading.Event) -> None:
        """IDLE until something changes, ``stop`` is set, or ``idle_timeout`` asks for a renewal."""
        deadline = time.monotonic() + self.settings.idle_timeout
        client.idle()
        while not stop.is_set() and time.monotonic() < deadline:
            responses = client.idle_check(timeout=1)
            if any(_closed(response) for response in responses):
                raise ConnectionError("the server closed the connection (BYE)")
            if responses:
                break
        client.idle_done()


def _closed(response: tuple[object, ...]) -> bool:
    return len(response) > 0 and response[0] == b"BYE"
