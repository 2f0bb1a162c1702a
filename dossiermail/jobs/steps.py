"""What a worker does with one step id: claim it, do the work and mark it done in one transaction.

* parse: parse the raw message (or quarantine it), then request its route step;
* route: route it and heal what it unblocks, then request a publish step per dossier touched;
* publish: :func:`dossiermail.jobs.republish.republish` of one building/dossier, one run per
  building at a time, taking the building's other pending publish steps with it.

Each step re-checks the message's state under a row lock, so running it twice changes nothing.
Route steps whose decisions may depend on each other are serialized by fine-grained advisory locks
(:mod:`dossiermail.jobs.routelocks`); the others run side by side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dossiermail.jobs.outbox import (
    Claim,
    LeaseLostError,
    Send,
    claim,
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
from dossiermail.store.repo import current_decision, parsed_from_row

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
    with context.store.session() as session:
        held = claim(session, step_id, context.worker, context.settings)
    if held is None:
        return []
    try:
        sends, again = _run_held(context, held)
    except LeaseLostError as exc:
        log.warning("%s; its work was rolled back", exc)
        return []
    except Exception as exc:
        error = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
        log.warning(
            "step %d (%s %s) attempt %d failed: %s", held.id, held.step, held.subject, held.attempts, error
        )
        with context.store.session() as session:
            retry = fail(session, held, error, context.settings)
        return [retry] if retry is not None else []
    return [*sends, again] if again is not None else sends


def _run_held(context: StepContext, held: Claim) -> tuple[list[Send], Send | None]:
    """The step's work and its ``finish`` in one transaction, re-run while route locks are busy."""
    learnt: frozenset[str] = frozenset()
    for _ in range(LOCK_ROUNDS):
        try:
            with context.store.session() as session:
                locks = RouteLocks(session, context.options.rules, learnt)
                sends = HANDLERS[held.step](session, context, held, locks)
                return sends, finish(session, held)
        except RouteLocksBusyError as busy:
            learnt = busy.names
    raise RuntimeError(f"route locks still busy after {LOCK_ROUNDS} rounds: {', '.join(sorted(learnt))}")


def _locked_message(session: Session, key: str) -> RawMessage | None:
    query = select(RawMessage).where(RawMessage.key == key).with_for_update()
    return session.scalar(query.execution_options(populate_existing=True))


def parse_step(session: Session, context: StepContext, held: Claim, locks: RouteLocks) -> list[Send]:
    """Parse an accepted message (quarantine on a parser refusal); request its route step."""
    raw = _locked_message(session, held.subject)
    if raw is None:
        return []
    if raw.state == "accepted":
        parse_stored(session, raw)
    if raw.state != "parsed":
        return []
    send = request_step(session, "route", raw.key)
    return [send] if send is not None else []


def route_step(session: Session, context: StepContext, held: Claim, locks: RouteLocks) -> list[Send]:
    """Route a parsed message, heal what it unblocks, request the publication of touched dossiers.

    The message's route locks are taken first (its parse is stored and never changes), then its row.
    """
    parsed = session.get(ParsedRow, held.subject)
    raw = session.get(RawMessage, held.subject)
    if parsed is None or raw is None:
        return []
    locks.take(message_lock_names(parsed_from_row(parsed, raw), context.options.rules), held.subject)
    raw = _locked_message(session, held.subject)
    if raw is None or raw.state != "parsed":
        return []
    decisions = route_and_heal(session, raw.key, context.options, heal_mentions=True, guard=locks)
    session.flush()
    sends: list[Send] = []
    for subject in sorted({s for key, _ in decisions if (s := _dossier_of(session, key))}):
        send = request_step(session, "publish", subject, context.settings.publish_delay)
        if send is not None:
            sends.append(send)
    return sends


def _dossier_of(session: Session, key: str) -> str | None:
    row = current_decision(session, key)
    if row is None or row.outcome != "assigned" or row.building is None or row.dossier is None:
        return None
    return publish_subject(row.building.slug, row.dossier.reference)


def publish_step(session: Session, context: StepContext, held: Claim, locks: RouteLocks) -> list[Send]:
    """Republish one dossier (its building, for now).

    One run at a time publishes a building: when another one is publishing it, this step asks
    that run to go once more (its data may predate this step's) and is done. Then the building's
    other pending publish steps are claimed (committed before anything is read): this run
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
            again = finish(session, sibling)
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
