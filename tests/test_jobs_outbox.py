"""The outbox's step bookkeeping row by row, on SQLite and PostgreSQL: what ``claim``, ``finish`` and
``request_step`` write (single Core statements), and that a session holding a step sees their changes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from threading import Thread

import pytest
from sqlalchemy import func, select, update

from dossiermail.jobs.broker import JobQueue, make_broker
from dossiermail.jobs.outbox import Send, add_step, claim, finish, mark_sent, request_step, unsent
from dossiermail.jobs.settings import JobSettings
from dossiermail.store import Store
from dossiermail.store.models import JobStep, utcnow
from tests.conftest import opened_store

SETTINGS = JobSettings(lease=60, max_attempts=3, backoff_base=2, backoff_cap=5, ack_timeout=30)


def _row(store: Store, step_id: int) -> JobStep:
    with store.session() as session:
        row = session.get(JobStep, step_id)
    assert row is not None
    return row


def _requested(store: Store, subject: str = "b/D-1") -> int:
    with store.session() as session:
        send = request_step(session, "publish", subject)
    assert send is not None
    return send.id


def test_a_finished_step_keeps_its_attempt_claim_time_and_sending_and_forgets_its_worker(
    store: Store,
) -> None:
    step_id = _requested(store)
    with store.session() as session:
        mark_sent(session, [step_id])
        held = claim(session, step_id, "w1", SETTINGS)
    assert held is not None
    sent = _row(store, step_id).enqueued_at
    with store.session() as session:
        assert finish(session, held) is None
    row = _row(store, step_id)
    assert (row.state, row.attempts, row.claimed_by, row.lease_until) == ("done", 1, None, None)
    assert row.claimed_at == held.claimed_at and row.enqueued_at == sent is not None
    assert row.finished_at is not None and row.finished_at >= held.claimed_at and row.last_error is None


def test_a_step_requested_while_it_ran_finishes_as_a_new_pending_step(store: Store) -> None:
    step_id = _requested(store)
    with store.session() as session:
        held = claim(session, step_id, "w1", SETTINGS)
    assert held is not None
    with store.session() as session:
        assert request_step(session, "publish", "b/D-1") is None
    with store.session() as session:
        assert finish(session, held) == Send("publish", step_id)
    row = _row(store, step_id)
    assert (row.state, row.attempts, row.finished_at) == ("pending", 0, None)
    assert (row.claimed_by, row.claimed_at, row.lease_until) == (None, None, None)
    assert row.requested_at > held.claimed_at and row.next_attempt_at == row.requested_at
    assert row.enqueued_at == row.requested_at  # counted as sent: the worker sends it after the commit
    with store.session() as session:
        again = claim(session, step_id, "w2", SETTINGS)
    assert again is not None and again.attempts == 1


def test_a_session_holding_a_step_sees_what_claim_finish_and_request_wrote(store: Store) -> None:
    step_id = _requested(store)
    with store.session() as session:
        row = session.get(JobStep, step_id)
        assert row is not None and row.state == "pending"
        held = claim(session, step_id, "w1", SETTINGS)
        assert held is not None and (row.state, row.claimed_by, row.attempts) == ("running", "w1", 1)
        assert finish(session, held) is None
        assert (row.state, row.claimed_by) == ("done", None)
        assert request_step(session, "publish", "b/D-1") == Send("publish", step_id)
        assert (row.state, row.attempts, row.finished_at) == ("pending", 0, None)


def test_requesting_a_dead_lettered_step_revives_it_with_its_delay(store: Store) -> None:
    step_id = _requested(store)
    with store.session() as session:
        session.execute(
            update(JobStep).values(
                state="failed", attempts=3, last_error="OSError: disk full", finished_at=utcnow()
            )
        )
    with store.session() as session:
        assert request_step(session, "publish", "b/D-1", 5.0) == Send("publish", step_id, 5.0)
    row = _row(store, step_id)
    assert (row.state, row.attempts, row.last_error, row.finished_at) == ("pending", 0, None, None)
    assert row.enqueued_at == row.requested_at  # sent with its delay by the caller
    assert row.next_attempt_at - row.requested_at == timedelta(seconds=5)


def test_a_step_added_earlier_in_the_same_transaction_is_found_not_inserted_again(store: Store) -> None:
    with store.session() as session:
        add_step(session, "parse", "key-1")
        send = request_step(session, "parse", "key-1")
        assert send is not None and send.step == "parse" and send.delay == 0.0
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(JobStep).where(JobStep.subject == "key-1"))
    assert count == 1
    assert _row(store, send.id).enqueued_at is None  # never sent: the caller sends it


def test_a_step_requested_again_while_it_ran_can_wait_the_rerun_delay(store: Store) -> None:
    step_id = _requested(store)
    with store.session() as session:
        held = claim(session, step_id, "w1", SETTINGS)
    assert held is not None
    with store.session() as session:
        assert request_step(session, "publish", "b/D-1", 1.0, sending=True, existing=True) is None
        again = finish(session, held, 2.5)
    assert again is not None and again.id == step_id and 0 < again.delay <= 2.5
    row = _row(store, step_id)
    assert row.state == "pending" and row.next_attempt_at == held.claimed_at + timedelta(seconds=2.5)
    assert row.enqueued_at == row.requested_at  # counted as sent: the worker sends it with its delay
    with store.session() as session:
        assert claim(session, step_id, "w2", SETTINGS) is None  # not due yet: the burst gathers


def test_a_run_longer_than_the_rerun_delay_runs_again_at_once(store: Store) -> None:
    step_id = _requested(store)
    with store.session() as session:
        held = claim(session, step_id, "w1", SETTINGS)
    assert held is not None
    with store.session() as session:
        session.execute(update(JobStep).values(requested_at=utcnow() + timedelta(seconds=1)))
        time.sleep(0.05)  # the run outlasts its rerun delay
        assert finish(session, held, 0.01) == Send("publish", step_id, 0.0)
    assert _row(store, step_id).next_attempt_at >= held.claimed_at + timedelta(seconds=0.05)


def test_a_step_a_worker_sends_itself_is_counted_as_sent_when_requested(store: Store) -> None:
    with store.session() as session:
        inserted = request_step(session, "route", "key-1", sending=True)
        add_step(session, "route", "key-2")
        session.flush()
        found = request_step(session, "route", "key-2", sending=True, existing=True)
        fresh = request_step(session, "route", "key-3", sending=True, existing=True)
    assert inserted is not None and found is not None and fresh is not None
    assert found.step == "route" and fresh.id not in {inserted.id, found.id}
    for send in (inserted, found, fresh):
        assert _row(store, send.id).enqueued_at is not None
    with store.session() as session:
        assert unsent(session) == []  # nothing left for the sweeper's next pass
        assert request_step(session, "route", "key-1", sending=True, existing=True) is None  # on its way


def test_a_counted_step_the_broker_refuses_is_left_to_the_sweeper(store: Store) -> None:
    with store.session() as session:
        send = request_step(session, "route", "key-1", sending=True)
    assert send is not None
    queue = JobQueue(make_broker("redis://127.0.0.1:1/0", SETTINGS), SETTINGS)  # nothing listens there
    try:
        assert queue.send_counted(store, [send]) == 0
    finally:
        queue.close()
    assert _row(store, send.id).enqueued_at is None
    with store.session() as session:
        assert unsent(session) == [Send("route", send.id)]


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[Store]:
    """An open, migrated store on PostgreSQL only (transactions that wait for each other)."""
    yield from opened_store(postgres_url)


@pytest.mark.postgres
def test_a_step_requested_by_two_transactions_at_once_is_inserted_once(postgres_store: Store) -> None:
    second: list[Send | None] = []
    with postgres_store.session() as session:
        first = request_step(session, "publish", "b/D-1")
        waiting = Thread(target=lambda: second.append(_request(postgres_store)))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # its insert waits for this transaction's
    waiting.join(30)
    assert first is not None and second == [Send("publish", first.id)]  # found, still unsent: sent
    with postgres_store.session() as session:
        assert session.scalar(select(func.count()).select_from(JobStep)) == 1


def _request(store: Store) -> Send | None:
    with store.session() as session:
        return request_step(session, "publish", "b/D-1")
