"""Reads the store and builds dossier timelines and building overviews.

A message belongs to a dossier when its current routing decision (``superseded_at`` NULL) assigned
it there. Each function runs a fixed number of queries, whatever the number of dossiers or messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.orm import Session, selectinload

from dossiermail.store.models import (
    BuildingRow,
    ContactRow,
    DecisionRow,
    DossierRow,
    ParsedRow,
    RawMessage,
)
from dossiermail.store.repo import sender_local_date
from dossiermail.timeline.labels import UNKNOWN_SENDER, role_label
from dossiermail.timeline.model import (
    BuildingOverview,
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
    rows = _dossier_messages(session, dossier_id)
    contacts = _contacts_by_email(session, (parsed.from_email for parsed, _ in rows))
    entries = [_entry(parsed, received_at, contacts) for parsed, received_at in rows]
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
    )


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


def _dossier_messages(session: Session, dossier_id: int) -> list[tuple[ParsedRow, datetime]]:
    rows = session.execute(
        select(ParsedRow, RawMessage.received_at)
        .join(DecisionRow, DecisionRow.message_key == ParsedRow.message_key)
        .join(RawMessage, RawMessage.key == ParsedRow.message_key)
        .where(current_assignment(), DecisionRow.dossier_id == dossier_id)
        .options(selectinload(ParsedRow.attachments))
    ).all()
    unique: dict[str, tuple[ParsedRow, datetime]] = {}
    for parsed, received_at in rows:
        unique.setdefault(parsed.message_key, (parsed, received_at))
    return list(unique.values())


def _contacts_by_email(session: Session, emails: Iterable[str | None]) -> dict[str, ContactRow]:
    wanted = {email.lower() for email in emails if email}
    if not wanted:
        return {}
    contacts = session.scalars(select(ContactRow).where(func.lower(ContactRow.email).in_(wanted)))
    return {contact.email.lower(): contact for contact in contacts}


def _entry(parsed: ParsedRow, received_at: datetime, contacts: dict[str, ContactRow]) -> TimelineEntry:
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
            TimelineAttachment(row.filename, row.content_type, row.size) for row in parsed.attachments
        ),
        received_at=received_at,
    )


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
