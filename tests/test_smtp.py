"""serve-smtp: real SMTP sessions over TCP against the running server, with the example rules.

Each test starts the server in-process on a free port with a fresh store (SQLite, and PostgreSQL where
marked) and talks to it with the stdlib's smtplib or a raw socket.
"""

from __future__ import annotations

import io
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from dossiermail.ingest.smtp import SmtpSettings, serving, smuggling_attempt, tls_context
from dossiermail.rules import load_rules
from dossiermail.store import Store, open_store
from dossiermail.store.models import DecisionRow, RawMessage
from tests.conftest import ROOT, RULES

AZUR = "cabinet-azur.example.fr"
MIMOSAS = f"mimosas@{AZUR}"
SENDER = "paul.leroy@example.org"
FREE_PORT = SmtpSettings(port=0, shutdown_grace=5)


def mail(subject: str = "Fuite au plafond du lot 12", body: str = "Bonjour, l'eau coule.") -> str:
    """A small plain-text message from a co-owner to the Mimosas."""
    return (
        f"Message-ID: <{abs(hash(subject + body))}@example.org>\r\n"
        "Date: Tue, 03 Mar 2026 10:00:00 +0100\r\n"
        f"From: Paul Leroy <{SENDER}>\r\nTo: {MIMOSAS}\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    )


@contextmanager
def smtp_server(url: str, settings: SmtpSettings = FREE_PORT) -> Iterator[tuple[Store, str, int]]:
    """A store at ``url`` and the server listening on a free port, stopped at the end."""
    store = open_store(url)
    try:
        with serving(store, load_rules(RULES), settings) as (host, port):
            yield store, host, port
    finally:
        store.dispose()


@pytest.fixture
def server(sqlite_url: str) -> Iterator[tuple[Store, str, int]]:
    with smtp_server(sqlite_url) as running:
        yield running


def stored(store: Store) -> list[RawMessage]:
    """Every stored raw message, bytes loaded."""
    with store.session() as session:
        rows = list(session.scalars(select(RawMessage)))
        for row in rows:
            assert row.raw is not None
        return rows


def send(host: str, port: int, message: str, to: str = MIMOSAS) -> tuple[int, bytes]:
    """One whole SMTP session; returns the reply to DATA."""
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.ehlo()
        client.mail(SENDER)
        client.rcpt(to)
        return client.data(message)


def test_mail_for_a_building_address_is_stored_with_its_envelope_before_250(
    server: tuple[Store, str, int],
) -> None:
    store, host, port = server
    code, reply = send(host, port, mail())
    assert code == 250
    assert reply.startswith(b"2.0.0 Ok: queued as ")
    [row] = stored(store)
    assert (row.channel, row.envelope_from, list(row.envelope_to)) == ("smtp", SENDER, [MIMOSAS])
    assert row.source == "smtp:127.0.0.1"
    assert reply.endswith(row.key[:12].encode())
    assert b"l'eau coule" in row.raw


@pytest.mark.parametrize(
    "recipient", [f"dossiers+les-mimosas@{AZUR}", f"Dossiers+Le-Belvedere+DDE-2026-014@{AZUR}"]
)
def test_dossier_plus_addresses_of_known_buildings_are_accepted(
    server: tuple[Store, str, int], recipient: str
) -> None:
    _, host, port = server
    assert send(host, port, mail(), to=recipient)[0] == 250


@pytest.mark.parametrize(
    "recipient",
    ["someone@gmail.example", f"dossiers+les-tilleuls@{AZUR}", f"dossiers@{AZUR}", f"postmaster@{AZUR}"],
)
def test_any_other_recipient_gets_550_and_nothing_is_stored(
    server: tuple[Store, str, int], recipient: str
) -> None:
    store, host, port = server
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.ehlo()
        client.mail(SENDER)
        code, reply = client.rcpt(recipient)
        assert (code, reply[:5]) == (550, b"5.1.1")
        with pytest.raises(smtplib.SMTPDataError) as no_data:
            client.data(mail())
        assert no_data.value.smtp_code == 503  # no valid recipient, no DATA
    assert stored(store) == []


def test_a_message_over_the_size_limit_gets_552_and_nothing_is_stored(sqlite_url: str) -> None:
    with smtp_server(sqlite_url, replace(FREE_PORT, max_size=2000)) as (store, host, port):
        code, reply = send(host, port, mail(body=("x" * 70 + "\r\n") * 100))
        assert (code, reply[:5]) == (552, b"5.3.4")
        with smtplib.SMTP(host, port, timeout=30) as client:  # declared SIZE: refused at MAIL FROM
            client.ehlo()
            assert client.mail(SENDER, ["SIZE=5000"])[0] == 552
        assert stored(store) == []


def test_more_recipients_than_the_cap_get_452(sqlite_url: str) -> None:
    with smtp_server(sqlite_url, replace(FREE_PORT, max_recipients=2)) as (_, host, port):
        client = smtplib.SMTP(host, port, timeout=30)
        client.ehlo()
        client.mail(SENDER)
        assert client.rcpt(MIMOSAS)[0] == 250
        assert client.rcpt(f"belvedere@{AZUR}")[0] == 250
        assert client.rcpt(f"carabacel@{AZUR}") == (452, b"4.5.3 Too many recipients")
        client.quit()


def test_sessions_over_the_cap_are_told_to_come_back_later(sqlite_url: str) -> None:
    with smtp_server(sqlite_url, replace(FREE_PORT, max_sessions=1)) as (_, host, port):
        with smtplib.SMTP(host, port, timeout=30) as first:
            first.ehlo()
            with pytest.raises(smtplib.SMTPConnectError) as refused:
                smtplib.SMTP(host, port, timeout=30)
            assert refused.value.smtp_code == 421
        assert send(host, port, mail())[0] == 250


def raw_session(host: str, port: int, data: bytes) -> list[bytes]:
    """Speak SMTP by hand, sending ``data`` verbatim after DATA; returns every reply line."""
    with socket.create_connection((host, port), timeout=30) as sock:
        stream = sock.makefile("rb")
        replies = [stream.readline()]
        for command in (
            b"EHLO test\r\n",
            f"MAIL FROM:<{SENDER}>\r\n".encode(),
            f"RCPT TO:<{MIMOSAS}>\r\n".encode(),
        ):
            sock.sendall(command)
            replies.append(_reply(stream))
        sock.sendall(b"DATA\r\n")
        replies.append(_reply(stream))
        sock.sendall(data)
        replies.append(_reply(stream))
        sock.sendall(b"QUIT\r\n")
        replies.append(_reply(stream))
        return replies


def _reply(stream: io.BufferedReader) -> bytes:
    lines = []
    while True:
        line = stream.readline()
        lines.append(line)
        if line[3:4] != b"-":
            return b"".join(lines)


@pytest.mark.parametrize("end_of_data_trick", [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\r\n"])
def test_an_smtp_smuggling_attempt_is_refused_and_nothing_is_stored(
    server: tuple[Store, str, int], end_of_data_trick: bytes
) -> None:
    store, host, port = server
    smuggled = (
        b"From: " + SENDER.encode() + b"\r\nSubject: hello\r\n\r\nhello" + end_of_data_trick
        + b"MAIL FROM:<boss@" + AZUR.encode() + b">\r\nRCPT TO:<" + MIMOSAS.encode() + b">\r\n"
        + b"DATA\r\nFrom: boss@" + AZUR.encode() + b"\r\nSubject: virement urgent\r\n\r\npayez\r\n.\r\n"
    )  # fmt: skip
    replies = raw_session(host, port, smuggled)
    assert replies[-2].startswith(b"550 5.6.0")
    assert stored(store) == []


def test_a_line_over_1000_octets_is_refused_and_nothing_is_stored(server: tuple[Store, str, int]) -> None:
    store, host, port = server
    replies = raw_session(host, port, b"Subject: long\r\n\r\n" + b"x" * 2000 + b"\r\n.\r\n")
    assert replies[-2].startswith(b"500 Line too long")
    assert stored(store) == []


def test_an_idle_client_is_disconnected_after_the_command_timeout(sqlite_url: str) -> None:
    with (
        smtp_server(sqlite_url, replace(FREE_PORT, timeout=0.5)) as (_, host, port),
        socket.create_connection((host, port), timeout=10) as sock,
    ):
        assert sock.recv(1024).startswith(b"220 ")
        time.sleep(1)
        assert sock.recv(1024) == b""  # closed by the server


def test_shutdown_waits_a_bounded_time_for_idle_sessions(sqlite_url: str) -> None:
    with smtplib.SMTP() as client:
        with smtp_server(sqlite_url, replace(FREE_PORT, shutdown_grace=1)) as (_, host, port):
            client.connect(host, port)
            client.ehlo()
            started = time.monotonic()
        assert time.monotonic() - started < 5
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()


def test_a_dot_line_between_proper_crlf_is_ordinary_content() -> None:
    assert not smuggling_attempt(b"Subject: x\r\n\r\nfirst\r\n.\r\nlast\r\n")
    assert not smuggling_attempt(b"Subject: x\r\n\r\nbare LF lines\nare\nnot smuggling\r\n")
    assert smuggling_attempt(b"Subject: x\r\n\r\nfirst\n.\nlast\r\n")


def test_twenty_concurrent_sessions_are_all_accepted_and_stored(server: tuple[Store, str, int]) -> None:
    store, host, port = server
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda n: send(host, port, mail(f"Message {n}"))[0], range(20)))
    assert codes == [250] * 20
    assert len(stored(store)) == 20


def test_the_same_message_sent_twice_is_stored_once(server: tuple[Store, str, int]) -> None:
    store, host, port = server
    first, second = send(host, port, mail()), send(host, port, mail())
    assert first == second
    assert first[0] == 250
    assert len(stored(store)) == 1


def test_an_accepted_message_is_routed_shortly_after(server: tuple[Store, str, int]) -> None:
    store, host, port = server
    assert send(host, port, mail())[0] == 250
    [row] = stored(store)
    deadline = time.monotonic() + 20
    decision = None
    while decision is None and time.monotonic() < deadline:
        time.sleep(0.1)
        with store.session() as session:
            decision = session.scalar(select(DecisionRow.outcome).where(DecisionRow.message_key == row.key))
    assert decision == "needs_review", "no routing decision within 20 s"  # building known, no dossier
    assert stored(store)[0].state == "routed"


def _psql(url: str, statement: str) -> None:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute(statement.encode())


@pytest.mark.postgres
def test_a_storage_failure_mid_session_answers_451_and_the_resubmission_lands_once(
    postgres_url: str,
) -> None:
    with smtp_server(postgres_url) as (store, host, port):
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.ehlo()
            client.mail(SENDER)
            client.rcpt(MIMOSAS)
            _psql(postgres_url, "ALTER TABLE raw_messages RENAME TO raw_messages_away")
            try:
                code, reply = client.data(mail())
            finally:
                _psql(postgres_url, "ALTER TABLE raw_messages_away RENAME TO raw_messages")
        assert (code, reply) == (451, b"4.3.0 Temporary storage failure, try again later")
        assert stored(store) == []
        assert send(host, port, mail())[0] == 250  # the sender's retry
        assert send(host, port, mail())[0] == 250  # and a second one, after a lost 250
        assert len(stored(store)) == 1


@pytest.mark.postgres
def test_database_connections_cut_between_sessions_are_reopened(postgres_url: str) -> None:
    with smtp_server(postgres_url) as (store, host, port):
        assert send(host, port, mail("first"))[0] == 250
        database = postgres_url.rsplit("/", 1)[1]
        _psql(
            postgres_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{database}' AND pid <> pg_backend_pid()",
        )
        assert send(host, port, mail("second"))[0] == 250
        assert len(stored(store)) == 2


def test_an_internationalized_sender_is_accepted(server: tuple[Store, str, int]) -> None:
    store, host, port = server
    message = mail().replace(SENDER, "rené.dupré@exemple.fr").encode()
    with smtplib.SMTP(host, port, timeout=30) as client:
        refused = client.sendmail("rené.dupré@exemple.fr", [MIMOSAS], message, mail_options=["SMTPUTF8"])
    assert refused == {}
    assert stored(store)[0].envelope_from == "rené.dupré@exemple.fr"


def test_the_command_announces_itself_and_sigterm_lets_the_session_in_flight_finish(
    sqlite_url: str,
) -> None:
    command = [sys.executable, "-m", "dossiermail", "serve-smtp", "--port", "0", "--db", sqlite_url]
    server = subprocess.Popen(
        [*command, "--rules", str(RULES)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline().decode()
        assert line.startswith("dossiermail: SMTP listening on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.ehlo()
            client.mail(SENDER)
            server.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            with pytest.raises(OSError):  # no longer listening
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            client.rcpt(MIMOSAS)
            assert client.data(mail())[0] == 250
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    store = open_store(sqlite_url)
    try:
        assert len(stored(store)) == 1
    finally:
        store.dispose()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for localhost, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
    ]
    subprocess.run(
        [*request, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_starttls_is_offered_with_a_configured_certificate(sqlite_url: str, tmp_path: Path) -> None:
    settings = replace(FREE_PORT, tls_context=tls_context(*self_signed(tmp_path)))
    with smtp_server(sqlite_url, settings) as (store, host, port):
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            client.starttls(context=ssl._create_unverified_context())
            client.ehlo()
            client.mail(SENDER)
            client.rcpt(MIMOSAS)
            assert client.data(mail())[0] == 250
        assert len(stored(store)) == 1


def test_several_messages_on_one_connection_are_all_accepted(server: tuple[Store, str, int]) -> None:
    """Postfix reuses connections: the end of one message must not look like smuggling to the next."""
    store, host, port = server
    with smtplib.SMTP(host, port, timeout=30) as client:
        for number in range(3):
            refused = client.sendmail(SENDER, [MIMOSAS], mail(subject=f"Message {number} de la session"))
            assert refused == {}
        code, _ = client.rset()
        assert code == 250
    assert len(stored(store)) == 3
