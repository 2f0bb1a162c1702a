"""SQLAlchemy 2 typed tables: raw and parsed mail, buildings, contacts, dossiers, decisions, quarantine.

The raw bytes are the archive and are never modified; everything else can be rebuilt from them.
Datetimes are stored as UTC; the sender's offset is kept beside the message date for display.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from dossiermail.parse.quoted_headers import NAME_KEY_LENGTH, name_key

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and gives them back aware, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)


def _from_name_key(context: DefaultExecutionContext) -> str:
    """The folded sender name of the row being inserted (``parsed_messages.from_name_key``)."""
    parameters: dict[str, object] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return name_key(str(parameters.get("from_name") or ""))


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (alembic needs them)."""

    metadata = MetaData(naming_convention=NAMING)


class RawMessage(Base):
    """Exactly the bytes received. ``state`` is the pipeline's source of truth for this message."""

    __tablename__ = "raw_messages"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    envelope_from: Mapped[str | None] = mapped_column(Text)
    envelope_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="accepted", index=True)
    forced_building: Mapped[str | None] = mapped_column(String(64))
    auto_dossiers: Mapped[bool] = mapped_column(Boolean, default=False)


class ParsedRow(Base):
    """What the parser extracted; rebuilt from the raw bytes whenever the parser improves."""

    __tablename__ = "parsed_messages"
    # fuzzy-subject candidates: one block, newest first (``StoreIndex.open_dossiers``)
    # quoted-header names: one sender name within a date window (``StoreIndex.messages_named``)
    # a sender's mail within a date window (``StoreIndex.messages_from``, migration 0009)
    __table_args__ = (
        Index("ix_parsed_messages_subject_block_date", "subject_block", "date"),
        Index("ix_parsed_messages_from_name_key_date", "from_name_key", "date"),
        Index("ix_parsed_messages_from_email_date", "from_email", "date"),
    )

    message_key: Mapped[str] = mapped_column(
        ForeignKey("raw_messages.key", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[str | None] = mapped_column(Text)
    message_id_norm: Mapped[str | None] = mapped_column(String(512), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    normalized_subject: Mapped[str] = mapped_column(Text, default="")
    subject_block: Mapped[str] = mapped_column(String(32), default="")
    from_name: Mapped[str] = mapped_column(Text, default="")
    from_name_key: Mapped[str] = mapped_column(String(NAME_KEY_LENGTH), default=_from_name_key)
    """``name_key(from_name)``, filled on insert (migration 0008)."""
    from_email: Mapped[str | None] = mapped_column(String(320))
    to: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    cc: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    date: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    date_offset_minutes: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    new_text: Mapped[str] = mapped_column(Text, default="")
    quoted_text: Mapped[str] = mapped_column(Text, default="")
    signature: Mapped[str] = mapped_column(Text, default="")
    auto_reply: Mapped[str | None] = mapped_column(Text)
    defects: Mapped[list[str]] = mapped_column(JSON, default=list)
    in_reply_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    delivered_to: Mapped[list[str]] = mapped_column(JSON, default=list)

    attachments: Mapped[list[AttachmentRow]] = relationship(
        order_by="AttachmentRow.position", cascade="all, delete-orphan"
    )


class AttachmentRow(Base):
    """An attachment's metadata; its bytes are re-read from the raw message when served."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(
        ForeignKey("parsed_messages.message_key", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content_id: Mapped[str | None] = mapped_column(Text)
    inline: Mapped[bool] = mapped_column(Boolean, default=False)


class ThreadLink(Base):
    """A Message-ID a message points at (In-Reply-To or References), for threading and healing."""

    __tablename__ = "thread_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(
        ForeignKey("parsed_messages.message_key", ondelete="CASCADE"), index=True
    )
    target_id: Mapped[str] = mapped_column(String(512), index=True)


class BuildingRow(Base):
    """A building; created from the rules or by ``import --building``."""

    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(16), default="rules")


class ContactRow(Base):
    """An address-book entry, mirrored from ``rules/contacts.yaml`` for display."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    buildings: Mapped[list[str]] = mapped_column(JSON, default=list)
    lots: Mapped[list[int]] = mapped_column(JSON, default=list)


class DossierRow(Base):
    """A dossier of one building: a reference, a title, a status."""

    __tablename__ = "dossiers"
    __table_args__ = (UniqueConstraint("building_id", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="ouvert")
    category: Mapped[str | None] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by: Mapped[str] = mapped_column(Text, default="")

    building: Mapped[BuildingRow] = relationship()


FUZZY_WHERE = "superseded_at IS NULL AND outcome = 'assigned'"
"""Rows of ``ix_routing_decisions_fuzzy``: current assignments (a query must repeat these terms
literally, not as bound parameters, for the planner to use the partial index)."""


class DecisionRow(Base):
    """A routing decision; the current one has ``superseded_at`` NULL, older ones are history."""

    __tablename__ = "routing_decisions"
    __table_args__ = (
        Index(
            "uq_routing_decisions_current",
            "message_key",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        # fuzzy-subject candidates: one building's current assignments in one subject block, newest
        # first (``StoreIndex.open_dossiers``, migration 0010)
        Index(
            "ix_routing_decisions_fuzzy",
            "building_id",
            "subject_block",
            "message_date",
            sqlite_where=text(FUZZY_WHERE),
            postgresql_where=text(FUZZY_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(ForeignKey("raw_messages.key", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str] = mapped_column(Text, default="")
    rules_version: Mapped[str] = mapped_column(String(32), default="")
    waiting_for: Mapped[list[str]] = mapped_column(JSON, default=list)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # copies of the message's ``parsed_messages.subject_block`` and ``date``, written with the
    # decision (``save_decision``) and refreshed by a re-parse: an index cannot span two tables, and
    # the fuzzy look-up must start from the building, not from every building's subject block
    subject_block: Mapped[str | None] = mapped_column(String(32))
    message_date: Mapped[datetime | None] = mapped_column(UTCDateTime)

    building: Mapped[BuildingRow | None] = relationship()
    dossier: Mapped[DossierRow | None] = relationship()
    evidence: Mapped[list[EvidenceRow]] = relationship(
        order_by="EvidenceRow.position", cascade="all, delete-orphan"
    )


class EvidenceRow(Base):
    """One clue behind a decision, winners and losers alike."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("routing_decisions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    building: Mapped[str | None] = mapped_column(String(64))
    dossier: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)


class QuarantineRow(Base):
    """A message we kept but could not process, with the one-line reason."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(ForeignKey("raw_messages.key", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CorrectionRow(Base):
    """An admin's correction (assignment, move, merge, open, close): who, when, why, what."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    message_key: Mapped[str | None] = mapped_column(String(64), index=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    actor: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailboxState(Base):
    """Where an IMAP poller stands in one folder: UIDVALIDITY and the last UID committed."""

    __tablename__ = "mailbox_state"
    __table_args__ = (UniqueConstraint("account", "folder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(255))
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccessGrantRow(Base):
    """A signed extranet link given to someone: one building, one audience, until it expires or is revoked."""

    __tablename__ = "access_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[str] = mapped_column(String(64), unique=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    audience: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    building: Mapped[BuildingRow] = relationship()


class DossierLotRow(Base):
    """A lot an admin tied to a dossier (``dossier lots``); when a dossier has none, its lots come
    from the co-owners in ``contacts.yaml`` who took part in its mail."""

    __tablename__ = "dossier_lots"
    __table_args__ = (UniqueConstraint("dossier_id", "lot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    lot: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PublicationRow(Base):
    """The audit of one publication of one building for one audience: what, under which rules, when."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building: Mapped[str] = mapped_column(String(64), index=True)
    audience: Mapped[str] = mapped_column(String(32))
    dossiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    rules_version: Mapped[str] = mapped_column(String(32), default="")
    redactor_version: Mapped[str] = mapped_column(String(64), default="")
    pages_written: Mapped[int] = mapped_column(Integer, default=0)
    pages_removed: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobStep(Base):
    """One pending or finished pipeline step (parse, route, publish): the outbox the workers follow.

    ``subject`` is the message key (parse, route) or ``building/dossier`` (publish); a step runs
    at most once at a time (``claimed_by`` until ``lease_until``) and lands in ``failed`` (the
    dead-letter list) after too many attempts.
    """

    __tablename__ = "job_steps"
    __table_args__ = (
        UniqueConstraint("step", "subject"),
        Index("ix_job_steps_state_due", "state", "next_attempt_at"),
        Index(
            "ix_job_steps_unsent",
            "id",
            sqlite_where=text("enqueued_at IS NULL"),
            postgresql_where=text("enqueued_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
