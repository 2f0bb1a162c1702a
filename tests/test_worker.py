"""``dossiermail worker`` on real Redis and real RabbitMQ, with the store on PostgreSQL.

A worker killed with SIGKILL mid-batch loses nothing and doubles nothing once a new worker and its
sweeper run; a step that keeps failing is retried with backoff, dead-lettered, listed and revived;
``dossiermail status`` reports it and exits non-zero meanwhile; SIGTERM stops a worker cleanly;
the workers publish one step a building and leave the site a full publication writes.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dossiermail.commands.exporting import message_records
from dossiermail.store import Store, open_store
from dossiermail.store.models import DecisionRow, DossierRow, JobStep, RawMessage
from dossiermail.timeline.build import build_timeline
from tests import dovecot as dv
from tests.conftest import RULES, SAMPLES, service_missing

REDIS = ("127.0.0.1", 6379)
RABBITMQ = ("127.0.0.1", 5672)
REDIS_DB = 13  # the workers' tests only; keys are under a per-test namespace too
PATIENCE = 600.0
"""Seconds a test waits for a condition before failing: generous, for a machine under load (a
condition met returns at once, so a passing test takes no longer)."""


@dataclass(frozen=True)
class Broker:
    """A broker for one test: the environment the commands run with."""

    kind: str
    env: dict[str, str]
    prefix: str


def _reachable(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest, postgres_url: str, tmp_path: Path) -> Iterator[Broker]:
    """Each real broker in turn."""
    yield from _broker(str(request.param), postgres_url, tmp_path)


@pytest.fixture
def redis_broker(postgres_url: str, tmp_path: Path) -> Iterator[Broker]:
    """Redis only (for what does not depend on the broker)."""
    yield from _broker("redis", postgres_url, tmp_path)


def _broker(kind: str, postgres_url: str, tmp_path: Path) -> Iterator[Broker]:
    """A real broker with queues of its own (per-test prefix), emptied and removed afterwards."""
    prefix = f"dmtest_{secrets.token_hex(4)}"
    if kind == "redis":
        if not _reachable(REDIS):
            service_missing("Redis at 127.0.0.1:6379")
        url = f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"
    else:
        if not _reachable(RABBITMQ):
            service_missing("RabbitMQ at 127.0.0.1:5672")
        url = f"amqp://guest:guest@{RABBITMQ[0]}:{RABBITMQ[1]}/%2F"
    env = {
        **os.environ,
        "DOSSIERMAIL_BROKER": url,
        "DOSSIERMAIL_QUEUE_PREFIX": prefix,
        "DOSSIERMAIL_DB": postgres_url,
        "DOSSIERMAIL_SITE": str(tmp_path / "site"),
        # long enough that a step slowed down by a loaded machine keeps its claim (an expired lease
        # costs an attempt), short enough that the steps of a killed worker come back soon
        "DOSSIERMAIL_JOB_LEASE": "20",
        "DOSSIERMAIL_JOB_ACK_TIMEOUT": "10",
        "DOSSIERMAIL_SWEEP_INTERVAL": "1",
        "DOSSIERMAIL_JOB_BACKOFF": "0.3",
        "DOSSIERMAIL_JOB_ATTEMPTS": "3",
    }
    try:
        yield Broker(kind, env, prefix)
    finally:
        _clean(kind, url, prefix)


def _clean(kind: str, url: str, prefix: str) -> None:
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
        return
    import pika  # type: ignore[import-untyped]

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    for step in ("parse", "route", "publish"):
        for suffix in ("", ".DQ", ".XQ"):
            channel.queue_delete(f"{prefix}.{step}{suffix}")
    connection.close()


def _cli(broker: Broker, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "dossiermail", *args],
        env=broker.env,
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def _start_worker(broker: Broker, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``dossiermail worker`` and wait until it has synced the rules and started its processes."""
    before = log.read_text().count(" worker: ") if log.exists() else 0
    with log.open("ab") as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "dossiermail", "worker", "--rules", str(RULES), *args],
            env=broker.env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # SIGKILL of the group = the machine losing power
        )

    def started() -> bool:
        return log.read_text().count(" worker: ") > before or worker.poll() is not None

    _wait(started, PATIENCE, "start", log)
    assert worker.poll() is None, log.read_text()[-3000:]
    return worker


def _steps(store: Store) -> Counter[str]:
    with store.sessions() as session:
        rows = session.execute(select(JobStep.state, func.count()).group_by(JobStep.state))
        return Counter({str(state): int(count) for state, count in rows})


def _routed(store: Store) -> int:
    """Messages routed so far (by their parse step, or by a route step when their locks were busy)."""
    with store.sessions() as session:
        return int(session.scalar(select(func.count()).where(RawMessage.state == "routed")) or 0)


def _wait(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds with the worker's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


def _all_done(store: Store) -> bool:
    states = _steps(store)
    return states["done"] > 0 and not (states["pending"] or states["running"])


def _expected() -> dict[str, tuple[str, str | None, str | None]]:
    lines = (SAMPLES / "expected.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return {r["file"]: (r["outcome"], r["building"], r["dossier"]) for r in records}


def _stop(worker: subprocess.Popen[bytes]) -> int:
    os.killpg(worker.pid, signal.SIGTERM)
    return worker.wait(PATIENCE)


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(broker: Broker, tmp_path: Path) -> None:
    store = open_store(broker.env["DOSSIERMAIL_DB"])
    log = tmp_path / "worker.log"
    first = _start_worker(broker, log, "--processes", "1", "--threads", "1")
    try:
        _cli(broker, "import", str(SAMPLES), "--rules", str(RULES), "--quiet")
        _wait(lambda: _steps(store)["done"] >= 8, PATIENCE, "the first steps", log)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(PATIENCE)
    left = _steps(store)
    assert left["pending"] + left["running"] > 0, f"the batch ended before the kill: {left}"
    second = _start_worker(broker, log, "--processes", "2", "--threads", "2")
    try:
        _wait(lambda: _all_done(store), PATIENCE, "every step after the restart", log)
        assert _stop(second) == 0
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
    try:
        _check_everything_processed_once(store)
    finally:
        store.dispose()


def _check_everything_processed_once(store: Store) -> None:
    assert _steps(store)["failed"] == 0
    with store.sessions() as session:
        records = list(message_records(session))
        got = {Path(r["source"]).name: (r["outcome"], r["building"], r["dossier"]) for r in records}
        assert got == _expected()
        states = Counter(session.scalars(select(RawMessage.state)))
        assert set(states) <= {"routed", "quarantined"}
        history: dict[str, list[tuple[str, int | None]]] = {}
        query = select(DecisionRow.message_key, DecisionRow.outcome, DecisionRow.dossier_id)
        for key, outcome, dossier in session.execute(query.order_by(DecisionRow.id)):
            history.setdefault(key, []).append((outcome, dossier))
        repeated = {k: h for k, h in history.items() if any(a == b for a, b in pairwise(h))}
        assert repeated == {}, "a step ran twice: the same decision recorded again"
        current = Counter(
            session.scalars(select(DecisionRow.message_key).where(DecisionRow.superseded_at.is_(None)))
        )
        assert set(current.values()) == {1}
        assert len(current) == states["routed"]
        for dossier_id in session.scalars(select(DossierRow.id)):
            keys = [entry.message_key for entry in build_timeline(session, dossier_id).entries]
            assert len(keys) == len(set(keys))
        steps = Counter(session.execute(select(JobStep.step, JobStep.subject)).all())
        assert set(steps.values()) == {1}


def test_a_failing_step_is_retried_dead_lettered_listed_and_revived(
    redis_broker: Broker, tmp_path: Path
) -> None:
    broker = redis_broker
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the site folder should be")
    broker.env["DOSSIERMAIL_SITE"] = str(blocker / "site")
    log = tmp_path / "worker.log"
    store = open_store(broker.env["DOSSIERMAIL_DB"])
    worker = _start_worker(broker, log, "--threads", "2")
    try:
        _cli(broker, "import", str(SAMPLES), "--rules", str(RULES), "--quiet")
        # publish steps of one building may be coalesced into one run: at least one dead letter, none pending
        _wait(lambda: _steps(store)["failed"] >= 1 and _all_done(store), PATIENCE, "dead letters", log)
        failed = [json.loads(line) for line in _cli(broker, "jobs", "failed", "--json").stdout.splitlines()]
        assert {f["step"] for f in failed} == {"publish"}
        assert {f["attempts"] for f in failed} == {3}
        assert all("Error" in f["error"] for f in failed)  # the exception's type and first line
        stuck = _cli(broker, "status", "--json", check=False)
        assert stuck.returncode == 1
        assert "pipeline stuck:" in stuck.stderr and "dead-lettered" in " ".join(stuck.stderr.split())
        figures = json.loads(stuck.stdout)
        assert figures["failed_steps"] == len(failed)
        publish = figures["steps"]["publish"]
        assert publish["failed"] == len(failed)
        assert set(publish) <= {"failed", "done"}  # "done": handed to a building's run that then failed
        outcomes = Counter(outcome for outcome, _, _ in _expected().values())
        assert figures["steps"]["parse"] == {"done": outcomes.total()}
        # a parse step routes its message itself when its route locks are free: route steps only
        # for the messages whose locks another step held (none if every parse step found them free)
        routed_apart = figures["steps"].get("route", {})
        assert set(routed_apart) <= {"done"} and routed_apart.get("done", 0) < outcomes.total()
        assert figures["quarantined"] == outcomes["quarantined"]
        assert figures["review"] == outcomes["needs_review"]
        assert figures["outcomes"] == {k: v for k, v in outcomes.items() if v}
        blocker.unlink()
        revived = _cli(broker, "jobs", "retry", "--all")
        assert revived.stdout.startswith(f"{len(failed)} step(s) revived")
        _wait(lambda: _all_done(store) and _steps(store)["failed"] == 0, PATIENCE, "the revived steps", log)
        assert _cli(broker, "status").returncode == 0
        assert (blocker / "site" / "les-mimosas").is_dir()
        assert _stop(worker) == 0
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        store.dispose()


def test_the_workers_publish_each_building_once_a_burst_and_leave_a_complete_site(
    redis_broker: Broker, tmp_path: Path
) -> None:
    """One publish step per building (not per dossier), revived by mail routed after its run (the
    second import: replies joining dossiers the first one opened): once the workers are done, their
    site is exactly what one full publication of the same store writes."""
    broker, log = redis_broker, tmp_path / "worker.log"
    broker.env["DOSSIERMAIL_PUBLISH_DELAY"] = "0.3"
    store = open_store(broker.env["DOSSIERMAIL_DB"])
    worker = _start_worker(broker, log, "--processes", "2", "--threads", "2")
    samples = sorted(SAMPLES.glob("*.eml"))
    try:
        for half in (samples[::2], samples[1::2]):
            _cli(broker, "import", *map(str, half), "--rules", str(RULES), "--quiet")
            _wait(lambda: _all_done(store), PATIENCE, "every step", log)
        assert _stop(worker) == 0
        with store.sessions() as session:
            subjects = set(session.scalars(select(JobStep.subject).where(JobStep.step == "publish")))
        buildings = {building for outcome, building, _ in _expected().values() if outcome == "assigned"}
        assert subjects == {f"{building}/" for building in buildings}
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        store.dispose()
    fresh = tmp_path / "fresh"
    _cli(broker, "publish", "--out", str(fresh), "--rules", str(RULES))
    assert _site_files(Path(broker.env["DOSSIERMAIL_SITE"])) == _site_files(fresh)


def _site_files(root: Path) -> dict[str, bytes]:
    """Every published file by path (the manifest aside: it records what each run wrote)."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and path.name != ".manifest.json"
    }


def _serve_smtp(broker: Broker) -> tuple[subprocess.Popen[bytes], int]:
    command = [sys.executable, "-m", "dossiermail", "serve-smtp", "--port", "0", "--rules", str(RULES)]
    server = subprocess.Popen(command, env=broker.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert server.stdout is not None
    line = server.stdout.readline().decode()
    assert line.startswith("dossiermail: SMTP listening on 127.0.0.1:"), line
    return server, int(line.rsplit(":", 1)[1])


def test_mail_received_by_smtp_goes_to_the_workers(redis_broker: Broker, tmp_path: Path) -> None:
    import smtplib

    broker, log = redis_broker, tmp_path / "worker.log"
    files = sorted(SAMPLES.glob("mimosas-dde-*.eml"))[:6]
    server, port = _serve_smtp(broker)
    worker = _start_worker(broker, log, "--threads", "2")
    store = open_store(broker.env["DOSSIERMAIL_DB"])
    try:
        for file in files:
            raw = file.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            with smtplib.SMTP("127.0.0.1", port, timeout=PATIENCE) as client:
                client.sendmail("paul.leroy@example.org", ["mimosas@cabinet-azur.example.fr"], raw)
        _wait(lambda: _all_done(store) and _routed(store) == len(files), PATIENCE, "the SMTP mail", log)
        with store.sessions() as session:
            states = Counter(session.scalars(select(RawMessage.state)))
            channels = set(session.scalars(select(RawMessage.channel)))
            current = session.scalar(select(func.count()).where(DecisionRow.superseded_at.is_(None)))
        assert states == Counter({"routed": len(files)}) and channels == {"smtp"}
        assert current == len(files)
        assert (Path(broker.env["DOSSIERMAIL_SITE"]) / "les-mimosas").is_dir()
        assert _stop(worker) == 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(PATIENCE)
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        store.dispose()


@pytest.fixture
def dovecot() -> Iterator[dv.Dovecot]:
    """A throwaway Dovecot for one test."""
    with dv.running() as instance:
        yield instance


def test_mail_polled_by_imap_goes_to_the_workers(
    redis_broker: Broker, dovecot: dv.Dovecot, tmp_path: Path
) -> None:
    from imapclient import IMAPClient

    broker, log = redis_broker, tmp_path / "worker.log"
    account = dovecot.new_user()
    owner = IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=60)
    owner.login(account, dv.PASSWORD)
    files = sorted(SAMPLES.glob("belvedere-asc-*.eml"))[:4]
    for file in files:
        owner.append("INBOX", file.read_bytes())
    owner.logout()
    config = tmp_path / "imap.yaml"
    config.write_text(
        "mailboxes:\n"
        f"  - {{name: cabinet, host: {dovecot.host}, port: {dovecot.port}, tls: false,\n"
        f"     user: {account}, password_env: DM_TEST_IMAP_PASSWORD}}\n"
    )
    broker.env["DM_TEST_IMAP_PASSWORD"] = dv.PASSWORD
    polled = _cli(broker, "poll-imap", "--config", str(config), "--once", "--rules", str(RULES))
    assert f"{len(files)} fetched, {len(files)} new" in polled.stdout
    store = open_store(broker.env["DOSSIERMAIL_DB"])
    try:
        assert _steps(store) == Counter({"pending": len(files)})  # committed, sent, not processed here
        worker = _start_worker(broker, log, "--threads", "2")
        try:
            _wait(lambda: _all_done(store) and _routed(store) == len(files), PATIENCE, "the IMAP mail", log)
            assert _stop(worker) == 0
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
        with store.sessions() as session:
            states = Counter(session.scalars(select(RawMessage.state)))
        assert states == Counter({"routed": len(files)})
    finally:
        store.dispose()
