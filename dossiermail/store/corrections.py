"""Admin corrections over one session: the review queue, manual assignments, dossier open/close/merge.

Every correction supersedes the message's decision through ``save_decision`` (the old one stays as
history), records a ``manual`` piece of evidence, and logs a ``CorrectionRow``: who, when, why, what.
A manual decision is never re-routed: healing only touches messages whose current outcome is
``needs_review``. Mistakes raise ``CorrectionError`` with a one-line message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dossiermail.domain import Evidence, RoutingDecision
from dossiermail.store.models import (
    BuildingRow,
    CorrectionRow,
    DecisionRow,
    DossierRow,
    ParsedRow,
    RawMessage,
    utcnow,
)
from dossiermail.store.repo import current_decision, save_decision, waiting_children

MIN_PREFIX = 8
MERGED = "fusionne"
CLOSED = "clos"
MANUAL = "manual"
_HEX = re.compile(r"[0-9a-f]+")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class CorrectionError(Exception):
    """A correction that cannot be made; the message is one line for the user."""


@dataclass(frozen=True)
class Who:
    """Who makes a correction and why."""

    actor: str
    reason: str = ""


@dataclass(frozen=True)
class ReviewItem:
    """A message waiting in the review queue."""

    key: str
    date: datetime | None
    sender: str
    subject: str
    building: str | None
    reason: str


@dataclass(frozen=True)
class Assignment:
    """A manual assignment: the message, where it went, and the replies now ready to re-route."""

    key: str
    dossier: str
    heal: tuple[str, ...]


@dataclass(frozen=True)
class DossierSummary:
    """One dossier for ``dossier list``."""

    building: str
    reference: str
    title: str
    status: str
    category: str | None
    messages: int
    opened_at: datetime


def label(dossier: DossierRow) -> str:
    """``building/REFERENCE``: unambiguous everywhere."""
    return f"{dossier.building.slug}/{dossier.reference}"


# --- lookups ------------------------------------------------------------------------------


def resolve_message(session: Session, key: str) -> str:
    """The stored key for a full key or a unique prefix of at least 8 hex characters."""
    prefix = key.strip().lower()
    if len(prefix) < MIN_PREFIX or not _HEX.fullmatch(prefix):
        raise CorrectionError(f"{key!r} is not a message key (at least {MIN_PREFIX} hex characters)")
    found = list(session.scalars(select(RawMessage.key).where(RawMessage.key.startswith(prefix)).limit(3)))
    if not found:
        raise CorrectionError(f"unknown message {key!r}")
    if len(found) > 1:
        raise CorrectionError(f"ambiguous message key prefix {key!r}: give more characters")
    return found[0]


def resolve_dossier(session: Session, spec: str) -> DossierRow:
    """The dossier named ``REFERENCE`` or ``BUILDING/REFERENCE``."""
    building, _, reference = spec.rpartition("/")
    query = select(DossierRow).join(DossierRow.building).where(DossierRow.reference == reference)
    if building:
        query = query.where(BuildingRow.slug == building)
    found = list(session.scalars(query.order_by(BuildingRow.slug)))
    if not found:
        raise CorrectionError(f"unknown dossier {spec!r}")
    if len(found) > 1:
        where = ", ".join(label(d) for d in found)
        raise CorrectionError(f"dossier {spec!r} is in several buildings ({where}): use BUILDING/REFERENCE")
    return found[0]


def review_queue(session: Session, building: str | None = None) -> list[ReviewItem]:
    """Messages whose current decision is ``needs_review``, oldest first."""
    when = func.coalesce(ParsedRow.date, RawMessage.received_at)
    query = (
        select(RawMessage.key, ParsedRow, BuildingRow.slug, DecisionRow.reason)
        .join(DecisionRow, DecisionRow.message_key == RawMessage.key)
        .join(ParsedRow, ParsedRow.message_key == RawMessage.key)
        .outerjoin(BuildingRow, BuildingRow.id == DecisionRow.building_id)
        .where(DecisionRow.superseded_at.is_(None), DecisionRow.outcome == "needs_review")
        .order_by(when, RawMessage.key)
    )
    if building is not None:
        query = query.where(BuildingRow.slug == _known_building(session, building).slug)
    return [_review_item(*row) for row in session.execute(query)]


def _known_building(session: Session, slug: str) -> BuildingRow:
    row = session.scalar(select(BuildingRow).where(BuildingRow.slug == slug))
    if row is None:
        known = ", ".join(session.scalars(select(BuildingRow.slug).order_by(BuildingRow.slug)))
        raise CorrectionError(f"unknown building {slug!r} (known: {known or 'none'})")
    return row


def _review_item(key: str, parsed: ParsedRow, building: str | None, reason: str) -> ReviewItem:
    sender = parsed.from_name or parsed.from_email or ""
    return ReviewItem(key, parsed.date, sender, parsed.subject, building, reason)


def dossier_summaries(session: Session, building: str | None = None) -> list[DossierSummary]:
    """Every dossier (of one building) with its number of messages, by building then reference."""
    counts = (
        select(DecisionRow.dossier_id, func.count().label("n"))
        .where(DecisionRow.superseded_at.is_(None), DecisionRow.outcome == "assigned")
        .group_by(DecisionRow.dossier_id)
        .subquery()
    )
    query = (
        select(DossierRow, func.coalesce(counts.c.n, 0))
        .join(DossierRow.building)
        .outerjoin(counts, counts.c.dossier_id == DossierRow.id)
        .order_by(BuildingRow.slug, DossierRow.reference)
    )
    if building is not None:
        query = query.where(BuildingRow.slug == _known_building(session, building).slug)
    return [
        DossierSummary(d.building.slug, d.reference, d.title, d.status, d.category, n, d.opened_at)
        for d, n in session.execute(query)
    ]


def dossier_history(session: Session, dossier: DossierRow) -> list[CorrectionRow]:
    """Corrections of the dossier itself and of every message ever filed in it, oldest first."""
    ever_in = select(DecisionRow.message_key).where(DecisionRow.dossier_id == dossier.id)
    query = (
        select(CorrectionRow)
        .where(or_(CorrectionRow.dossier_id == dossier.id, CorrectionRow.message_key.in_(ever_in)))
        .order_by(CorrectionRow.created_at, CorrectionRow.id)
    )
    return list(session.scalars(query))


def decision_history(session: Session, key: str) -> list[DecisionRow]:
    """Every decision of a message, the current one last."""
    query = select(DecisionRow).where(DecisionRow.message_key == key).order_by(DecisionRow.id)
    return list(session.scalars(query))


# --- message corrections ------------------------------------------------------------------


def assign(session: Session, key: str, dossier: DossierRow, who: Who, *, force: bool = False) -> Assignment:
    """File a message from review (or ignored) into ``dossier`` by hand."""
    decision = current_decision(session, key)
    if decision is not None and decision.outcome == "assigned":
        where = label(decision.dossier) if decision.dossier else "a dossier"
        raise CorrectionError(f"message {key[:12]} is already in {where}: use 'dossiermail dossier move'")
    return _file(session, key, dossier, who, ("assign", "review assign"), force=force)


def move(session: Session, key: str, dossier: DossierRow, who: Who, *, force: bool = False) -> Assignment:
    """Move an assigned message into another dossier by hand."""
    decision = current_decision(session, key)
    if decision is None or decision.outcome != "assigned":
        outcome = decision.outcome if decision else "not routed"
        raise CorrectionError(f"message {key[:12]} is {outcome}, not in a dossier: use 'review assign'")
    if decision.dossier_id == dossier.id:
        raise CorrectionError(f"message {key[:12]} is already in {label(dossier)}")
    return _file(session, key, dossier, who, ("move", "dossier move"), force=force)


def named_buildings(decision: DecisionRow | None) -> set[str]:
    """The buildings a decision's evidence allows: its building, else every building with evidence."""
    if decision is None:
        return set()
    if decision.building is not None:
        return {decision.building.slug}
    return {e.building for e in decision.evidence if e.building and e.score > 0}


def _file(
    session: Session, key: str, dossier: DossierRow, who: Who, names: tuple[str, str], *, force: bool
) -> Assignment:
    action, rule = names
    parsed = session.get(ParsedRow, key)
    if parsed is None:
        raise CorrectionError(f"message {key[:12]} was not parsed (see 'dossiermail quarantine list')")
    _check_target(dossier)
    old = current_decision(session, key)
    allowed = named_buildings(old)
    crossing = bool(allowed) and dossier.building.slug not in allowed
    if crossing and not force:
        raise CorrectionError(
            f"message {key[:12]} belongs to {', '.join(sorted(allowed))}, not {dossier.building.slug}: "
            "refusing to cross buildings (use --force if you are sure)"
        )
    before = _where(old)
    save_decision(session, key, manual_decision(dossier, who, rule))
    detail: dict[str, object] = {"from": before, "to": label(dossier), "forced": crossing}
    _log(session, action, who, key=key, dossier=dossier, detail=detail)
    session.flush()
    heal = tuple(waiting_children(session, parsed.message_id_norm)) if parsed.message_id_norm else ()
    return Assignment(key, label(dossier), heal)


def _check_target(dossier: DossierRow) -> None:
    if dossier.status == MERGED:
        raise CorrectionError(f"dossier {label(dossier)} was merged into another one: file into that one")


def _where(decision: DecisionRow | None) -> str:
    if decision is None:
        return "not routed"
    if decision.dossier is not None:
        return label(decision.dossier)
    return decision.outcome


def manual_decision(dossier: DossierRow, who: Who, rule: str) -> RoutingDecision:
    """The decision an admin's correction records: one ``manual`` piece of evidence at 1.0."""
    slug, reference = dossier.building.slug, dossier.reference
    detail = f"by {who.actor}: {who.reason}" if who.reason else f"by {who.actor}"
    evidence = Evidence(MANUAL, slug, reference, 1.0, rule, detail)
    reason = f"filed by hand ({rule}) by {who.actor}"
    return RoutingDecision("assigned", slug, reference, 1.0, (evidence,), MANUAL, reason)


def _log(
    session: Session,
    action: str,
    who: Who,
    *,
    key: str | None = None,
    dossier: DossierRow | None = None,
    detail: dict[str, object] | None = None,
) -> CorrectionRow:
    row = CorrectionRow(
        action=action,
        message_key=key,
        dossier_id=dossier.id if dossier else None,
        actor=who.actor,
        reason=who.reason,
        detail=detail or {},
        created_at=utcnow(),
    )
    session.add(row)
    return row


# --- dossier corrections ------------------------------------------------------------------


def open_dossier(
    session: Session, building: str, reference: str, title: str, who: Who, category: str | None = None
) -> DossierRow:
    """Open a dossier in a known building; its reference must be new in that building."""
    row = _known_building(session, building)
    if not _REFERENCE.fullmatch(reference):
        raise CorrectionError(f"{reference!r} is not a dossier reference (letters, digits, '-', '_', '.')")
    exists = select(DossierRow.id).where(DossierRow.building_id == row.id, DossierRow.reference == reference)
    if session.scalar(exists) is not None:
        raise CorrectionError(f"dossier {building}/{reference} already exists")
    if not title.strip():
        raise CorrectionError("a dossier needs a title")
    dossier = DossierRow(building=row, reference=reference, title=title.strip(), status="ouvert",
                         category=category, opened_at=utcnow(), opened_by=who.actor)  # fmt: skip
    session.add(dossier)
    session.flush()
    _log(session, "open", who, dossier=dossier, detail={"title": dossier.title, "category": category})
    return dossier


def close_dossier(session: Session, dossier: DossierRow, who: Who) -> None:
    """Close a dossier (its messages stay in it)."""
    if dossier.status in (CLOSED, MERGED):
        raise CorrectionError(f"dossier {label(dossier)} is already {dossier.status}")
    detail: dict[str, object] = {"from": dossier.status, "to": CLOSED}
    dossier.status = CLOSED
    _log(session, "close", who, dossier=dossier, detail=detail)


def merge_dossiers(session: Session, source: DossierRow, target: DossierRow, who: Who) -> list[str]:
    """Move every message of ``source`` into ``target`` (same building); ``source`` becomes merged."""
    if source.id == target.id:
        raise CorrectionError(f"cannot merge {label(source)} into itself")
    if source.building_id != target.building_id:
        raise CorrectionError(
            f"cannot merge {label(source)} into {label(target)}: dossiers of different buildings"
        )
    _check_target(target)
    keys = list(
        session.scalars(
            select(DecisionRow.message_key)
            .where(DecisionRow.dossier_id == source.id, DecisionRow.superseded_at.is_(None))
            .order_by(DecisionRow.message_key)
        )
    )
    for key in keys:
        save_decision(session, key, manual_decision(target, who, f"dossier merge {source.reference}"))
    source.status = MERGED
    _log(session, "merge", who, dossier=source, detail={"into": label(target), "messages": keys})
    _log(session, "merged_in", who, dossier=target, detail={"from": label(source), "messages": keys})
    session.flush()
    return keys
