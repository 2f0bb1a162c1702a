"""SMTP acceptance: 20 concurrent clients send 5,000 messages to ``serve-smtp`` with its store on PostgreSQL.

``dossiermail serve-smtp`` runs in a subprocess on a fresh PostgreSQL database (dropped afterwards),
twice: without a broker (each message committed before its ``250``, then parsed and routed by the
server's background thread meanwhile) and with a Redis broker (the parse step is committed with the
message and handed to workers; none run here, so this is the cost of accepting alone). The baseline,
in the same run, is the same clients against a bare aiosmtpd server (also a subprocess) whose handler
answers ``250`` without storing anything, so the ratio shows what storage costs. Each client keeps
one SMTP connection and sends its share in turn; the latency of a message is the time from
``MAIL FROM`` to the ``250`` after its data. Every message sent must be in the store at the end.

Run with ``python -m bench.smtp_acceptance [--messages N] [--clients N] [--write-docs]``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.perfdoc import write_section

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"
RECIPIENT = "mimosas@cabinet-azur.example.fr"
SENDER = "paul.leroy@exemple.fr"
LINES = (
    "Bonjour, la porte du hall ne ferme plus depuis hier soir.",
    "Le technicien de l'ascenseur est passé ce matin, la pièce est commandée.",
    "Pouvez-vous me confirmer la date de l'assemblée générale ?",
    "Une fuite est apparue au plafond de la cave, côté escalier B.",
    "Merci de transmettre le devis au conseil syndical.",
)


@dataclass(frozen=True)
class Figures:
    """One server under the load."""

    name: str
    messages: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        """Messages accepted per second."""
        return self.messages / self.seconds

    def percentile(self, share: float) -> float:
        """Latency (ms) at ``share`` (0.5, 0.99)."""
        ranked = sorted(self.latencies)
        return 1000 * ranked[min(len(ranked) - 1, int(share * len(ranked)))]


def message(number: int) -> bytes:
    """A small unique French mail to the Mimosas."""
    body = "\r\n".join(LINES[(number + i) % len(LINES)] for i in range(3 + number % 20))
    return (
        f"Message-ID: <smtp-bench-{number}@exemple.fr>\r\nDate: Tue, 03 Mar 2026 10:00:00 +0100\r\n"
        f"From: Paul Leroy <{SENDER}>\r\nTo: {RECIPIENT}\r\nSubject: Signalement n° {number}\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def client(port: int, numbers: range) -> list[float]:
    """One connection sending ``numbers`` in turn; the latency of each message."""
    latencies = []
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as session:
        session.ehlo()
        for number in numbers:
            started = time.perf_counter()
            refused = session.sendmail(SENDER, [RECIPIENT], message(number))
            latencies.append(time.perf_counter() - started)
            if refused:
                raise RuntimeError(f"message {number} refused: {refused}")
    return latencies


def load(name: str, port: int, messages: int, clients: int) -> Figures:
    """``clients`` concurrent connections sending ``messages`` in all."""
    shares = [range(start, messages, clients) for start in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda share: client(port, share), shares))
    seconds = time.perf_counter() - started
    return Figures(name, messages, seconds, [latency for result in results for latency in result])


@contextmanager
def server(command: list[str], environment: dict[str, str]) -> Iterator[int]:
    """A server subprocess that prints ``… listening on host:port`` first; its port.

    Its log (a line a message) goes to a temporary file, shown only when it fails to start.
    """
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, env=environment)
        try:
            assert child.stdout is not None
            line = child.stdout.readline().decode().strip()
            if "listening on" not in line:
                log.seek(0)
                raise RuntimeError(f"{command[2:4]} did not start: {line!r} {log.read().decode()[-2000:]}")
            yield int(line.rsplit(":", 1)[1])
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database (its SQLAlchemy URL), dropped at the end."""
    name = f"dm_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def stored_count(url: str) -> int:
    """Raw messages in the store."""
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        row = connection.execute(b"SELECT count(*) FROM raw_messages").fetchone()
        return int(row[0]) if row else 0


def run(messages: int, clients: int) -> list[Figures]:
    """The bare aiosmtpd baseline, then serve-smtp on PostgreSQL (alone, then with a broker)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DOSSIERMAIL_BROKER", "DOSSIERMAIL_DB")}
    with server([sys.executable, "-m", "bench.smtp_acceptance", "--null-server"], environment) as port:
        rows = [load("aiosmtpd, 250 without storing (baseline)", port, messages, clients)]
    rows.append(ours("serve-smtp, parses and routes in-process", environment, messages, clients))
    prefix = f"bench_smtp_{secrets.token_hex(4)}"
    with_broker = {**environment, "DOSSIERMAIL_BROKER": REDIS, "DOSSIERMAIL_QUEUE_PREFIX": prefix}
    try:
        rows.append(ours("serve-smtp + Redis broker (workers parse)", with_broker, messages, clients))
    finally:
        forget_queues(prefix)
    return rows


def ours(name: str, environment: dict[str, str], messages: int, clients: int) -> Figures:
    """``serve-smtp`` on a fresh PostgreSQL database under the load; every message must be stored."""
    with fresh_database() as url:
        command = [sys.executable, "-m", "dossiermail", "serve-smtp", "--port", "0", "--db", url]
        with server([*command, "--rules", "rules"], environment) as port:
            figures = load(name, port, messages, clients)
            count = stored_count(url)
    if count != messages:
        raise RuntimeError(f"{name}: {count} messages stored, {messages} sent")
    return figures


def forget_queues(prefix: str) -> None:
    """Delete the bench's Redis queues (nobody consumes them)."""
    import redis

    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def null_server() -> None:
    """The baseline server: aiosmtpd answering 250 to every message, storing nothing."""
    import asyncio

    from aiosmtpd.smtp import SMTP, Envelope, Session

    class Accept:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
            return "250 2.0.0 Ok"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        listening = await loop.create_server(lambda: SMTP(Accept(), loop=loop), "127.0.0.1", 0)
        print(f"null SMTP listening on 127.0.0.1:{listening.sockets[0].getsockname()[1]}", flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        listening.close()

    asyncio.run(main())


def table(rows: list[Figures], clients: int) -> str:
    """The figures as a Markdown table; rates relative to the baseline (the first row)."""
    bare = rows[0]
    lines = [
        f"{bare.messages} messages, {clients} concurrent clients (one connection each), store on PostgreSQL.",
        "",
        "| server | msg/s | ratio to baseline | p50 to 250 | p99 to 250 |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.rate:.0f} | {row.rate / bare.rate:.2f}× "
            f"| {row.percentile(0.5):.1f} ms | {row.percentile(0.99):.1f} ms |"
        )
    lines += ["", "Target: none numeric in issue 7 (figures recorded; every message sent must be stored)."]
    return "\n".join(lines)


def main() -> None:
    """Measure, print, and optionally record in docs/performance.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    parser.add_argument("--null-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.null_server:
        null_server()
        return
    text = table(run(args.messages, args.clients), args.clients)
    print(text)
    if args.write_docs:
        stamp = time.strftime("%Y-%m-%d")
        title = f"## SMTP acceptance ({stamp}, `python -m bench.smtp_acceptance`)"
        write_section("smtp_acceptance", f"{title}\n\n{text}")


if __name__ == "__main__":
    main()
