"""The job outbox on the real databases: claims, leases, retries with backoff, dead letters, status.

And: importing every dossiermail module with a broker configured connects nowhere and sets no
global dramatiq broker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from dossiermail.domain import RawMail
from dossiermail.ingest.accept import accept
from dossiermail.jobs.outbox import (
    LeaseLostError,
    SweepCounts,
    adopt_messages,
    claim,
    claim_siblings,
    expire_leases,
    fail,
    failed_steps,
    finish,
    lost_steps,
    release,
    request_step,
    rerun_running,
    revive,
    unsent,
)
from dossiermail.jobs.settings import JobSettings
from dossiermail.jobs.status import pipeline_status, problems
from dossiermail.store import Store
from dossiermail.store.models import JobStep, utcnow
from tests.conftest import ROOT, SAMPLES

SAMPLE = "mimosas-dde-01-owner-reports-leak-jpeg-photos.eml"

SETTINGS = JobSettings(lease=60, max_attempts=3, backoff_base=2, backoff_cap=5, ack_timeout=30)

IMPORT_EVERYTHING = """
import importlib, json, pkgutil, socket, sys
attempts = []
real_connect = socket.socket.connect
def connect(self, address):
    attempts.append(repr(address))
    return real_connect(self, address)
socket.socket.connect = connect
socket.create_connection = lambda address, *a, **k: attempts.append(repr(address)) or (_ for _ in ()).throw(
    OSError("no connection at import time"))
import dossiermail
names = [m.name for m in pkgutil.walk_packages(dossiermail.__path__, "dossiermail.")]
names = [name for name in names if not name.endswith("__main__")]  # runs the CLI
for name in names:
    importlib.import_module(name)
dramatiq = sys.modules.get("dramatiq")
broker_set = dramatiq is not None and __import__("dramatiq.broker").broker.global_broker is not None
import gc
brokers = [type(o).__name__ for o in gc.get_objects() if dramatiq and isinstance(o, dramatiq.Broker)]
report = {"modules": len(names), "connections": attempts, "broker_set": broker_set, "brokers": brokers}
print(json.dumps(report))
"""


def test_importing_every_module_with_a_broker_configured_connects_nowhere() -> None:
    env = {**os.environ, "DOSSIERMAIL_BROKER": "redis://192.0.2.1:6379/0"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["modules"] > 40
    assert report["connections"] == []
    assert report["broker_set"] is False
    assert report["brokers"] == []


def accept_sample(store: Store, name: str) -> str:
    """Store one sample as received now (no step, no parse); its key."""
    mail = RawMail((SAMPLES / name).read_bytes(), "import", name, utcnow())
    with store.session() as session:
        return accept(session, mail).message_key


def _step(store: Store, step: str = "publish", subject: str = "b/D-1") -> int:
    with store.session() as session:
        send = request_step(session, step, subject)
    assert send is not None
    return send.id


def test_a_step_is_claimed_by_one_worker_at_a_time(store: Store) -> None:
    step_id = _step(store)
    with store.session() as session:
        first = claim(session, step_id, "w1", SETTINGS)
    with store.session() as session:
        second = claim(session, step_id, "w2", SETTINGS)
    assert first is not None and first.attempts == 1
    assert second is None
    with store.session() as session:
        assert finish(session, first) is None
    with store.session() as session:
        assert claim(session, step_id, "w2", SETTINGS) is None
        assert session.get(JobStep, step_id).state == "done"  # type: ignore[union-attr]


def test_requesting_a_step_twice_keeps_one_row(store: Store) -> None:
    step_id = _step(store)
    with store.session() as session:
        again = request_step(session, "publish", "b/D-1")
    assert again is not None and again.id == step_id  # never sent yet: send it
    with store.session() as session:
        rows = session.scalars(select(JobStep).where(JobStep.subject == "b/D-1")).all()
    assert len(rows) == 1


def test_a_step_requested_while_running_runs_once_more(store: Store) -> None:
    step_id = _step(store)
    with store.session() as session:
        held = claim(session, step_id, "w1", SETTINGS)
    assert held is not None
    with store.session() as session:
        assert request_step(session, "publish", "b/D-1") is None  # running: marked, not sent twice
    with store.session() as session:
        again = finish(session, held)
    assert again is not None and again.id == step_id
    with store.session() as session:
        assert session.get(JobStep, step_id).state == "pending"  # type: ignore[union-attr]


def test_a_publish_run_takes_its_buildings_pending_steps_and_gives_them_back_on_failure(
    store: Store,
) -> None:
    step_id = _step(store)
    with store.session() as session:
        for subject in ("b/D-2", "b/D-3", "bb/D-1", "c/D-1"):
            request_step(session, "publish", subject)
        held = claim(session, step_id, "w1", SETTINGS)
    assert held is not None
    with store.session() as session:
        siblings = claim_siblings(session, held, "b/", SETTINGS)
    assert sorted(s.subject for s in siblings) == ["b/D-2", "b/D-3"]  # not "bb/…", not "c/…"
    with store.session() as session:
        release(session, siblings[:1])
    with store.session() as session:
        back = session.get(JobStep, siblings[0].id)
        assert back is not None and (back.state, back.attempts, back.enqueued_at) == ("pending", 0, None)
        assert finish(session, siblings[1]) is None and finish(session, held) is None
    with store.session() as session:
        states = {s: st for s, st in session.execute(select(JobStep.subject, JobStep.state))}
    assert states == {
        "b/D-1": "done",
        "b/D-2": "pending",
        "b/D-3": "done",
        "bb/D-1": "pending",
        "c/D-1": "pending",
    }
    with store.session() as session:
        assert siblings[0].id in {send.id for send in unsent(session)}  # the sweeper sends it again


def test_a_publish_step_hands_over_to_the_run_publishing_its_building(store: Store) -> None:
    running = _step(store)
    with store.session() as session:
        other = request_step(session, "publish", "b/D-2")
        elsewhere = request_step(session, "publish", "c/D-1")
        first = claim(session, running, "w1", SETTINGS)
    assert other is not None and elsewhere is not None and first is not None
    with store.session() as session:
        second = claim(session, other.id, "w2", SETTINGS)
        third = claim(session, elsewhere.id, "w3", SETTINGS)
    assert second is not None and third is not None
    with store.session() as session:
        assert rerun_running(session, second, "b/") == 1  # b/D-1 only: not itself, not c/
        assert finish(session, second) is None
    with store.session() as session:
        again = finish(session, first)  # its data may predate b/D-2's: it goes once more
        assert again is not None and again.id == running
        assert finish(session, third) is None


def test_work_of_a_worker_whose_lease_expired_is_not_committed(store: Store) -> None:
    step_id = _step(store)
    with store.session() as session:
        stale = claim(session, step_id, "w1", SETTINGS)
    with store.session() as session:
        session.execute(update(JobStep).values(lease_until=utcnow() - timedelta(seconds=1)))
    counts = SweepCounts()
    with store.session() as session:
        sends = expire_leases(session, SETTINGS, counts)
    assert [s.id for s in sends] == [step_id] and counts.expired == 1
    with store.session() as session:
        fresh = claim(session, step_id, "w2", SETTINGS)
    assert stale is not None and fresh is not None and fresh.attempts == 2
    with pytest.raises(LeaseLostError), store.session() as session:
        finish(session, stale)
    with store.session() as session:
        finish(session, fresh)
        assert session.get(JobStep, step_id).claimed_by is None  # type: ignore[union-attr]


def test_failures_back_off_then_dead_letter_then_revive(store: Store) -> None:
    step_id = _step(store)
    delays = []
    for attempt in range(1, SETTINGS.max_attempts + 1):
        with store.session() as session:
            session.execute(update(JobStep).values(next_attempt_at=utcnow()))
            held = claim(session, step_id, "w1", SETTINGS)
        assert held is not None and held.attempts == attempt
        with store.session() as session:
            retry = fail(session, held, f"OSError: disk full #{attempt}", SETTINGS)
        delays.append(retry.delay if retry else None)
    assert delays == [2.0, 4.0, None]
    with store.session() as session:
        dead = failed_steps(session)
        assert [(d.id, d.attempts, d.last_error) for d in dead] == [(step_id, 3, "OSError: disk full #3")]
        status = pipeline_status(session)
    assert status.failed == 1
    assert problems(status, utcnow(), 900) == ["1 step(s) dead-lettered (dossiermail jobs failed)"]
    with store.session() as session:
        assert [s.id for s in revive(session, [step_id])] == [step_id]
    with store.session() as session:
        row = session.get(JobStep, step_id)
        assert row is not None and (row.state, row.attempts, row.last_error) == ("pending", 0, None)


def test_a_step_sent_but_never_acknowledged_is_sent_again(store: Store) -> None:
    step_id = _step(store)
    counts = SweepCounts()
    with store.session() as session:
        assert [s.id for s in lost_steps(session, SETTINGS, counts)] == [step_id]  # never sent
    with store.session() as session:
        assert lost_steps(session, SETTINGS, counts) == []  # just sent
        old = utcnow() - timedelta(seconds=SETTINGS.ack_timeout + 1)
        session.execute(update(JobStep).values(enqueued_at=old, next_attempt_at=old))
    with store.session() as session:
        assert [s.id for s in lost_steps(session, SETTINGS, counts)] == [step_id]
    assert counts.lost == 2


def test_messages_stored_without_a_step_are_adopted(store: Store) -> None:
    key = accept_sample(store, SAMPLE)
    counts = SweepCounts()
    with store.session() as session:
        assert adopt_messages(session, 3600.0, counts) == []  # still within the grace period
        sends = adopt_messages(session, 0.0, counts)
    assert [(s.step, counts.adopted) for s in sends] == [("parse", 1)]
    with store.session() as session:
        assert adopt_messages(session, 0.0, counts) == []
        assert session.scalar(select(JobStep.subject)) == key


def test_status_flags_a_message_waiting_too_long(store: Store) -> None:
    accept_sample(store, SAMPLE)
    with store.session() as session:
        status = pipeline_status(session)
    assert status.waiting_messages == 1
    assert status.outcomes == {"accepted": 1}
    assert problems(status, utcnow(), 900) == []
    later = utcnow() + timedelta(seconds=1000)
    (found,) = problems(status, later, 900)
    assert found.startswith("1 message(s) not yet parsed/routed, oldest for 100")


def _dossiermail(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dossiermail", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_worker_without_a_broker_says_how_to_set_one(sqlite_url: str) -> None:
    done = _dossiermail({"DOSSIERMAIL_BROKER": "", "DOSSIERMAIL_DB": sqlite_url}, "worker")
    assert done.returncode == 1
    assert done.stderr.startswith("dossiermail: error: no broker: set DOSSIERMAIL_BROKER=")


def test_a_bad_job_setting_is_one_line_naming_the_variable(sqlite_url: str) -> None:
    env = {"DOSSIERMAIL_BROKER": "redis://127.0.0.1:6379/13", "DOSSIERMAIL_JOB_LEASE": "soon"}
    done = _dossiermail({**env, "DOSSIERMAIL_DB": sqlite_url}, "jobs", "sweep")
    assert done.returncode == 1
    assert done.stderr.strip() == "dossiermail: error: DOSSIERMAIL_JOB_LEASE='soon': expected a number"


def test_status_of_an_empty_store_is_ok_and_json(sqlite_url: str) -> None:
    done = _dossiermail({"DOSSIERMAIL_DB": sqlite_url}, "status", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["ok"] is True and figures["steps"] == {} and figures["waiting_messages"] == 0


def test_a_delayed_publication_is_due_later_and_gathers_what_is_requested_meanwhile(store: Store) -> None:
    with store.session() as session:
        send = request_step(session, "publish", "b/D-1", 5.0)
        assert send is not None and send.delay == 5.0
        assert request_step(session, "publish", "b/D-1", 5.0) is None  # joins the waiting one
        row = session.get(JobStep, send.id)
        assert row is not None and row.enqueued_at is not None  # sent with its delay by the caller
        assert row.next_attempt_at - row.created_at == timedelta(seconds=5)
        assert claim(session, send.id, "w1", SETTINGS) is None  # not due yet
        assert unsent(session) == []


def test_a_publish_run_also_takes_its_buildings_steps_still_waiting_for_their_delay(store: Store) -> None:
    step_id = _step(store)
    with store.session() as session:
        request_step(session, "publish", "b/D-2", 60.0)
        held = claim(session, step_id, "w1", SETTINGS)
    assert held is not None
    with store.session() as session:
        assert [s.subject for s in claim_siblings(session, held, "b/", SETTINGS)] == ["b/D-2"]


@pytest.mark.parametrize(
    ("written", "expected"), [("0", 0.0), ("2.5", 2.5), ("-1", "zero or a positive"), ("soon", "a number")]
)
def test_the_publish_delay_comes_from_the_environment(written: str, expected: float | str) -> None:
    env = {"DOSSIERMAIL_PUBLISH_DELAY": written}
    if isinstance(expected, float):
        assert JobSettings.from_env(env).publish_delay == expected
        return
    with pytest.raises(ValueError, match=f"DOSSIERMAIL_PUBLISH_DELAY='{written}': expected {expected}"):
        JobSettings.from_env(env)
