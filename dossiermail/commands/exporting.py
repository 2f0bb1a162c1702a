"""``dossiermail export messages`` and ``quarantine list``: stored data as JSON lines or a table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from dossiermail.commands.common import open_store_or_fail, print_listing
from dossiermail.store.models import (
    BuildingRow,
    DecisionRow,
    DossierRow,
    ParsedRow,
    QuarantineRow,
    RawMessage,
)
from dossiermail.store.repo import message_date


def message_records(session: Session) -> Iterator[dict[str, Any]]:
    """One plain dict per stored message, in the order they were received."""
    decision = aliased(DecisionRow)
    query = (
        select(
            RawMessage.key,
            RawMessage.source,
            RawMessage.channel,
            RawMessage.state,
            RawMessage.received_at,
            ParsedRow,
            decision.outcome,
            BuildingRow.slug,
            DossierRow.reference,
        )
        .outerjoin(ParsedRow, ParsedRow.message_key == RawMessage.key)
        .outerjoin(
            decision,
            (decision.message_key == RawMessage.key) & decision.superseded_at.is_(None),
        )
        .outerjoin(BuildingRow, BuildingRow.id == decision.building_id)
        .outerjoin(DossierRow, DossierRow.id == decision.dossier_id)
        .order_by(RawMessage.received_at, RawMessage.key)
        .execution_options(yield_per=500)
    )
    for (
        key,
        source,
        channel,
        state,
        received,
        parsed,
        outcome,
        building,
        dossier,
    ) in session.execute(query):
        date = message_date(parsed) if parsed is not None else None
        yield {
            "key": key,
            "message_id": parsed.message_id if parsed is not None else None,
            "source": source,
            "channel": channel,
            "building": building,
            "dossier": dossier,
            "outcome": "quarantined" if state == "quarantined" else (outcome or state),
            "date": date.isoformat() if date else None,
            "subject": parsed.subject if parsed is not None else None,
            "received_at": received.isoformat(),
        }


def export_messages_command(db: str | None) -> None:
    """Print every stored message as one JSON object per line."""
    store = open_store_or_fail(db)
    try:
        with store.sessions() as session:
            for record in message_records(session):
                print(json.dumps(record, ensure_ascii=False))  # noqa: T201 - data to stdout
    finally:
        store.dispose()


def quarantine_list_command(db: str | None, *, as_json: bool) -> None:
    """List the open quarantine entries."""
    store = open_store_or_fail(db)
    try:
        with store.sessions() as session:
            rows = session.execute(
                select(QuarantineRow, RawMessage.source)
                .join(RawMessage, RawMessage.key == QuarantineRow.message_key)
                .where(QuarantineRow.resolved_at.is_(None))
                .order_by(QuarantineRow.created_at)
            ).all()
    finally:
        store.dispose()
    print_listing(
        [(row, str(source)) for row, source in rows],
        as_json=as_json,
        record=lambda r: {
            "key": r[0].message_key,
            "source": r[1],
            "stage": r[0].stage,
            "reason": r[0].reason,
            "since": r[0].created_at.isoformat(),
        },
        title=f"Quarantaine : {len(rows)} message(s)",
        columns=("clé", "source", "étape", "raison"),
        cells=lambda r: (r[0].message_key[:12], r[1], r[0].stage, r[0].reason),
    )
