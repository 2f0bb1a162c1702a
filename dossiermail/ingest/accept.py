"""The accept step: commit a message's exact bytes to the store, once, before anything else.

A duplicate (same content key) is a normal result. Callers commit the session before they answer the
sender (SMTP 250, IMAP \\Seen) or move on; nothing here parses the message. The insert is a single
``INSERT … ON CONFLICT DO NOTHING RETURNING key``, so two channels accepting the same mail at once
store it once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Executable, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dossiermail.domain import AcceptResult, RawMail
from dossiermail.ingest.identity import content_key
from dossiermail.store.models import Base, RawMessage


def accept(
    session: Session,
    mail: RawMail,
    *,
    forced_building: str | None = None,
    auto_dossiers: bool = False,
) -> AcceptResult:
    """Store ``mail`` unless a message with the same content key is already there."""
    key = content_key(mail.raw)
    values: dict[str, Any] = {
        "key": key,
        "raw": mail.raw,
        "size": len(mail.raw),
        "channel": mail.channel,
        "source": mail.source,
        "envelope_from": mail.envelope_from,
        "envelope_to": list(mail.envelope_to),
        "received_at": mail.received_at,
        "state": "accepted",
        "forced_building": forced_building,
        "auto_dossiers": auto_dossiers,
    }
    statement = _insert_unless_present(session.get_bind().dialect.name)
    if statement is None:
        return _accept_portably(session, key, values)
    session.flush()  # what the ORM statement's autoflush did: pending rows first
    inserted = session.connection().execute(statement, values).first()
    return AcceptResult(key, duplicate=inserted is None)


@lru_cache(maxsize=4)
def _insert_unless_present(dialect: str) -> Executable | None:
    """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING key`` where the dialect has it.

    Built once per dialect, the message's values bound when it runs: building the statement (and its
    cache key) for every message cost more than running it.
    """
    if dialect == "postgresql":
        pg = postgresql.insert(_RAW)
        return pg.on_conflict_do_nothing(index_elements=["key"]).returning(_RAW.c.key)
    if dialect == "sqlite":
        lite = sqlite.insert(_RAW)
        return lite.on_conflict_do_nothing(index_elements=["key"]).returning(_RAW.c.key)
    return None


_RAW = Base.metadata.tables[RawMessage.__tablename__]
"""The table itself: a Core statement run on the session's connection skips the ORM bulk-insert layer."""


def _accept_portably(session: Session, key: str, values: dict[str, Any]) -> AcceptResult:
    """Check-then-insert in a savepoint, for databases without ON CONFLICT."""
    if session.scalar(select(RawMessage.key).where(RawMessage.key == key)) is not None:
        return AcceptResult(key, duplicate=True)
    try:
        with session.begin_nested():
            session.add(RawMessage(**values))
    except IntegrityError:
        return AcceptResult(key, duplicate=True)
    return AcceptResult(key, duplicate=False)
