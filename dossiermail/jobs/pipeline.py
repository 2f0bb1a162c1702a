"""The parse and route steps over the store, idempotent and keyed by message key.

``parse_stored`` turns an accepted raw message into a parsed one (or quarantines it with the parser's
one-line reason); ``route_message`` decides and records where it goes, then heals what was waiting
for it: replies that arrived before their parent, and messages in review that carry a reference
whose dossier has just been opened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from dossiermail.domain import ParsedMessage, RoutingDecision
from dossiermail.parse.pool import ParseJob, ParseOutcome, ParseRefusal, parse_job
from dossiermail.rules.model import Rules
from dossiermail.store import Store
from dossiermail.store.models import Base, DecisionRow, ParsedRow, RawMessage
from dossiermail.store.repo import (
    StoreIndex,
    parsed_from_row,
    quarantine,
    review_keys_mentioning,
    save_decision,
    save_parsed,
    waiting_children,
)
from dossiermail.threading import RoutingContext, route
from dossiermail.threading.context import MemoIndex
from dossiermail.threading.decide import memo_index

BATCH = 200


@dataclass(frozen=True)
class RouteOptions:
    """The rules routing runs under."""

    rules: Rules


class RouteGuard(Protocol):
    """Told what routing is about to read and write (the workers' route locks)."""

    def message(self, message: ParsedMessage) -> None:
        """Before ``message`` is routed."""

    def decision(self, decision: RoutingDecision) -> None:
        """Before ``decision`` is stored."""


@dataclass
class StepCounts:
    """How many messages each step handled, by outcome."""

    parsed: int = 0
    quarantined: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    healed: int = 0


def parse_stored(
    session: Session, row: RawMessage, raw: bytes | None = None, *, replace: bool = True
) -> bool:
    """Parse one accepted message; False (and quarantined) when the parser refuses it.

    ``replace=False`` skips looking for an older parse (a message accepted a moment ago has none).
    """
    job = ParseJob(row.key, raw if raw is not None else row.raw, tuple(row.envelope_to))
    return record_parse(session, row, parse_job(job), replace=replace)


def record_parse(session: Session, row: RawMessage, outcome: ParseOutcome, *, replace: bool = True) -> bool:
    """Store a parse made here or on a parse worker: the parsed message, or the quarantine with the
    parser's one-line reason. False when the message was quarantined."""
    if isinstance(outcome, ParseRefusal):
        quarantine(session, row.key, "parse", outcome.reason)
        return False
    save_parsed(session, outcome, replace=replace)
    row.state = "parsed"
    return True


def record_parses(session: Session, outcomes: Sequence[ParseOutcome]) -> int:
    """Store a batch of parses of messages accepted by this import (those still ``accepted``; a
    message parsed meanwhile keeps its parse); returns how many were quarantined."""
    by_key = {outcome.message_key: outcome for outcome in outcomes}
    rows = session.scalars(select(RawMessage).where(RawMessage.key.in_(list(by_key))))
    refused = 0
    for row in rows:
        if row.state == "accepted":
            refused += not record_parse(session, row, by_key[row.key], replace=False)
    return refused


def _context(session: Session, raw: RawMessage, options: RouteOptions) -> RoutingContext:
    return RoutingContext(
        rules=options.rules,
        index=StoreIndex(session),
        forced_building=raw.forced_building,
        auto_dossiers=raw.auto_dossiers,
    )


def decide(
    session: Session,
    key: str,
    options: RouteOptions,
    *,
    only_if_resolved: bool = False,
    guard: RouteGuard | None = None,
) -> RoutingDecision | None:
    """Route one parsed message and store the decision (None if it is not parsed).

    ``only_if_resolved``: store nothing (and return None) when the message would stay in review.
    """
    decided = _decide(session, key, options, only_if_resolved=only_if_resolved, guard=guard)
    return decided[0] if decided is not None else None


def _decide(
    session: Session,
    key: str,
    options: RouteOptions,
    *,
    only_if_resolved: bool,
    guard: RouteGuard | None,
    marks: RoutedMarks | None = None,
) -> tuple[RoutingDecision, str | None] | None:
    """``decide``, also giving the normalized Message-ID replies in review may be waiting for
    (None when routing learnt that none is): what healing looks for, without a look-up."""
    raw = session.get(RawMessage, key)
    parsed_row = session.get(ParsedRow, key)
    if raw is None or parsed_row is None:
        return None
    message = parsed_from_row(parsed_row, raw)
    if guard is not None:
        guard.message(message)
    context = _context(session, raw, options)
    index = memo_index(message, context)
    decision = route(message, replace(context, index=index))
    if only_if_resolved and decision.outcome == "needs_review":
        return None
    if guard is not None:
        guard.decision(decision)
    save_decision(session, key, decision)
    if marks is None:
        _mark_routed(session, [raw])
    else:
        marks.add(raw)
    return decision, _may_be_awaited(index, parsed_row.message_id_norm, key)


def _may_be_awaited(index: MemoIndex, message_id: str | None, key: str) -> str | None:
    """``message_id``, unless routing already learnt that no reply in review points at it.

    Routing asked ``linked`` for the message's own id (``shared_references``); the messages in
    review waiting for it are among those links, and nothing but this message's own decision
    (assigned, when healing looks) was stored since (route locks: the same ``id:`` lock).
    """
    if not message_id:
        return None
    links = index.known_links(message_id, key)
    if links is not None and all(link.outcome != "needs_review" for link in links):
        return None
    return message_id


def _mark_routed(session: Session, rows: Sequence[RawMessage]) -> None:
    """``state = "routed"`` for ``rows`` as one Core ``UPDATE`` (``save_decision`` flushed the session
    before), the loaded rows given the new value: cheaper than a unit-of-work flush of them later."""
    session.connection().execute(_ROUTED, [{"routed_key": raw.key} for raw in rows])
    for raw in rows:
        set_committed_value(raw, "state", "routed")


class RoutedMarks:
    """Messages routed in this transaction, marked ``routed`` together before it commits: one
    ``executemany`` per chunk instead of an ``UPDATE`` per message (routing never reads the state)."""

    def __init__(self) -> None:
        self._rows: list[RawMessage] = []

    def add(self, raw: RawMessage) -> None:
        """``raw`` was routed; marked at the next ``write``."""
        self._rows.append(raw)

    def write(self, session: Session) -> None:
        """Mark every message added since the last call (the loaded rows given the new value)."""
        if self._rows:
            _mark_routed(session, self._rows)
            self._rows.clear()


_RAW = Base.metadata.tables[RawMessage.__tablename__]
_ROUTED = update(_RAW).where(_RAW.c.key == bindparam("routed_key")).values(state="routed")


def route_message(
    session: Session, key: str, options: RouteOptions, *, marks: RoutedMarks | None = None
) -> int:
    """Route ``key`` then re-route what it unblocks; returns how many were healed.

    With ``marks``, the messages routed are marked ``routed`` when the caller writes them."""
    decisions = route_and_heal(session, key, options, marks=marks)
    return sum(1 for current, decision in decisions if current != key and decision.outcome == "assigned")


def route_and_heal(
    session: Session,
    key: str,
    options: RouteOptions,
    *,
    heal_mentions: bool = False,
    guard: RouteGuard | None = None,
    marks: RoutedMarks | None = None,
) -> list[tuple[str, RoutingDecision]]:
    """Route ``key``, then the messages it unblocks; every decision stored, in order, by message key.

    Healing covers replies waiting for their parent and messages in review carrying the reference
    of a dossier just opened. With ``heal_mentions`` (the workers, which route in arrival order,
    not date order) it also re-tries messages in review carrying the reference of the dossier this
    one joined (its participants may make that reference trusted); those are kept only when they
    leave review, so a message that stays unsure gets no new decision. ``guard`` hears of every
    message before it is routed and of every decision before it is stored.
    """
    made: list[tuple[str, RoutingDecision]] = []
    queue, seen = [(key, False)], {key}
    while queue:
        current, only_if_resolved = queue.pop(0)
        decided = _decide(
            session, current, options, only_if_resolved=only_if_resolved, guard=guard, marks=marks
        )
        if decided is None:
            continue
        decision, message_id = decided
        made.append((current, decision))
        for child, conditional in _unblocked(session, message_id, decision, heal_mentions=heal_mentions):
            if child not in seen:
                seen.add(child)
                queue.append((child, conditional))
    return made


def _unblocked(
    session: Session, message_id: str | None, decision: RoutingDecision, *, heal_mentions: bool
) -> list[tuple[str, bool]]:
    """Messages the decision may unblock: replies waiting for ``message_id`` (the normalized
    Message-ID read with the message), and messages in review carrying the dossier's reference."""
    if decision.outcome != "assigned":
        return []
    session.flush()
    connection = session.connection()  # Core look-ups: the ORM execution layer cost more than the SQL
    children: list[tuple[str, bool]] = []
    if message_id:
        children += [(child, False) for child in waiting_children(connection, message_id)]
    if decision.opens is not None and decision.opens.reference:
        children += [(child, False) for child in review_keys_mentioning(connection, decision.opens.reference)]
    elif heal_mentions and decision.dossier:
        children += [(child, True) for child in review_keys_mentioning(connection, decision.dossier)]
    return children


def _keys_in_state(session: Session, state: str) -> list[str]:
    order = func.coalesce(ParsedRow.date, RawMessage.received_at)
    query = (
        select(RawMessage.key)
        .outerjoin(ParsedRow, ParsedRow.message_key == RawMessage.key)
        .where(RawMessage.state == state)
        .order_by(order, RawMessage.key)
    )
    return list(session.scalars(query))


def process_pending(
    store: Store,
    options: RouteOptions,
    *,
    on_step: Callable[[str, int, int], None] | None = None,
) -> StepCounts:
    """Parse every accepted message, then route every parsed one in date order."""
    counts = StepCounts()
    with store.session() as session:
        accepted = _keys_in_state(session, "accepted")
    for chunk in _chunks(accepted, BATCH):
        with store.session() as session:
            for key in chunk:
                row = session.get(RawMessage, key)
                if row is not None and row.state == "accepted":
                    ok = parse_stored(session, row)
                    counts.parsed += ok
                    counts.quarantined += not ok
        if on_step:
            on_step("parse", len(chunk), len(accepted))
    with store.session() as session:
        pending = _keys_in_state(session, "parsed")
    for chunk in _chunks(pending, BATCH):
        with store.session() as session:
            loaded = _load_for_routing(session, chunk)  # held: the identity map holds weak references
            marks = RoutedMarks()
            for key in chunk:
                counts.healed += route_message(session, key, options, marks=marks)
            marks.write(session)
            del loaded
        if on_step:
            on_step("route", len(chunk), len(pending))
    return counts


def _load_for_routing(session: Session, keys: list[str]) -> list[object]:
    """A chunk's rows (and attachments) in two queries: ``decide`` then finds them in the session
    instead of asking the store three times a message."""
    raws = session.scalars(select(RawMessage).where(RawMessage.key.in_(keys))).all()
    parsed = select(ParsedRow).where(ParsedRow.message_key.in_(keys))
    return [*raws, *session.scalars(parsed.options(selectinload(ParsedRow.attachments)))]


def _chunks(keys: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def outcomes_of(session: Session, keys: Iterable[str]) -> Counter[str]:
    """Current outcome of each key: a routing outcome, ``quarantined``, or the pending state."""
    counts: Counter[str] = Counter()
    for chunk in _chunks(list(keys), 500):
        states = {
            key: state
            for key, state in session.execute(
                select(RawMessage.key, RawMessage.state).where(RawMessage.key.in_(chunk))
            )
        }
        decisions = {
            key: outcome
            for key, outcome in session.execute(
                select(DecisionRow.message_key, DecisionRow.outcome)
                .where(DecisionRow.message_key.in_(chunk))
                .where(DecisionRow.superseded_at.is_(None))
            )
        }
        for key in chunk:
            counts[decisions.get(key) or states.get(key, "missing")] += 1
    return counts
