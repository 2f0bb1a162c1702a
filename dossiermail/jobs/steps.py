"""What a worker does with one step id: claim it, do the work and mark it done in one transaction.

* parse: parse the raw message (or quarantine it), then route it in the same transaction when its
  route locks are free (as a route step would), else request its route step;
* route: route it and heal what it unblocks, then request the publish step of each building touched;
* publish: :func:`dossiermail.jobs.republish.republish` of one building, one run per building at a
  time, taking the building's other pending publish steps with it.

The follow-up steps a step requests are counted as sent in its transaction (``request_step`` with
``sending``): the worker sends them right after the commit and writes nothing more unless the
broker refuses them.

Each step re-checks the message's state under a row lock, so running it twice changes nothing.
Route steps whose decisions may depend on each other are serialized by fine-grained advisory locks
(:mod:`dossiermail.jobs.routelocks`); the others run side by side. A route step waits for its locks
before it locks the message's row; a parse step, which holds the row from the start, only tries
them, and routes in a savepoint: a busy lock or a routing failure rolls the routing back, keeps the
parse, and leaves the message to a route step (which retries and dead-letters as usual). Most
messages thus need no route step: no second claim, transaction, reload of the parse and broker
message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, undefer
from sqlalchemy.orm.attributes import set_committed_value

from dossiermail.domain import RoutingDecision
from dossiermail.jobs.outbox import (
    Claim,
    LeaseLostError,
    Send,
    claim,
    claim_on,
    claim_siblings,
    fail,
    finish,
    publish_subject,
    release,
    request_step,
    rerun_running,
)
from dossiermail.jobs.pipeline import RouteOptions, parse_stored, route_and_heal
from dossiermail.jobs.republish import republish
from dossiermail.jobs.routelocks import (
    TRY_ALL,
    RouteLocks,
    RouteLocksBusyError,
    lock_key,
    message_lock_names,
)
from dossiermail.jobs.settings import JobSettings
from dossiermail.store import Store
from dossiermail.store.models import ParsedRow, RawMessage
from dossiermail.store.repo import parsed_from_row

log = logging.getLogger("dossiermail.jobs")

PUBLISH_ROUNDS, PUBLISH_PAUSE = 5, 0.1
"""A publish step finding its building being published tries this often, this many seconds apart."""
LOCK_ROUNDS = 20
"""Route transactions re-run at most this often because a lock learnt while routing was busy."""


@dataclass(frozen=True)
class StepContext:
    """Everything a step needs, shared by the threads of one worker process."""

    store: Store
    options: RouteOptions
    site_dir: Path
    settings: JobSettings
    worker: str


def run_step(context: StepContext, step_id: int) -> list[Send]:
    """Run one step if it is ours to run; the follow-up steps to send once committed."""
    held = _claim(context, step_id)
    if held is None:
        return []
    try:
        sends, again = _run_held(context, held)
    except LeaseLostError as exc:
        log.warning("%s; its work was rolled back", exc)
        return []
    except Exception as exc:
        error = _brief(exc)
        log.warning(
            "step %d (%s %s) attempt %d failed: %s", held.id, held.step, held.subject, held.attempts, error
        )
        with context.store.session() as session:
            retry = fail(session, held, error, context.settings)
        return [retry] if retry is not None else []
    return [*sends, again] if again is not None else sends


def _claim(context: StepContext, step_id: int) -> Claim | None:
    """The claim, committed before the work starts (a worker that dies mid-step has used an
    attempt): on PostgreSQL one autocommitted ``UPDATE``, else a transaction of its own."""
    engine = context.store.engine
    if engine.dialect.name != "postgresql":
        with context.store.session() as session:
            return claim(session, step_id, context.worker, context.settings)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return claim_on(connection, step_id, context.worker, context.settings)


def _run_held(context: StepContext, held: Claim) -> tuple[list[Send], Send | None]:
    """The step's work and its ``finish`` in one transaction, re-run while route locks are busy."""
    learnt: frozenset[str] = frozenset()
    for _ in range(LOCK_ROUNDS):
        try:
            with context.store.session() as session:
                locks = RouteLocks(session, context.options.rules, learnt)
                sends = HANDLERS[held.step](session, context, held, locks)
                return sends, finish(session, held, _rerun_delay(context, held.step))
        except RouteLocksBusyError as busy:
            learnt = busy.names
    raise RuntimeError(f"route locks still busy after {LOCK_ROUNDS} rounds: {', '.join(sorted(learnt))}")


def _rerun_delay(context: StepContext, step: str) -> float:
    """A publication requested again while it ran waits the publish delay, as a new request does:
    the run that follows gathers the rest of a burst instead of starting at once."""
    return context.settings.publish_delay if step == "publish" else 0.0


def _locked_message(session: Session, key: str) -> RawMessage | None:
    """The message's row, locked, with its raw bytes (one statement: the parser reads them)."""
    query = select(RawMessage).where(RawMessage.key == key).options(undefer(RawMessage.raw))
    return session.scalar(query.with_for_update().execution_options(populate_existing=True))


def _routed_rows(session: Session, key: str) -> tuple[ParsedRow, RawMessage] | None:
    """The message's parse (with its attachments) and its row, in one statement, unlocked."""
    query = (
        select(ParsedRow, RawMessage)
        .join(RawMessage, RawMessage.key == ParsedRow.message_key)
        .where(ParsedRow.message_key == key)
        .options(joinedload(ParsedRow.attachments))
    )
    row = session.execute(query).unique().first()
    return (row[0], row[1]) if row is not None else None


_STATE_FOR_UPDATE = select(RawMessage.state).where(RawMessage.key == bindparam("key")).with_for_update()


def _lock_state(session: Session, raw: RawMessage) -> str | None:
    """Lock the message's row and refresh its ``state`` (the only column routing finds changed:
    the rest is written once, when the message is accepted); None when the row is gone."""
    state = session.connection().execute(_STATE_FOR_UPDATE, {"key": raw.key}).scalar()
    if state is not None:
        set_committed_value(raw, "state", state)
    return state


def parse_step(session: Session, context: StepContext, held: Claim, locks: RouteLocks) -> list[Send]:
    """Parse an accepted message (quarantine on a parser refusal), then route it here if its route
    locks are free; else request its route step."""
    raw = _locked_message(session, held.subject)
    if raw is None:
        return []
    parsed: ParsedRow | None = None
    if raw.state == "accepted":  # never parsed: a parse commits with its ``parsed`` state
        parse_stored(session, raw, replace=False)
        parsed = _added_parse(session, raw.key)
    if raw.state != "parsed":
        return []
    key = raw.key
    routed = _route_here(session, context, raw, parsed, locks)
    if routed is not None:
        return routed
    send = request_step(session, "route", key, sending=True)
    return [send] if send is not None else []


def _added_parse(session: Session, key: str) -> ParsedRow | None:
    """The parse of ``key`` this session is about to insert, held by the caller: once flushed the
    session only keeps a weak reference to it, and routing would load it (and its attachments) again."""
    return next((o for o in session.new if isinstance(o, ParsedRow) and o.message_key == key), None)


def _route_here(
    session: Session, context: StepContext, raw: RawMessage, parsed: ParsedRow | None, locks: RouteLocks
) -> list[Send] | None:
    """Route the parsed message whose row this transaction holds, as its route step would: the
    publish steps to send, or None when it is left to a route step. ``parsed``: its parse, when
    this step made it (else loaded).

    Its route locks are only tried, never waited for while its row is locked (a route step waits
    for them before taking the row).
    """
    session.flush()
    key = raw.key
    parsed = parsed if parsed is not None else session.get(ParsedRow, key)
    if parsed is None or not locks.try_take(
        message_lock_names(parsed_from_row(parsed, raw), context.options.rules), key
    ):
        log.debug("message %s: route locks busy; left to a route step", key)
        return None
    decisions = _routed_in_savepoint(session, context, key, locks)
    return _request_publications(session, context, decisions) if decisions is not None else None


def _routed_in_savepoint(
    session: Session, context: StepContext, key: str, locks: RouteLocks
) -> list[tuple[str, RoutingDecision]] | None:
    """``route_and_heal`` in a savepoint; None when a lock learnt while routing is busy or routing
    fails: rolled back to the parse alone (the locks taken inside the savepoint too)."""
    try:
        with session.begin_nested():
            return route_and_heal(session, key, context.options, heal_mentions=True, guard=locks)
    except RouteLocksBusyError as busy:
        log.debug("message %s: %s; left to a route step", key, busy)
    except Exception as exc:
        log.warning("message %s: routing after its parse failed (%s); left to a route step", key, _brief(exc))
    session.expire_all()  # routing's marks (``routed`` states) were rolled back with the savepoint
    return None


def _brief(exc: BaseException) -> str:
    """An exception's type and the first line of its message."""
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"


def route_step(session: Session, context: StepContext, held: Claim, locks: RouteLocks) -> list[Send]:
    """Route a parsed message, heal what it unblocks, request the publication of touched dossiers.

    The message's route locks are taken first (its parse is stored and never changes), then its row.
    """
    rows = _routed_rows(session, held.subject)
    if rows is None:
        return []
    parsed, raw = rows
    locks.take(message_lock_names(parsed_from_row(parsed, raw), context.options.rules), held.subject)
    if _lock_state(session, raw) != "parsed":
        return []
    decisions = route_and_heal(session, raw.key, context.options, heal_mentions=True, guard=locks)
    return _request_publications(session, context, decisions)


def _request_publications(
    session: Session, context: StepContext, decisions: list[tuple[str, RoutingDecision]]
) -> list[Send]:
    """Request the publish step of each building the decisions assigned mail to; those to send."""
    session.flush()
    sends: list[Send] = []
    delay = context.settings.publish_delay
    for building in sorted({b for _, decision in decisions if (b := _published_building(decision))}):
        subject = publish_subject(building, "")
        send = request_step(session, "publish", subject, delay, sending=True, existing=True)
        if send is not None:
            sends.append(send)
    return sends


def _published_building(decision: RoutingDecision) -> str | None:
    """The building whose extranet shows the message just routed: that of an assignment."""
    return decision.building if decision.outcome == "assigned" else None


def publish_step(session: Session, context: StepContext, held: Claim, locks: RouteLocks) -> list[Send]:
    """Republish a building (subject ``building/``; ``building/REF`` from older versions).

    Route steps ask for one publish step per building, not per dossier: the publication is
    incremental (only dossiers whose data changed are rendered again), so one step is all a burst
    needs, and a step requested while it runs runs once more after the publish delay. One run at
    a time publishes a building: when another one is publishing it, this step asks that run to go
    once more (its data may predate this step's) and is done. Then the building's other pending
    publish steps (older per-dossier ones) are claimed (committed before anything is read): this run
    republishes the whole building, so it finishes them too, or gives them back untried if it fails.
    """
    building, _, dossier = held.subject.partition("/")
    prefix = publish_subject(building, "")
    if not _building_publisher(session, held, prefix):
        return []
    with context.store.session() as claiming:
        siblings = claim_siblings(claiming, held, prefix, context.settings)
    try:
        republish(context.store, context.options.rules, context.site_dir, building, dossier)
    except Exception:
        with context.store.session() as releasing:
            release(releasing, siblings)
        raise
    sends: list[Send] = []
    for sibling in siblings:
        try:
            again = finish(session, sibling, context.settings.publish_delay)
        except LeaseLostError:
            continue  # re-claimed after its lease expired: that run publishes it again
        if again is not None:
            sends.append(again)
    return sends


def _building_publisher(session: Session, held: Claim, prefix: str) -> bool:
    """Lock the building's publication for this transaction (PostgreSQL); False when the run in
    progress was asked to go once more instead. If neither works for a while (the run is
    committing, or others are asking it too), publish anyway: twice is only wasteful."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = lock_key(f"publish:{prefix}")
    for _ in range(PUBLISH_ROUNDS):
        if session.scalar(TRY_ALL, {"keys": [key]}):
            return True
        if rerun_running(session, held, prefix):
            return False
        time.sleep(PUBLISH_PAUSE)
    return True


HANDLERS: dict[str, Callable[[Session, StepContext, Claim, RouteLocks], list[Send]]] = {
    "parse": parse_step,
    "route": route_step,
    "publish": publish_step,
}
