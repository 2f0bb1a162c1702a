"""Worker scaling: throughput of ``dossiermail worker`` with 1 and with 2 processes, PostgreSQL + Redis.

For each run a fresh PostgreSQL database and a fresh Redis queue prefix get the same generated mbox
(conversations of ten French mails to a building address, each from its own co-owner, going on at
the same time: route steps sharing a thread, a sender or a subject block wait for each other, see
``dossiermail.jobs.routelocks``) through ``dossiermail import`` with the
broker set, which only stores the raw bytes and queues one parse step a message. Then
``dossiermail worker --processes N`` drains the queue (parse → route → republish of the building);
the time is measured in the store, from the first step claimed to the last step finished (start-up
excluded). The ratio is the 2-process rate over the 1-process rate; the target is ≥ 1.6×.

Run with ``python -m bench.worker_scaling [--messages N] [--write-docs]``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import psycopg

from bench import cpu
from bench.cpu import CpuSplit
from bench.perfdoc import verdict, write_section
from bench.smtp_acceptance import REDIS, forget_queues, fresh_database

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.6
THREADS = 4
CONVERSATION = 10
START = datetime(2026, 1, 5, 8, tzinfo=UTC)
TOPICS = (
    "Fuite en cave",
    "Ascenseur en panne",
    "Devis ravalement",
    "Portail du parking",
    "Interphone muet",
    "Chaudière collective",
    "Nuisibles local poubelles",
    "Travaux toiture",
    "Badge perdu",
    "Éclairage escalier",
)


@dataclass(frozen=True)
class Run:
    """One worker configuration draining the same work."""

    processes: int
    messages: int
    steps: int
    failed: int
    seconds: float
    step_ms: dict[str, float]
    cpu: CpuSplit
    """CPU seconds from the first step claimed to the last finished: workers, PostgreSQL, Redis."""
    load: float
    waiting: float

    @property
    def rate(self) -> float:
        """Messages through the whole pipeline per second."""
        return self.messages / self.seconds

    @property
    def cores(self) -> float:
        """Cores kept busy on average by the workers, PostgreSQL and Redis together."""
        return self.cpu.total / self.seconds


def write_mbox(path: Path, messages: int) -> None:
    """Conversations of ``CONVERSATION`` mails (a question, then replies) to the Mimosas, one
    co-owner per conversation, all going on at once (a round of replies after the questions)."""
    threads = max(messages // CONVERSATION, 1)
    with path.open("w", encoding="utf-8") as out:
        for number in range(messages):
            position, thread = divmod(number, threads)
            subject = f"{TOPICS[thread % len(TOPICS)]} n° {thread}"
            date = START + timedelta(minutes=number * 7)
            header = f"In-Reply-To: <bench-{thread}-0@exemple.fr>\n" if position else ""
            sender = f"coproprietaire.{thread}@exemple.fr"
            out.write(
                f"From {sender} {date.strftime('%a %b %d %H:%M:%S %Y')}\n"
                f"From: Copropriétaire {thread} <{sender}>\nTo: mimosas@cabinet-azur.example.fr\n"
                f"Subject: {'RE: ' if position else ''}{subject}\nDate: {format_datetime(date)}\n"
                f"Message-ID: <bench-{thread}-{position}@exemple.fr>\n{header}"
                "Content-Type: text/plain; charset=utf-8\n\n"
                f"Bonjour,\nPoint {position} sur « {subject} » : l'entreprise repasse demain.\n"
                f"Cordialement,\nCopropriétaire {thread}\n\n"
            )


def environment(url: str, prefix: str, site: Path) -> dict[str, str]:
    """The commands' environment: this run's database, broker prefix and site."""
    return {
        **os.environ,
        "DOSSIERMAIL_DB": url,
        "DOSSIERMAIL_BROKER": REDIS,
        "DOSSIERMAIL_QUEUE_PREFIX": prefix,
        "DOSSIERMAIL_SITE": str(site),
    }


_PENDING = (
    b"SELECT count(*) FILTER (WHERE state NOT IN ('done', 'failed')), count(*),"
    b" count(*) FILTER (WHERE state = 'failed'), count(claimed_at) FROM job_steps"
)
_LOCK_WAITERS = (
    b"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    b" AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
)


def pending(url: str) -> tuple[int, int, int]:
    """(steps not finished, steps in all, dead-lettered steps)."""
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        left, total, failed, _ = _counts(connection)
    return left, total, failed


def _counts(connection: psycopg.Connection[tuple[int, ...]]) -> tuple[int, int, int, int]:
    """(steps not finished, in all, dead-lettered, ever claimed)."""
    row = connection.execute(_PENDING).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def step_times(url: str) -> dict[str, float]:
    """Mean milliseconds from claim to finish, per step kind (``parse``, ``route``, ``publish``)."""
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        rows = connection.execute(
            b"SELECT step, avg(EXTRACT(EPOCH FROM finished_at - claimed_at)) * 1000 FROM job_steps"
            b" WHERE state = 'done' GROUP BY step"
        ).fetchall()
    return {str(step): float(ms) for step, ms in rows}


def span(url: str) -> float:
    """Seconds from the first step claimed to the last step finished."""
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        row = connection.execute(
            b"SELECT EXTRACT(EPOCH FROM max(finished_at) - min(claimed_at)) FROM job_steps"
        ).fetchone()
    assert row is not None and row[0] is not None
    return float(row[0])


@contextmanager
def worker(processes: int, env: dict[str, str]) -> Iterator[int]:
    """``dossiermail worker`` running with ``processes`` processes (its pid), stopped with SIGTERM."""
    command = [sys.executable, "-m", "dossiermail", "worker", "--processes", str(processes)]
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(
            [*command, "--threads", str(THREADS), "--no-sweeper"], cwd=ROOT, env=env, stderr=log
        )
        try:
            yield child.pid
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=90)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@dataclass(frozen=True)
class Drained:
    """What the drain saw: route steps waiting for a lock (mean of the samples), and the CPU used
    from the first step claimed to the last finished (workers, PostgreSQL, Redis)."""

    waiting: float
    cpu: CpuSplit


def drain(url: str, worker_pid: int, timeout: float = 900) -> Drained:
    """Wait until every step is finished (done or dead-lettered), polling every 0.2 s on one
    connection (a new connection a poll would cost PostgreSQL a backend start each time)."""
    deadline = time.monotonic() + timeout
    samples: list[int] = []
    start: CpuSplit | None = None
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        while time.monotonic() < deadline:
            left, total, _, claimed = _counts(connection)
            if start is None and claimed:
                start = cpu.split(worker_pid)
            if total and not left:
                used = cpu.split(worker_pid).minus(start or cpu.split(worker_pid))
                return Drained(sum(samples) / max(len(samples), 1), used)
            row = connection.execute(_LOCK_WAITERS).fetchone()
            samples.append(int(row[0]) if row else 0)
            time.sleep(0.2)
    raise RuntimeError(f"steps still pending after {timeout:.0f}s")


def run_once(mbox: Path, messages: int, processes: int) -> Run:
    """Import (store and queue only), then drain the queue with ``processes`` worker processes."""
    prefix = f"bench_workers_{secrets.token_hex(4)}"
    with fresh_database() as url, tempfile.TemporaryDirectory() as tmp:
        env = environment(url, prefix, Path(tmp) / "site")
        try:
            imported = subprocess.run(
                [sys.executable, "-m", "dossiermail", "import", str(mbox), "--auto-dossiers", "--json"],
                cwd=ROOT, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if imported.returncode != 0:
                raise RuntimeError(f"import failed: {imported.stderr[-2000:]}")
            with worker(processes, env) as pid:
                drained = drain(url, pid)
                load = os.getloadavg()[0]
            _, steps, failed = pending(url)
            times = step_times(url)
            seconds, cpu_used = span(url), drained.cpu
            return Run(processes, messages, steps, failed, seconds, times, cpu_used, load, drained.waiting)
        finally:
            forget_queues(prefix)


def table(runs: list[Run]) -> str:
    """The figures as a Markdown table, with the target and the ceiling the cores set."""
    one, two = runs
    ratio = two.rate / one.rate
    cores = len(os.sched_getaffinity(0))
    lines = [
        f"{one.messages} messages (conversations of {CONVERSATION}, each from its own co-owner, all going on "
        f"at once), PostgreSQL + Redis, {THREADS} threads a process; time from the first step claimed to "
        "the last finished.",
        "",
        "CPU: seconds used over that time by the worker processes, the PostgreSQL server and Redis (read",
        "from /proc); cores busy: their sum over the time; load: the machine's 1-minute load average at the",
        f"end of the run ({cores} cores; other work on the machine counts); lock waits: route steps seen",
        "waiting for a route lock (mean of samples every 0.2 s).",
        "",
        "| processes | steps | dead-lettered | seconds | msg/s | mean ms a step (parse / route / publish) "
        "| CPU s: workers / PostgreSQL / Redis | cores busy | load | lock waits |",
        "|---:|---:|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in runs:
        means = " / ".join(f"{r.step_ms.get(step, 0):.0f}" for step in ("parse", "route", "publish"))
        split = f"{r.cpu.workers:.1f} / {r.cpu.database:.1f} / {r.cpu.broker:.1f}"
        lines.append(
            f"| {r.processes} | {r.steps} | {r.failed} | {r.seconds:.1f} | {r.rate:.1f} | {means} "
            f"| {split} | {r.cores:.2f} | {r.load:.1f} | {r.waiting:.2f} |"
        )
    lines += ["", f"Scaling 1 → 2 processes: {ratio:.2f}× (target ≥ {TARGET}×: {verdict(ratio >= TARGET)})."]
    return "\n".join([*lines, *ceiling(one, two, cores)])


def ceiling(one: Run, two: Run, cores: int) -> list[str]:
    """What the cores allow: the 2-process run cannot take less than its CPU seconds (workers,
    PostgreSQL, Redis) spread over every core, so its speed-up over the 1-process run is at most
    the 1-process time over that floor."""
    if not two.cpu.total:
        return []
    floor = two.cpu.total / cores
    share = two.cpu.database / two.cpu.workers if two.cpu.workers else 0.0
    return [
        f"Ceiling on this machine: the 2-process run used {two.cpu.total:.1f} CPU seconds, at least "
        f"{floor:.1f} s on {cores} cores, so against the 1-process run's {one.seconds:.1f} s the ratio "
        f"cannot exceed {one.seconds / floor:.2f}×; PostgreSQL used {share:.2f} s of CPU per second of "
        "the workers'.",
    ]


def main() -> None:
    """Measure, print, and optionally record in docs/performance.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        mbox = Path(tmp) / "conversations.mbox"
        write_mbox(mbox, args.messages)
        runs = [run_once(mbox, args.messages, processes) for processes in (1, 2)]
    text = table(runs)
    print(text)
    if args.write_docs:
        stamp = time.strftime("%Y-%m-%d")
        title = f"## Worker scaling ({stamp}, `python -m bench.worker_scaling`)"
        write_section("worker_scaling", f"{title}\n\n{text}")


if __name__ == "__main__":
    main()
