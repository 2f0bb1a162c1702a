"""The ``job_steps`` outbox: requesting, claiming, finishing, failing and sweeping pipeline steps.

Pure store operations (no broker): the database is the source of truth and the broker only carries
step ids. A step is claimed with a conditional update (``pending`` → ``running``, with a lease), and
marked done in the same transaction as its work, only while the claim is still ours: a step
re-claimed after its lease expired can never be committed twice.

The per-step bookkeeping (``request_step``, ``claim``, ``finish``) runs prebuilt Core statements
(``UPDATE … RETURNING``, ``INSERT … ON CONFLICT DO NOTHING RETURNING``: SQLite ≥ 3.35 and
PostgreSQL) on the session's connection, one or two a call, after flushing the session as the ORM's
autoflush would have; a ``JobStep`` the session already holds is expired so it reloads the change.
A worker claims on an autocommit connection (``claim_on``: the one ``UPDATE`` is its transaction),
and the steps a step asks for are counted as sent in its own transaction (``request_step`` with
``sending``, ``finish``'s re-run): the worker sends them after the commit and writes again only for
a send the broker refused (``unmark_sent``); a worker dying in between leaves them to the sweeper,
which re-sends steps not done within the ack timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Select,
    Table,
    bindparam,
    case,
    exists,
    func,
    inspect,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dossiermail.jobs.settings import JobSettings
from dossiermail.store.models import JobStep, RawMessage, UTCDateTime, utcnow

STEPS = ("parse", "route", "publish")
CLOCK_SLACK = timedelta(seconds=1)
SWEEP_BATCH = 500

_TABLE = cast(Table, JobStep.__table__)
_C = _TABLE.c
_MAPPER = inspect(JobStep)
_SAME_STEP = (_C.step == bindparam("p_step")) & (_C.subject == bindparam("p_subject"))
_MARK = (
    update(_TABLE)
    .where(_SAME_STEP, _C.state.in_(("pending", "running")))
    .values(requested_at=bindparam("p_now", type_=UTCDateTime()))
    .returning(_C.id, _C.state, _C.enqueued_at)
)
_REVIVE = (
    update(_TABLE)
    .where(_SAME_STEP, _C.state.in_(("done", "failed")))
    .values(
        state="pending",
        attempts=0,
        last_error=None,
        next_attempt_at=bindparam("p_due", type_=UTCDateTime()),
        requested_at=bindparam("p_now", type_=UTCDateTime()),
        enqueued_at=bindparam("p_enqueued", type_=UTCDateTime()),
        claimed_by=None,
        claimed_at=None,
        lease_until=None,
        finished_at=None,
    )
    .returning(_C.id)
)

_CLAIM = (
    update(_TABLE)
    .where(
        _C.id == bindparam("p_id"),
        _C.state == "pending",
        _C.next_attempt_at <= bindparam("p_due", type_=UTCDateTime()),
    )
    .values(
        state="running",
        attempts=_C.attempts + 1,
        claimed_by=bindparam("p_worker"),
        claimed_at=bindparam("p_now", type_=UTCDateTime()),
        lease_until=bindparam("p_lease", type_=UTCDateTime()),
    )
    .returning(_C.step, _C.subject, _C.attempts)
)


def _rerun_or(when_rerun: object, otherwise: object) -> ColumnElement[Any]:
    """``when_rerun`` if the step was requested again after its claim, else ``otherwise``."""
    return case(
        (_C.requested_at > bindparam("p_claimed_at", type_=UTCDateTime()), when_rerun), else_=otherwise
    )


_NOW = bindparam("p_now", type_=UTCDateTime())
_FINISH = (
    update(_TABLE)
    .where(
        _C.id == bindparam("p_id"),
        _C.state == "running",
        _C.claimed_by == bindparam("p_worker"),
        _C.claimed_at == bindparam("p_claimed_at", type_=UTCDateTime()),
    )
    .values(
        state=_rerun_or(literal_column("'pending'"), literal_column("'done'")),
        attempts=_rerun_or(literal_column("0"), _C.attempts),
        last_error=None,
        next_attempt_at=_rerun_or(bindparam("p_due", type_=UTCDateTime()), _C.next_attempt_at),
        requested_at=_rerun_or(_NOW, _C.requested_at),
        enqueued_at=_rerun_or(_NOW, _C.enqueued_at),
        claimed_by=None,
        claimed_at=_rerun_or(null(), _C.claimed_at),
        lease_until=None,
        finished_at=_rerun_or(null(), _NOW),
    )
    .returning(_C.state)
)


_INSERTS: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


@lru_cache(maxsize=4)
def _insert_statement(dialect: str) -> Executable:
    """A new pending step, doing nothing (no row returned) when the step already exists."""
    if dialect not in _INSERTS:  # pragma: no cover - dossiermail runs on SQLite and PostgreSQL
        raise NotImplementedError(f"no INSERT ... ON CONFLICT DO NOTHING for {dialect}")
    statement = _INSERTS[dialect](_TABLE).values(
        step=bindparam("p_step"),
        subject=bindparam("p_subject"),
        state="pending",
        attempts=0,
        next_attempt_at=bindparam("p_due", type_=UTCDateTime()),
        created_at=bindparam("p_now", type_=UTCDateTime()),
        requested_at=bindparam("p_now", type_=UTCDateTime()),
        enqueued_at=bindparam("p_enqueued", type_=UTCDateTime()),
    )
    return statement.on_conflict_do_nothing(index_elements=[_C.step, _C.subject]).returning(_C.id)


def _forget(session: Session, step_id: int) -> None:
    """Expire the session's copy of a step changed by a Core statement, if it holds one."""
    row = session.identity_map.get(_MAPPER.identity_key_from_primary_key((step_id,)))
    if row is not None:
        session.expire(row)


class LeaseLostError(Exception):
    """Our claim on a step was taken over (lease expired): the work must not be committed."""


@dataclass(frozen=True)
class Claim:
    """A step this worker holds until ``lease_until``."""

    id: int
    step: str
    subject: str
    attempts: int
    worker: str
    claimed_at: datetime


@dataclass(frozen=True)
class Send:
    """A step to put on the broker once the transaction that requested it has committed."""

    step: str
    id: int
    delay: float = 0.0


def publish_subject(building: str, dossier: str) -> str:
    """The subject of a publish step: ``building/dossier``."""
    return f"{building}/{dossier}"


def request_step(
    session: Session,
    step: str,
    subject: str,
    delay: float = 0.0,
    *,
    sending: bool = False,
    existing: bool = False,
) -> Send | None:
    """Ask for ``step`` on ``subject``; the step to send, or None when one is already on its way.

    A finished or dead-lettered step is revived; a running one is marked to run once more after.
    With a ``delay`` the step is due that many seconds later, and counts as sent from now (the
    caller sends it with that delay after the commit; the sweeper re-sends it if that send is lost),
    so that what is requested meanwhile joins it instead of running apart. ``sending``: the caller
    sends the step right after the commit (a worker), so it counts as sent from now as well; only
    a failed send has to be written (``unmark_sent``), not every successful one.

    Core statements on the session's connection (the session is flushed first, as the ORM's
    autoflush did): an insert that does nothing when the step exists, else a mark (pending or
    running) or a revival (done or failed), each row-locking the step it changes. ``existing``:
    the step usually exists already (a dossier's publication), so the mark is tried first.
    """
    session.flush()
    connection = session.connection()
    now = utcnow()
    params = {"p_step": step, "p_subject": subject, "p_now": now, "p_due": now + timedelta(seconds=delay)}
    params["p_enqueued"] = now if delay or sending else None
    if existing:
        found, send = _marked(session, step, params, sending=sending)
        if found:
            return send
    inserted = connection.execute(_insert_statement(connection.dialect.name), params).first()
    if inserted is not None:
        return Send(step, inserted.id, delay)
    # Running: ``finish`` puts it back to pending (the run may predate the change). Pending: the
    # update row-locks the step, so a claim racing with this transaction waits for its commit and
    # the work it does next sees the change. The second mark covers a step revived meanwhile.
    found, send = _marked(session, step, params, sending=sending)
    if found:
        return send
    revived = connection.execute(_REVIVE, params).first()
    if revived is not None:
        _forget(session, revived.id)
        return Send(step, revived.id, delay)
    found, send = _marked(session, step, params, sending=sending)
    return send if found else None  # not found: inserted by someone else then deleted


def _marked(
    session: Session, step: str, params: dict[str, Any], *, sending: bool
) -> tuple[bool, Send | None]:
    """Mark a pending or running step requested again: (False, None) when there is no such step,
    else (True, the step to send when it was never sent, marked as sent now when ``sending``)."""
    row = session.connection().execute(_MARK, params).first()
    if row is None:
        return False, None
    _forget(session, row.id)
    if row.state != "pending" or row.enqueued_at is not None:
        return True, None
    if sending:
        mark_sent(session, [row.id])
    return True, Send(step, row.id)


def add_step(session: Session, step: str, subject: str) -> None:
    """Add the first step of a message just accepted in this transaction (no look-up: it cannot
    exist yet); the commit makes it visible to ``unsent`` and the forwarder or the sweeper sends it."""
    now = utcnow()
    session.add(
        JobStep(
            step=step,
            subject=subject,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            requested_at=now,
        )
    )


def _reset(row: JobStep, now: datetime, delay: float = 0.0) -> None:
    row.state, row.attempts, row.last_error = "pending", 0, None
    row.next_attempt_at, row.requested_at = now + timedelta(seconds=delay), now
    row.enqueued_at = now if delay else None
    row.claimed_by = row.claimed_at = row.lease_until = row.finished_at = None


def claim(session: Session, step_id: int, worker: str, settings: JobSettings) -> Claim | None:
    """Take a pending, due step for ``worker``; None when it is done, running elsewhere or not due.

    One ``UPDATE … RETURNING`` on the session's connection (flushed first, as autoflush did).
    """
    session.flush()
    held = claim_on(session.connection(), step_id, worker, settings)
    if held is not None:
        _forget(session, step_id)
    return held


def claim_on(connection: Connection, step_id: int, worker: str, settings: JobSettings) -> Claim | None:
    """``claim`` on a connection: the worker's, in autocommit mode, where the one ``UPDATE`` is its
    own transaction (no ``BEGIN`` and ``COMMIT`` round trips around it)."""
    now = utcnow()
    params = {
        "p_id": step_id,
        "p_worker": worker,
        "p_now": now,
        "p_due": now + CLOCK_SLACK,
        "p_lease": now + timedelta(seconds=settings.lease),
    }
    row = connection.execute(_CLAIM, params).first()
    if row is None:
        return None
    return Claim(step_id, row.step, row.subject, row.attempts, worker, now)


def _free_siblings(held: Claim, prefix: str, state: str) -> Select[int]:
    """The ids of the other steps of ``held``'s kind whose subject starts with ``prefix``, in
    ``state``, row-locked unless another transaction holds them (skipped, never waited for)."""
    return (
        select(JobStep.id)
        .where(
            JobStep.step == held.step,
            JobStep.subject.startswith(prefix, autoescape=True),
            JobStep.id != held.id,
            JobStep.state == state,
        )
        .with_for_update(skip_locked=True)
    )


def claim_siblings(session: Session, held: Claim, prefix: str, settings: JobSettings) -> list[Claim]:
    """Also take the pending steps of ``held``'s kind whose subject starts with ``prefix`` (work
    that ``held``'s run covers), due or not yet (a delayed publication, a retry's backoff): they
    are finished or released with it. Steps another transaction is requesting right now are
    skipped, never waited for: they run on their own."""
    now = utcnow()
    free = _free_siblings(held, prefix, "pending")
    rows = session.execute(
        update(JobStep)
        .where(JobStep.id.in_(free.scalar_subquery()), JobStep.state == "pending")
        .values(
            state="running",
            attempts=JobStep.attempts + 1,
            claimed_by=held.worker,
            claimed_at=now,
            lease_until=now + timedelta(seconds=settings.lease),
        )
        .returning(JobStep.id, JobStep.subject, JobStep.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    return [Claim(i, held.step, subject, attempts, held.worker, now) for i, subject, attempts in rows]


def rerun_running(session: Session, held: Claim, prefix: str) -> int:
    """Ask the running steps of ``held``'s kind whose subject starts with ``prefix`` (not ``held``)
    to run once more when they finish; how many were asked.

    ``held``'s own row is locked first and the others are skipped when locked (a run finishing, or
    another step doing the same): never waiting for another step's row, two steps asking each
    other cannot deadlock.
    """
    session.execute(select(JobStep.id).where(_ours(held)).with_for_update())  # type: ignore[arg-type]
    free = _free_siblings(held, prefix, "running")
    result = session.execute(
        update(JobStep)
        .where(JobStep.id.in_(free.scalar_subquery()))
        .values(requested_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def release(session: Session, claims: list[Claim]) -> None:
    """Give claims back untried: pending again, the attempt not counted, to be sent again."""
    for held in claims:
        session.execute(
            update(JobStep)
            .where(_ours(held))  # type: ignore[arg-type]
            .values(
                state="pending",
                attempts=JobStep.attempts - 1,
                claimed_by=None,
                claimed_at=None,
                lease_until=None,
                enqueued_at=None,
            )
            .execution_options(synchronize_session=False)
        )


def _ours(held: Claim) -> object:
    return (
        (JobStep.id == held.id)
        & (JobStep.state == "running")
        & (JobStep.claimed_by == held.worker)
        & (JobStep.claimed_at == held.claimed_at)
    )


def finish(session: Session, held: Claim, rerun_delay: float = 0.0) -> Send | None:
    """Mark the step done in the work's transaction; raises ``LeaseLostError`` when it is no longer ours.

    A step requested again while it ran goes back to pending, due ``rerun_delay`` seconds after
    this run was claimed (at once if the run took longer: a publication runs at most once per
    delay, gathering what is routed meanwhile) and counted as sent: it is returned, and the caller
    sends it with what is left of the delay right after the commit (the sweeper re-sends it if that
    send is lost). One conditional ``UPDATE … RETURNING`` (the work flushed first, as autoflush did
    before the step's row was locked), which chooses between done and pending again itself.
    """
    session.flush()
    now = utcnow()
    due = max(now, held.claimed_at + timedelta(seconds=rerun_delay))
    params = {
        "p_id": held.id,
        "p_worker": held.worker,
        "p_claimed_at": held.claimed_at,
        "p_now": now,
        "p_due": due,
    }
    row = session.connection().execute(_FINISH, params).first()
    if row is None:
        raise LeaseLostError(f"step {held.id} ({held.step} {held.subject}) was taken over")
    _forget(session, held.id)
    return Send(held.step, held.id, (due - now).total_seconds()) if row.state == "pending" else None


def fail(session: Session, held: Claim, error: str, settings: JobSettings) -> Send | None:
    """Record a failed attempt: back to pending after a backoff (returned), or dead-lettered."""
    row = session.scalar(select(JobStep).where(_ours(held)).with_for_update())  # type: ignore[arg-type]
    if row is None:
        return None
    now = utcnow()
    row.last_error = error[:2000]
    row.claimed_by = row.lease_until = None
    if row.attempts >= settings.max_attempts:
        row.state, row.finished_at = "failed", now
        return None
    delay = settings.backoff(row.attempts)
    row.state, row.next_attempt_at, row.enqueued_at = "pending", now + timedelta(seconds=delay), now
    return Send(row.step, row.id, delay)


def mark_sent(session: Session, ids: list[int]) -> None:
    """Remember when these steps were handed to the broker (the sweeper re-sends lost ones)."""
    if ids:
        session.execute(update(JobStep).where(JobStep.id.in_(ids)).values(enqueued_at=utcnow()))


def unmark_sent(session: Session, ids: list[int]) -> None:
    """Steps counted as sent whose send failed: never sent, so the sweeper's next pass sends them."""
    if ids:
        session.execute(
            update(JobStep).where(JobStep.id.in_(ids), JobStep.state == "pending").values(enqueued_at=None)
        )


def unsent(session: Session, ids: list[int] | None = None) -> list[Send]:
    """Pending steps never handed to the broker (optionally among ``ids``), oldest first."""
    query = select(JobStep.step, JobStep.id).where(JobStep.state == "pending", JobStep.enqueued_at.is_(None))
    if ids is not None:
        query = query.where(JobStep.id.in_(ids))
    return [Send(step, step_id) for step, step_id in session.execute(query.order_by(JobStep.id))]


@dataclass
class SweepCounts:
    """What one sweep found."""

    expired: int = 0
    lost: int = 0
    adopted: int = 0
    dead: int = 0


def expire_leases(session: Session, settings: JobSettings, counts: SweepCounts) -> list[Send]:
    """Steps whose worker stopped answering (lease over): pending again, or dead after the last try."""
    now = utcnow()
    rows = session.scalars(
        select(JobStep)
        .where(JobStep.state == "running", JobStep.lease_until < now)
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    sends: list[Send] = []
    for row in rows:
        row.last_error = f"lease expired: worker {row.claimed_by} stopped during the step"
        row.claimed_by = row.lease_until = None
        if row.attempts >= settings.max_attempts:
            row.state, row.finished_at = "failed", now
            counts.dead += 1
            continue
        row.state, row.next_attempt_at, row.enqueued_at = "pending", now, now
        sends.append(Send(row.step, row.id))
        counts.expired += 1
    return sends


def lost_steps(session: Session, settings: JobSettings, counts: SweepCounts) -> list[Send]:
    """Due pending steps never sent, or sent longer than the ack timeout ago: re-sent now."""
    now = utcnow()
    cutoff = now - timedelta(seconds=settings.ack_timeout)
    rows = session.scalars(
        select(JobStep)
        .where(JobStep.state == "pending", JobStep.next_attempt_at <= now)
        .where(
            or_(
                JobStep.enqueued_at.is_(None),
                (JobStep.enqueued_at < cutoff) & (JobStep.next_attempt_at < cutoff),
            )
        )
        .order_by(JobStep.id)
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.enqueued_at = now
    counts.lost += len(rows)
    return [Send(row.step, row.id) for row in rows]


def adopt_messages(session: Session, grace: float, counts: SweepCounts) -> list[Send]:
    """Raw messages waiting for parse or route with no step row (stored by an embedded process or
    before a crash): give them one. ``grace`` seconds leave an in-process pipeline time to finish."""
    cutoff = utcnow() - timedelta(seconds=grace)
    sends: list[Send] = []
    for state, step in (("accepted", "parse"), ("parsed", "route")):
        has_step = exists().where(JobStep.step == step, JobStep.subject == RawMessage.key)
        keys = session.scalars(
            select(RawMessage.key)
            .where(RawMessage.state == state, RawMessage.received_at <= cutoff, ~has_step)
            .order_by(RawMessage.received_at)
            .limit(SWEEP_BATCH)
        ).all()
        for key in keys:
            send = request_step(session, step, key)
            if send is not None:
                sends.append(send)
    counts.adopted += len(sends)
    return sends


def revive(session: Session, step_ids: list[int] | None) -> list[Send]:
    """Dead-lettered steps (all when ``step_ids`` is None) back to pending with fresh attempts."""
    query = select(JobStep).where(JobStep.state == "failed")
    if step_ids is not None:
        query = query.where(JobStep.id.in_(step_ids))
    now = utcnow()
    rows = session.scalars(query.order_by(JobStep.id)).all()
    for row in rows:
        _reset(row, now)
    return [Send(row.step, row.id) for row in rows]


def failed_steps(session: Session) -> list[JobStep]:
    """The dead-letter list, oldest failure first."""
    return list(
        session.scalars(select(JobStep).where(JobStep.state == "failed").order_by(JobStep.finished_at))
    )


def step_counts(session: Session) -> dict[str, dict[str, int]]:
    """How many steps per step name and state."""
    counts: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(JobStep.step, JobStep.state, func.count()).group_by(JobStep.step, JobStep.state)
    )
    for step, state, count in rows:
        counts.setdefault(step, {})[state] = int(count)
    return counts
