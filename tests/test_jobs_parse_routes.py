"""A parse step routes the message it has just parsed, in its own transaction, when it can.

When every route lock of the message is free, the parse step routes it (no route step row, no second
claim) and requests the publication; when one is held by another transaction, or routing fails, the
parse is committed alone and a route step takes over, as before. On SQLite (no advisory locks) and
on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select, text

from dossiermail.commands.exporting import message_records
from dossiermail.domain import RawMail, RoutingDecision
from dossiermail.ingest.accept import accept
from dossiermail.ingest.archive import read_archive
from dossiermail.jobs import steps
from dossiermail.jobs.outbox import add_step, request_step
from dossiermail.jobs.pipeline import RouteOptions, route_and_heal
from dossiermail.jobs.routelocks import RouteLocksBusyError, lock_key, message_lock_names
from dossiermail.jobs.settings import JobSettings
from dossiermail.jobs.steps import StepContext, run_step
from dossiermail.parse import parse_message
from dossiermail.rules import load_rules
from dossiermail.store import Store
from dossiermail.store.models import DecisionRow, JobStep, RawMessage, utcnow
from dossiermail.store.repo import sync_rules
from tests.conftest import RULES, SAMPLES, opened_store

OPENS_A_DOSSIER = "mimosas-dde-02-gestionnaire-opens-dossier-to-plumber-cc-building.eml"
"""Assigned on its own: the gestionnaire opens DDE-2026-014 at Les Mimosas."""
SETTINGS = JobSettings(lease=60, max_attempts=3, backoff_base=0.01, backoff_cap=0.01, publish_delay=0.0)


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[Store]:
    """An open, migrated store on PostgreSQL only (advisory locks held by another connection)."""
    yield from opened_store(postgres_url)


def _context(store: Store, tmp_path: Path) -> StepContext:
    rules = load_rules(RULES)
    with store.session() as session:
        sync_rules(session, rules)  # as ``dossiermail worker`` does before starting its processes
    return StepContext(store, RouteOptions(rules), tmp_path / "site", SETTINGS, "test")


def _received(store: Store, name: str = OPENS_A_DOSSIER) -> tuple[str, int]:
    """Accept a sample with its parse step, as ingestion does with a broker: (key, parse step id)."""
    mail = RawMail((SAMPLES / name).read_bytes(), "import", name, utcnow())
    with store.session() as session:
        key = accept(session, mail).message_key
        add_step(session, "parse", key)
    with store.session() as session:
        step_id = session.scalar(select(JobStep.id).where(JobStep.step == "parse", JobStep.subject == key))
    assert step_id is not None
    return key, step_id


def _state(store: Store, key: str) -> tuple[str | None, list[str], dict[str, str]]:
    """The message's state, its decisions' outcomes (oldest first) and its steps by kind."""
    with store.session() as session:
        state = session.scalar(select(RawMessage.state).where(RawMessage.key == key))
        outcomes = session.scalars(
            select(DecisionRow.outcome).where(DecisionRow.message_key == key).order_by(DecisionRow.id)
        ).all()
        rows = session.execute(select(JobStep.step, JobStep.subject, JobStep.state)).all()
    found = {step: state for step, subject, state in rows if subject == key or step == "publish"}
    return state, list(outcomes), found


def test_a_parse_step_routes_its_message_when_its_route_locks_are_free(store: Store, tmp_path: Path) -> None:
    context = _context(store, tmp_path)
    key, parse_id = _received(store)
    sends = run_step(context, parse_id)
    assert [(send.step, send.delay) for send in sends] == [("publish", 0.0)]  # no route step to send
    assert _state(store, key) == ("routed", ["assigned"], {"parse": "done", "publish": "pending"})
    with store.session() as session:
        publish = session.get(JobStep, sends[0].id)
        assert publish is not None and publish.subject == "les-mimosas/"
        assert publish.enqueued_at is not None  # counted as sent: the worker sends it after the commit


def test_a_parse_step_run_again_routes_nothing_twice(store: Store, tmp_path: Path) -> None:
    context = _context(store, tmp_path)
    key, parse_id = _received(store)
    run_step(context, parse_id)
    with store.session() as session:
        again = request_step(session, "parse", key)  # revived, as after a duplicate delivery
    assert again is not None and again.id == parse_id
    assert run_step(context, parse_id) == []
    assert _state(store, key) == ("routed", ["assigned"], {"parse": "done", "publish": "pending"})


@pytest.mark.postgres
def test_a_busy_route_lock_leaves_the_message_to_a_route_step(postgres_store: Store, tmp_path: Path) -> None:
    """The parse step never waits for a lock while it holds the message's row: it commits the parse
    and asks for a route step, which routes it once the lock is free."""
    store = postgres_store
    context = _context(store, tmp_path)
    key, parse_id = _received(store)
    parsed = parse_message((SAMPLES / OPENS_A_DOSSIER).read_bytes(), key)
    sender = f"from:{parsed.from_.email.lower()}" if parsed.from_ and parsed.from_.email else ""
    assert sender in message_lock_names(parsed, context.options.rules)
    with store.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key(sender)})
        try:
            sends = run_step(context, parse_id)
        finally:
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(sender)})
        other.commit()
    assert [send.step for send in sends] == ["route"]
    assert _state(store, key) == ("parsed", [], {"parse": "done", "route": "pending"})
    assert [send.step for send in run_step(context, sends[0].id)] == ["publish"]
    assert _state(store, key) == (
        "routed",
        ["assigned"],
        {"parse": "done", "route": "done", "publish": "pending"},
    )


@pytest.mark.parametrize(
    ("failure", "level"),
    [
        (RuntimeError("disk on fire"), logging.WARNING),
        (RouteLocksBusyError(frozenset({"ref:X"})), logging.DEBUG),
    ],
)
def test_routing_that_fails_in_a_parse_step_is_rolled_back_and_left_to_a_route_step(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    failure: Exception, level: int,
) -> None:  # fmt: skip
    """Routing writes its decision, then fails: the savepoint rolls that back, the parse commits,
    and the route step that takes over fails as visibly as before (retried, then dead-lettered)."""
    context = _context(store, tmp_path)
    key, parse_id = _received(store)

    def failing(*args: object, **kwargs: object) -> list[tuple[str, RoutingDecision]]:
        route_and_heal(*args, **kwargs)  # type: ignore[arg-type]
        raise failure

    monkeypatch.setattr(steps, "route_and_heal", failing)
    caplog.set_level(logging.DEBUG, logger="dossiermail.jobs")
    sends = run_step(context, parse_id)
    assert [send.step for send in sends] == ["route"]
    assert _state(store, key) == ("parsed", [], {"parse": "done", "route": "pending"})
    (record,) = [r for r in caplog.records if "left to a route step" in r.getMessage()]
    assert record.levelno == level and key in record.getMessage()
    if not isinstance(failure, RouteLocksBusyError):  # (a route step re-runs on busy locks instead)
        retry = run_step(context, sends[0].id)  # the route step meets the same failure: retried later
        assert [(send.step, send.id) for send in retry] == [("route", sends[0].id)]
        with store.session() as session:
            session.execute(text("UPDATE job_steps SET next_attempt_at = :now"), {"now": utcnow()})
    monkeypatch.setattr(steps, "route_and_heal", route_and_heal)
    assert [send.step for send in run_step(context, sends[0].id)] == ["publish"]
    assert _state(store, key) == (
        "routed",
        ["assigned"],
        {"parse": "done", "route": "done", "publish": "pending"},
    )


def _parse_steps(store: Store, seed: int) -> list[int]:
    """Accept the samples in a shuffled order, each with its parse step; the steps' ids."""
    mails = [item.mail for item in read_archive([SAMPLES]) if item.mail is not None]
    random.Random(seed).shuffle(mails)
    with store.session() as session:
        for mail in mails:
            add_step(session, "parse", accept(session, mail).message_key)
    with store.session() as session:
        return list(session.scalars(select(JobStep.id).where(JobStep.step == "parse").order_by(JobStep.id)))


@pytest.mark.postgres
@pytest.mark.parametrize("seed", [1, 4])
def test_parse_steps_run_side_by_side_route_the_samples_as_expected(
    seed: int, postgres_store: Store, tmp_path: Path
) -> None:
    """Four threads run the parse steps at once: each routes its message or, when another step
    holds one of its route locks, leaves it to a route step; every message ends where it should."""
    store = postgres_store
    context = _context(store, tmp_path)
    wave = _parse_steps(store, seed)
    with ThreadPoolExecutor(4) as pool:
        while wave:  # the parse steps, then the route steps they asked for (and any retry)
            sends = [s for done in pool.map(lambda i: run_step(context, i), wave) for s in done]
            wave = [s.id for s in sends if s.step != "publish"]
    with store.sessions() as session:
        states = Counter(session.execute(select(JobStep.step, JobStep.state)).all())
        records = list(message_records(session))
    assert {state for _, state in states} <= {"done", "pending"}  # pending: publications, not run here
    assert {step for step, state in states if state == "pending"} <= {"publish"}
    got = {Path(r["source"]).name: (r["outcome"], r["building"], r["dossier"]) for r in records}
    assert got == _expected()


def _expected() -> dict[str, tuple[str, str | None, str | None]]:
    lines = (SAMPLES / "expected.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return {r["file"]: (r["outcome"], r["building"], r["dossier"]) for r in records}
