"""A small store for timeline and publishing tests: buildings, contacts, dossiers and mail rows.

Not a pytest conftest (the lead owns ``tests/conftest.py``): test modules import ``open_mailroom``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from dossiermail.store import open_store
from dossiermail.store.models import (
    AttachmentRow,
    BuildingRow,
    ContactRow,
    DecisionRow,
    DossierLotRow,
    DossierRow,
    ParsedRow,
    RawMessage,
)

RECEIVED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
Row = TypeVar("Row")


@dataclass(frozen=True)
class Mail:
    """One message to store: what the parser would have extracted, and where it was routed."""

    date: datetime | None
    from_name: str = "Jean Dupont"
    from_email: str | None = "jean.dupont@example.fr"
    subject: str = "Fuite au 3e étage"
    text: str = "Bonjour,\nUne fuite est signalée.\nCordialement"
    new_text: str | None = None
    quoted_text: str = ""
    signature: str = ""
    attachments: Sequence[tuple[str, str, int]] = ()
    received_at: datetime = RECEIVED
    key: str | None = None
    outcome: str = "assigned"
    superseded: bool = False
    visibility: str = "public"
    to: Sequence[str] = ()
    raw: bytes = b""
    html: str | None = None
    content_ids: Sequence[str | None] = ()


class Mailroom:
    """Inserts rows the way the pipeline would have left them, and flushes after each."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._keys = itertools.count(1)

    def building(self, slug: str, name: str = "", address: str = "") -> BuildingRow:
        """A building; its name defaults to « Résidence <slug> »."""
        row = BuildingRow(slug=slug, name=name or f"Résidence {slug}", address=address)
        return self._add(row)

    def contact(
        self, email: str, name: str, role: str, buildings: Sequence[str] = (), lots: Sequence[int] = ()
    ) -> ContactRow:
        """An address-book entry."""
        row = ContactRow(email=email, name=name, role=role, buildings=list(buildings), lots=list(lots))
        return self._add(row)

    def lots(self, dossier: DossierRow, *lots: int) -> None:
        """Lots an admin tied to ``dossier``."""
        for lot in lots:
            self._add(DossierLotRow(dossier_id=dossier.id, lot=lot))

    def dossier(
        self,
        building: BuildingRow,
        reference: str,
        title: str = "Dossier",
        status: str = "ouvert",
        category: str | None = None,
    ) -> DossierRow:
        """A dossier of ``building``."""
        row = DossierRow(
            building_id=building.id,
            reference=reference,
            title=title,
            status=status,
            category=category,
        )
        return self._add(row)

    def message(self, dossier: DossierRow | None, mail: Mail) -> str:
        """Stores ``mail`` with a current decision for ``dossier``; returns its message key."""
        key = mail.key or f"m{next(self._keys):03d}"
        self._add(self._raw(key, mail))
        self._add(self._parsed(key, mail))
        self._add(
            DecisionRow(
                message_key=key,
                outcome=mail.outcome,
                building_id=dossier.building_id if dossier else None,
                dossier_id=dossier.id if dossier else None,
                superseded_at=RECEIVED if mail.superseded else None,
                visibility=mail.visibility,
            )
        )
        return key

    def decide(self, key: str, dossier: DossierRow) -> None:
        """A new current decision assigning an already stored message to ``dossier``."""
        self._add(
            DecisionRow(
                message_key=key,
                outcome="assigned",
                building_id=dossier.building_id,
                dossier_id=dossier.id,
            )
        )

    def _raw(self, key: str, mail: Mail) -> RawMessage:
        return RawMessage(
            key=key,
            raw=mail.raw,
            size=len(mail.raw),
            channel="import",
            source="test",
            envelope_to=[],
            received_at=mail.received_at,
        )

    def _parsed(self, key: str, mail: Mail) -> ParsedRow:
        offset = mail.date.utcoffset() if mail.date else None
        return ParsedRow(
            message_key=key,
            subject=mail.subject,
            from_name=mail.from_name,
            from_email=mail.from_email,
            date=mail.date,
            date_offset_minutes=int(offset.total_seconds() // 60) if offset is not None else None,
            to=[["", address] for address in mail.to],
            cc=[],
            html=mail.html,
            text=mail.text,
            new_text=mail.text if mail.new_text is None else mail.new_text,
            quoted_text=mail.quoted_text,
            signature=mail.signature,
            attachments=[
                AttachmentRow(
                    position=position,
                    filename=name,
                    content_type=kind,
                    size=size,
                    content_id=mail.content_ids[position] if position < len(mail.content_ids) else None,
                )
                for position, (name, kind, size) in enumerate(mail.attachments)
            ],
        )

    def _add(self, row: Row) -> Row:
        self.session.add(row)
        self.session.flush()
        return row


@contextmanager
def open_mailroom(url: str) -> Iterator[Mailroom]:
    """A fresh migrated store at ``url`` (``sqlite:///{tmp_path}/t.db``), with one open session."""
    store = open_store(url)
    try:
        with store.session() as session:
            yield Mailroom(session)
    finally:
        store.dispose()
