"""Reads the store and builds dossier timelines and building overviews.

A message belongs to a dossier when its current routing decision (``superseded_at`` NULL) assigned
it there. Each function runs a fixed number of queries, whatever the number of dossiers or messages.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.orm import Session, selectinload

from dossiermail.store.models import (
    BuildingRow,
    ContactRow,
    CorrectionRow,
    DecisionRow,
    DossierLotRow,
    DossierRow,
    ParsedRow,
    RawMessage,
)
from dossiermail.store.repo import sender_local_date
from dossiermail.timeline.labels import UNKNOWN_SENDER, role_label
from dossiermail.timeline.model import (
    BuildingOverview,
    DossierHead,
    DossierSummary,
    Timeline,
    TimelineAttachment,
    TimelineEntry,
    TimelineLookupError,
)

EARLIEST = datetime.min.replace(tzinfo=UTC)


def current_assignment() -> ColumnElement[bool]:
    """The condition selecting decisions that currently assign a message to a dossier."""
    return and_(
        DecisionRow.superseded_at.is_(None),
        DecisionRow.outcome == "assigned",
        DecisionRow.dossier_id.is_not(None),
    )


def building_slugs(session: Session) -> list[str]:
    """Every building's slug, in alphabetical order."""
    return list(session.scalars(select(BuildingRow.slug).order_by(BuildingRow.slug)))


def build_timeline(session: Session, dossier_id: int) -> Timeline:
    """The dossier's messages in chronological order, with display names and attachments."""
    found = session.execute(
        select(DossierRow, BuildingRow)
        .join(BuildingRow, BuildingRow.id == DossierRow.building_id)
        .where(DossierRow.id == dossier_id)
    ).one_or_none()
    if found is None:
        raise TimelineLookupError(f"unknown dossier id {dossier_id}")
    dossier, building = found
    rows = _dossier_messages(session, (dossier_id,))
    contacts = _contacts_by_email(session, (parsed.from_email for parsed, _, _, _ in rows))
    lots = _admin_lots(session, (dossier_id,))
    return _timeline(building, dossier, [_entry(row, contacts) for row in rows], lots.get(dossier_id, ()))


def building_timelines(
    session: Session, slug: str, dossier_ids: Collection[int] | None = None
) -> tuple[Timeline, ...]:
    """Every dossier of the building (or only ``dossier_ids``) with its messages, by reference.

    Four queries in all, whatever the number of dossiers.
    """
    building = _building(session, slug)
    query = select(DossierRow).where(DossierRow.building_id == building.id)
    if dossier_ids is not None:
        if not dossier_ids:
            return ()
        query = query.where(DossierRow.id.in_(list(dossier_ids)))
    dossiers = list(session.scalars(query.order_by(DossierRow.reference)))
    ids = [dossier.id for dossier in dossiers]
    rows = _dossier_messages(session, ids)
    contacts = _contacts_by_email(session, (parsed.from_email for parsed, _, _, _ in rows))
    lots = _admin_lots(session, ids)
    entries: dict[int, list[TimelineEntry]] = {dossier_id: [] for dossier_id in ids}
    for row in rows:
        entries[row[2]].append(_entry(row, contacts))
    return tuple(
        _timeline(building, dossier, entries[dossier.id], lots.get(dossier.id, ())) for dossier in dossiers
    )


def dossier_heads(session: Session, slug: str) -> tuple[DossierHead, ...]:
    """Every dossier of the building without its mail, by reference: two queries, no message read.

    One aggregate query gives each dossier's row and, per dossier, the count, sum and maximum of its
    current decisions' ids, their latest time and its latest correction; a second its admin lots.
    """
    building = _building(session, slug)
    in_building = select(DossierRow.id).where(DossierRow.building_id == building.id)
    decisions = (
        select(
            DecisionRow.dossier_id.label("dossier_id"),
            func.count(DecisionRow.id).label("count"),
            func.sum(DecisionRow.id).label("total"),
            func.max(DecisionRow.id).label("latest"),
            func.max(DecisionRow.decided_at).label("decided"),
        )
        .where(current_assignment(), DecisionRow.dossier_id.in_(in_building))
        .group_by(DecisionRow.dossier_id)
        .subquery()
    )
    corrections = (
        select(CorrectionRow.dossier_id.label("dossier_id"), func.max(CorrectionRow.id).label("latest"))
        .where(CorrectionRow.dossier_id.in_(in_building))
        .group_by(CorrectionRow.dossier_id)
        .subquery()
    )
    rows = session.execute(
        select(
            DossierRow.id,
            DossierRow.reference,
            DossierRow.title,
            DossierRow.status,
            DossierRow.category,
            decisions.c.count,
            decisions.c.total,
            decisions.c.latest,
            decisions.c.decided,
            corrections.c.latest,
        )
        .outerjoin(decisions, decisions.c.dossier_id == DossierRow.id)
        .outerjoin(corrections, corrections.c.dossier_id == DossierRow.id)
        .where(DossierRow.building_id == building.id)
        .order_by(DossierRow.reference, DossierRow.id)
    ).all()
    lots = _admin_lots(session, [row[0] for row in rows])
    return tuple(
        DossierHead(
            dossier_id=row[0],
            reference=row[1],
            title=row[2],
            status=row[3],
            category=row[4],
            lots=lots.get(row[0], ()),
            source=repr((*row, lots.get(row[0], ()))),
        )
        for row in rows
    )


def _building(session: Session, slug: str) -> BuildingRow:
    building = session.scalars(select(BuildingRow).where(BuildingRow.slug == slug)).one_or_none()
    if building is None:
        raise TimelineLookupError(f"unknown building {slug!r}")
    return building


def _timeline(
    building: BuildingRow, dossier: DossierRow, entries: list[TimelineEntry], lots: tuple[int, ...]
) -> Timeline:
    entries.sort(key=_chronological)
    return Timeline(
        building_slug=building.slug,
        building_name=building.name,
        dossier_id=dossier.id,
        reference=dossier.reference,
        title=dossier.title,
        status=dossier.status,
        category=dossier.category,
        entries=tuple(entries),
        lots=lots,
    )


def _admin_lots(session: Session, dossier_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
    ids = list(dossier_ids)
    found: dict[int, list[int]] = {}
    if ids:
        rows = session.execute(
            select(DossierLotRow.dossier_id, DossierLotRow.lot)
            .where(DossierLotRow.dossier_id.in_(ids))
            .order_by(DossierLotRow.lot)
        )
        for dossier_id, lot in rows:
            found.setdefault(dossier_id, []).append(lot)
    return {dossier_id: tuple(lots) for dossier_id, lots in found.items()}


def building_overview(session: Session, slug: str) -> BuildingOverview:
    """The building and a summary of each of its dossiers, most recent activity first."""
    building = session.scalars(select(BuildingRow).where(BuildingRow.slug == slug)).one_or_none()
    if building is None:
        raise TimelineLookupError(f"unknown building {slug!r}")
    activity = (
        select(
            DecisionRow.dossier_id.label("dossier_id"),
            func.count(distinct(ParsedRow.message_key)).label("message_count"),
            func.max(func.coalesce(ParsedRow.date, RawMessage.received_at)).label("last"),
        )
        .join(ParsedRow, ParsedRow.message_key == DecisionRow.message_key)
        .join(RawMessage, RawMessage.key == DecisionRow.message_key)
        .where(current_assignment())
        .group_by(DecisionRow.dossier_id)
        .subquery()
    )
    rows = session.execute(
        select(DossierRow, activity.c.message_count, activity.c.last)
        .outerjoin(activity, activity.c.dossier_id == DossierRow.id)
        .where(DossierRow.building_id == building.id)
    ).all()
    summaries = [
        DossierSummary(
            reference=dossier.reference,
            title=dossier.title,
            status=dossier.status,
            last_activity=last,
            message_count=count or 0,
            dossier_id=dossier.id,
        )
        for dossier, count, last in rows
    ]
    summaries.sort(key=lambda summary: summary.reference)
    summaries.sort(key=_latest_first)
    return BuildingOverview(building.slug, building.name, building.address, tuple(summaries))


MessageRow = tuple[ParsedRow, datetime, int, str]
"""A message of a dossier: parsed row, reception time, dossier id, decision visibility."""


def _dossier_messages(session: Session, dossier_ids: Iterable[int]) -> list[MessageRow]:
    ids = list(dossier_ids)
    if not ids:
        return []
    rows = session.execute(
        select(ParsedRow, RawMessage.received_at, DecisionRow.dossier_id, DecisionRow.visibility)
        .join(DecisionRow, DecisionRow.message_key == ParsedRow.message_key)
        .join(RawMessage, RawMessage.key == ParsedRow.message_key)
        .where(current_assignment(), DecisionRow.dossier_id.in_(ids))
        .options(selectinload(ParsedRow.attachments))
    ).all()
    unique: dict[str, MessageRow] = {}
    for parsed, received_at, dossier_id, visibility in rows:
        unique.setdefault(parsed.message_key, (parsed, received_at, dossier_id or 0, visibility))
    return list(unique.values())


def _contacts_by_email(session: Session, emails: Iterable[str | None]) -> dict[str, ContactRow]:
    wanted = {email.lower() for email in emails if email}
    if not wanted:
        return {}
    contacts = session.scalars(select(ContactRow).where(func.lower(ContactRow.email).in_(wanted)))
    return {contact.email.lower(): contact for contact in contacts}


def _entry(row: MessageRow, contacts: dict[str, ContactRow]) -> TimelineEntry:
    parsed, received_at, _, visibility = row
    contact = contacts.get(parsed.from_email.lower()) if parsed.from_email else None
    return TimelineEntry(
        message_key=parsed.message_key,
        date=sender_local_date(parsed.date, parsed.date_offset_minutes),
        sender_name=sender_name(parsed.from_name, contact),
        sender_role=contact.role if contact else None,
        subject=parsed.subject,
        text=parsed.new_text if parsed.new_text.strip() else parsed.text,
        quoted_text=parsed.quoted_text,
        signature=parsed.signature,
        attachments=tuple(
            TimelineAttachment(a.filename, a.content_type, a.size, a.position, a.content_id, a.inline)
            for a in parsed.attachments
        ),
        received_at=received_at,
        visibility=visibility,
        participants=_participants(parsed),
        html=parsed.html,
    )


def _participants(parsed: ParsedRow) -> tuple[str, ...]:
    """The lower-cased From, To and Cc addresses of a message, each once."""
    found = [parsed.from_email or ""]
    for pair in (*(parsed.to or ()), *(parsed.cc or ())):
        if isinstance(pair, list | tuple) and len(pair) >= 2 and isinstance(pair[1], str):
            found.append(pair[1])
    return tuple(dict.fromkeys(email.lower() for email in found if email))


def sender_name(from_name: str, contact: ContactRow | None) -> str:
    """A name to show for the sender: as written, else the address book's, else the role's label.

    Never an email address: a display name that contains one (``"jean@x.fr" <jean@x.fr>``) is
    skipped like an empty one.
    """
    candidates = (
        from_name,
        contact.name if contact else None,
        role_label(contact.role) if contact else None,
    )
    for candidate in candidates:
        cleaned = (candidate or "").strip().strip("\"'").strip()
        if cleaned and "@" not in cleaned:
            return cleaned
    return UNKNOWN_SENDER


def _chronological(entry: TimelineEntry) -> tuple[datetime, str]:
    return entry.when or EARLIEST, entry.message_key


def _latest_first(summary: DossierSummary) -> tuple[bool, float]:
    if summary.last_activity is None:
        return True, 0.0
    return False, -summary.last_activity.timestamp()
