"""The accept step: commit a message's exact bytes to the store, once, before anything else.

A duplicate (same content key) is a normal result. Callers commit the session before they answer the
sender (SMTP 250, IMAP \\Seen) or move on; nothing here parses the message.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dossiermail.domain import AcceptResult, RawMail
from dossiermail.ingest.identity import content_key
from dossiermail.store.models import RawMessage


def accept(
    session: Session,
    mail: RawMail,
    *,
    forced_building: str | None = None,
    auto_dossiers: bool = False,
) -> AcceptResult:
    """Store ``mail`` unless a message with the same content key is already there."""
    key = content_key(mail.raw)
    if session.scalar(select(RawMessage.key).where(RawMessage.key == key)) is not None:
        return AcceptResult(key, duplicate=True)
    row = RawMessage(
        key=key,
        raw=mail.raw,
        size=len(mail.raw),
        channel=mail.channel,
        source=mail.source,
        envelope_from=mail.envelope_from,
        envelope_to=list(mail.envelope_to),
        received_at=mail.received_at,
        state="accepted",
        forced_building=forced_building,
        auto_dossiers=auto_dossiers,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return AcceptResult(key, duplicate=True)
    return AcceptResult(key, duplicate=False)
