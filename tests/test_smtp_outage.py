"""serve-smtp while its PostgreSQL becomes unreachable mid-session: only ``451``, then exactly once.

The shared PostgreSQL server is never stopped (other processes use it). The outage is made three ways:
a TCP proxy between the store and PostgreSQL that is cut (every connection closed, new ones refused)
or that goes silent (bytes swallowed, as in a network partition), and on the server side
``pg_terminate_backend`` on the store's connections with ``ALLOW_CONNECTIONS false`` on its database.
In every case the client must see only ``451`` for DATA (never ``250``, never a ``5xx``), the server
keeps serving, and once the database is back the client's resubmission is stored once and routed once.
"""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import psycopg
import pytest
from sqlalchemy import func, select

from dossiermail.ingest.smtp import SmtpSettings, serving
from dossiermail.rules import load_rules
from dossiermail.store import open_store
from dossiermail.store.models import DecisionRow, RawMessage
from tests.conftest import PG_ADMIN, RULES

MIMOSAS = "mimosas@cabinet-azur.example.fr"
SENDER = "paul.leroy@example.org"
SETTINGS = SmtpSettings(port=0, shutdown_grace=5, storage_timeout=3.0)
PG_PORT = 5432

pytestmark = pytest.mark.postgres


class PgProxy:
    """A TCP relay from a free local port to PostgreSQL that can be cut or silenced, then restored."""

    def __init__(self, target_port: int = PG_PORT) -> None:
        self.target_port = target_port
        self.mode = "open"  # "open" | "cut" (close and refuse) | "silent" (swallow every byte)
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept_loop, name="pg-proxy", daemon=True).start()

    def cut(self) -> None:
        """Close every relayed connection and refuse new ones."""
        self.mode = "cut"
        self._close_all()

    def silence(self) -> None:
        """Keep connections open but forward nothing: requests go unanswered."""
        self.mode = "silent"

    def restore(self) -> None:
        """Forward again; connections that were silenced are closed (their state is lost)."""
        if self.mode == "silent":
            self._close_all()
        self.mode = "open"

    def close(self) -> None:
        """Stop listening and close everything."""
        self._listener.close()
        self._close_all()

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _hard_close(sock)

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "cut":
                _hard_close(client)
                continue
            self._relay(client)

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            _hard_close(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._sockets.update((client, upstream))
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                if self.mode == "open":
                    sink.sendall(chunk)
        except OSError:
            pass
        _hard_close(source)
        _hard_close(sink)


def _hard_close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def mail(subject: str) -> str:
    """A small message to the Mimosas; the subject makes it unique."""
    return (
        f"Message-ID: <{abs(hash(subject))}.outage@example.org>\r\n"
        "Date: Tue, 03 Mar 2026 10:00:00 +0100\r\n"
        f"From: Paul Leroy <{SENDER}>\r\nTo: {MIMOSAS}\r\nSubject: {subject}\r\n\r\nBonjour.\r\n"
    )


def open_session(host: str, port: int) -> smtplib.SMTP:
    """A session up to an accepted recipient, ready for DATA."""
    client = smtplib.SMTP(host, port, timeout=60)
    client.ehlo()
    assert client.mail(SENDER)[0] == 250
    assert client.rcpt(MIMOSAS)[0] == 250
    return client


def send(host: str, port: int, message: str) -> int:
    """One whole session; the reply code to DATA."""
    with open_session(host, port) as client:
        return client.data(message)[0]


def counts(url: str, subject: str) -> tuple[int, int]:
    """(raw rows, current decisions) for the message with ``subject``, read without the proxy."""
    store = open_store(url, migrate=False)
    try:
        with store.session() as session:
            keys = [
                row.key for row in session.scalars(select(RawMessage)) if subject.encode() in (row.raw or b"")
            ]
            decisions = session.scalar(
                select(func.count())
                .select_from(DecisionRow)
                .where(DecisionRow.message_key.in_(keys), DecisionRow.superseded_at.is_(None))
            )
        return len(keys), int(decisions or 0)
    finally:
        store.dispose()


def wait_routed(url: str, subject: str, seconds: float = 30) -> tuple[int, int]:
    """Counts once the message has a decision (or after ``seconds``)."""
    deadline = time.monotonic() + seconds
    found = counts(url, subject)
    while found[1] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        found = counts(url, subject)
    return found


@contextmanager
def smtp_on(store_url: str) -> Iterator[tuple[str, int]]:
    """serve-smtp in a thread with its store at ``store_url``."""
    store = open_store(store_url)
    try:
        with serving(store, load_rules(RULES), SETTINGS) as address:
            yield address
    finally:
        store.dispose()


def through(proxy: PgProxy, url: str) -> str:
    """``url`` rewritten to go through ``proxy``."""
    return url.replace(f"127.0.0.1:{PG_PORT}/", f"127.0.0.1:{proxy.port}/")


@pytest.fixture
def proxy() -> Iterator[PgProxy]:
    relay = PgProxy()
    try:
        yield relay
    finally:
        relay.close()


def outage_gives_only_451(host: str, port: int, subject: str, start: Callable[[], None]) -> None:
    """An outage starting mid-session, then a new session during it: DATA answers 451 both times."""
    with open_session(host, port) as client:
        start()
        assert client.data(mail(subject)) == (451, b"4.3.0 Temporary storage failure, try again later")
        assert client.noop()[0] == 250  # the session itself is fine
    assert send(host, port, mail(subject)) == 451  # the sender's retry during the outage


def recovery_lands_once(url: str, host: str, port: int, subject: str) -> None:
    """After recovery the resubmission is accepted, a repeat is a duplicate, one row, one decision.

    A commit left hanging by a silent database may land once it answers again: the resubmission is
    then a duplicate of it, and the message is still stored once.
    """
    assert send(host, port, mail(subject)) == 250
    assert send(host, port, mail(subject)) == 250  # resent after a lost 250: still one row
    assert wait_routed(url, subject) == (1, 1)


@pytest.mark.parametrize("outage", ["cut", "silence"])
def test_a_network_outage_mid_session_gives_451_and_the_resubmission_lands_once(
    postgres_url: str, proxy: PgProxy, outage: str
) -> None:
    with smtp_on(through(proxy, postgres_url)) as (host, port):
        assert send(host, port, mail("avant la coupure")) == 250  # the pool holds a live connection
        started = time.monotonic()
        outage_gives_only_451(host, port, "pendant la coupure", getattr(proxy, outage))
        assert time.monotonic() - started < 3 * SETTINGS.storage_timeout + 10, "451 came too late"
        assert counts(postgres_url, "pendant la coupure") == (0, 0)  # read directly, not through the proxy
        proxy.restore()
        recovery_lands_once(postgres_url, host, port, "pendant la coupure")
        assert wait_routed(postgres_url, "avant la coupure") == (1, 1)


def _admin(statement: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(statement.encode())


def test_connections_terminated_and_refused_by_the_server_give_451_then_once(postgres_url: str) -> None:
    database = postgres_url.rsplit("/", 1)[1]

    def lock_out() -> None:
        _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")

    with smtp_on(postgres_url) as (host, port):
        assert send(host, port, mail("avant le verrou")) == 250
        try:
            outage_gives_only_451(host, port, "pendant le verrou", lock_out)
        finally:
            _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        assert counts(postgres_url, "pendant le verrou") == (0, 0)
        recovery_lands_once(postgres_url, host, port, "pendant le verrou")


def test_several_messages_in_one_session_are_all_accepted(postgres_url: str) -> None:
    """An MTA such as Postfix reuses a connection: the end of one DATA is no smuggling in the next."""
    with smtp_on(postgres_url) as (host, port), smtplib.SMTP(host, port, timeout=60) as client:
        for number in range(5):
            assert client.sendmail(SENDER, [MIMOSAS], mail(f"message {number} de la session")) == {}
    assert [counts(postgres_url, f"message {number} de la session")[0] for number in range(5)] == [1] * 5
