"""The queries and writes the pipeline stages need, over one SQLAlchemy session.

Converts between the stage dataclasses (``ParsedMessage``, ``RoutingDecision``) and the rows; the
routing index protocol is implemented here over SQL.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Executable,
    Select,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from dossiermail.domain import Address, Attachment, Evidence, ParsedMessage, RoutingDecision
from dossiermail.rules.model import Rules
from dossiermail.store.models import (
    FUZZY_WHERE,
    AttachmentRow,
    Base,
    BuildingRow,
    ContactRow,
    DecisionRow,
    DossierRow,
    EvidenceRow,
    ParsedRow,
    QuarantineRow,
    RawMessage,
    ThreadLink,
    utcnow,
)
from dossiermail.threading.context import (
    Candidate,
    FiledMessage,
    KnownDossier,
    RoutedParent,
    norm_message_id,
    subject_block,
)

CANDIDATE_LIMIT = 200
"""At most this many (newest) candidate messages per lookup: bounds the fuzzy comparisons."""


class StoreIndex:
    """The routing index over the store (read-only).

    Lookups run as Core statements on the session's connection: the ORM execution layer (its
    compile state, result wrapping and autoflush before every statement) cost more than the SQL. The
    session is flushed once, when the index is made, which is what autoflush did before the first
    lookup; routing is a pure function and writes nothing until it has decided, so later lookups saw
    no new pending change either.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        session.flush()

    def _rows(self, statement: Executable, values: dict[str, Any]) -> Sequence[Any]:
        return self.session.connection().execute(statement, values).all()

    def dossiers_with_reference(self, reference: str) -> Sequence[KnownDossier]:
        rows = self._rows(_WITH_REFERENCE, {"reference": reference})
        return [KnownDossier(slug, ref, status) for slug, ref, status in rows]

    def parents(self, message_ids: Sequence[str]) -> Sequence[RoutedParent]:
        if not message_ids:
            return []
        rows = self._rows(_PARENTS, {"ids": list(message_ids)})
        return [_routed(row) for row in rows]

    def dossier_participants(self, building: str, reference: str) -> frozenset[str]:
        rows = self._rows(_PARTICIPANTS, {"building": building, "reference": reference})
        found: set[str] = set()
        for sender, to, cc in rows:
            found.update(addr for _, addr in [*to, *cc])
            if sender:
                found.add(sender)
        return frozenset(found)

    def linked(self, message_ids: Sequence[str], exclude_key: str) -> Sequence[RoutedParent]:
        if not message_ids:
            return []
        rows = self._rows(_LINKED, {"ids": list(message_ids), "exclude": exclude_key})
        return [_routed(row) for row in rows]

    def parents_and_linked(
        self, parent_ids: Sequence[str], link_ids: Sequence[str], exclude_key: str
    ) -> tuple[Sequence[RoutedParent], Sequence[RoutedParent]]:
        """``parents`` and ``linked`` in one ``UNION ALL`` statement (each part as when asked alone)."""
        if not parent_ids or not link_ids:
            return self.parents(parent_ids), self.linked(link_ids, exclude_key)
        values = {"parent_ids": list(parent_ids), "link_ids": list(link_ids), "exclude": exclude_key}
        parents: list[RoutedParent] = []
        linked: list[RoutedParent] = []
        for *row, part in self._rows(_PARENTS_AND_LINKED, values):
            (parents if part == "parent" else linked).append(_routed(row))
        return parents, linked

    def open_dossiers(
        self, buildings: Collection[str], block: str, since: datetime | None, until: datetime | None = None
    ) -> Sequence[Candidate]:
        if not buildings or not block:
            return []
        values = _open_dossiers_values(buildings, block, since, until)
        rows = self._rows(_open_dossiers_shape(since is not None, until is not None), values)
        return [_candidate(s, r, subject, d, f, to, cc) for s, r, subject, d, f, to, cc in rows]

    def messages_from(
        self, senders: Sequence[str], since: datetime, until: datetime
    ) -> Sequence[FiledMessage]:
        if not senders:
            return []
        wanted = sorted({s.lower() for s in senders})
        if len(wanted) == 1:  # the usual case: an equality, no expanding IN to render per call
            rows = self._rows(_SENT_ONE, {"sender": wanted[0], "since": since, "until": until})
        else:
            rows = self._rows(_SENT, {"senders": wanted, "since": since, "until": until})
        return [_filed(*row) for row in rows]

    def messages_named(self, name_key: str, since: datetime, until: datetime) -> Sequence[FiledMessage]:
        if not name_key:
            return []
        rows = self._rows(_NAMED, {"name_key": name_key, "since": since, "until": until})
        return [_filed(*row) for row in rows]

    def messages_from_and_named(
        self, sender: str, name_key: str, since: datetime, until: datetime
    ) -> tuple[Sequence[FiledMessage], Sequence[FiledMessage]]:
        """``messages_from([sender], …)`` and ``messages_named(name_key, …)`` in one statement."""
        if not name_key:
            return self.messages_from([sender], since, until), []
        values = {"sender": sender.lower(), "name_key": name_key, "since": since, "until": until}
        sent: list[FiledMessage] = []
        named: list[FiledMessage] = []
        for *row, part in self._rows(_SENT_AND_NAMED, values):
            (sent if part == "from" else named).append(_filed(*row))
        return sent, named


_WITH_REFERENCE = (
    select(BuildingRow.slug, DossierRow.reference, DossierRow.status)
    .join(DossierRow.building)
    .where(DossierRow.reference == bindparam("reference"))
)
_PARTICIPANTS = (
    select(ParsedRow.from_email, ParsedRow.to, ParsedRow.cc)
    .join(DecisionRow, DecisionRow.message_key == ParsedRow.message_key)
    .join(DossierRow, DossierRow.id == DecisionRow.dossier_id)
    .join(BuildingRow, BuildingRow.id == DossierRow.building_id)
    .where(DecisionRow.superseded_at.is_(None))
    .where(BuildingRow.slug == bindparam("building"), DossierRow.reference == bindparam("reference"))
)


def _decided(message_id: Any, message_key: Any) -> Select[*tuple[Any, ...]]:
    """The columns of a ``RoutedParent``: ``message_id`` and the current decision of ``message_key``."""
    return (
        select(
            message_id,
            DecisionRow.outcome,
            BuildingRow.slug,
            DossierRow.reference,
            DecisionRow.confidence,
            DecisionRow.visibility,
        )
        .join(DecisionRow, DecisionRow.message_key == message_key)
        .outerjoin(BuildingRow, BuildingRow.id == DecisionRow.building_id)
        .outerjoin(DossierRow, DossierRow.id == DecisionRow.dossier_id)
        .where(DecisionRow.superseded_at.is_(None))
    )


_PARENTS = _decided(ParsedRow.message_id_norm, ParsedRow.message_key).where(
    ParsedRow.message_id_norm.in_(bindparam("ids", expanding=True))
)
"""Built once: routing runs these lookups for every message, building a statement costs more than
running it."""
_LINKED = _decided(ThreadLink.target_id, ThreadLink.message_key).where(
    ThreadLink.target_id.in_(bindparam("ids", expanding=True)),
    ThreadLink.message_key != bindparam("exclude"),
)

_PARENTS_AND_LINKED = union_all(
    _decided(ParsedRow.message_id_norm, ParsedRow.message_key)
    .add_columns(literal("parent"))
    .where(ParsedRow.message_id_norm.in_(bindparam("parent_ids", expanding=True))),
    _decided(ThreadLink.target_id, ThreadLink.message_key)
    .add_columns(literal("link"))
    .where(
        ThreadLink.target_id.in_(bindparam("link_ids", expanding=True)),
        ThreadLink.message_key != bindparam("exclude"),
    ),
)
"""``parents`` then ``linked``, tagged: one statement where routing asked two."""


def _filed_query(sender: Any) -> Select[*tuple[Any, ...]]:
    """The columns of a ``FiledMessage`` for the messages matching ``sender``, within a date window."""
    return (
        select(
            ParsedRow.message_id_norm,
            ParsedRow.from_email,
            ParsedRow.date,
            ParsedRow.normalized_subject,
            DecisionRow.outcome,
            BuildingRow.slug,
            DossierRow.reference,
            DecisionRow.confidence,
            DecisionRow.visibility,
            ParsedRow.new_text,
        )
        .join(DecisionRow, DecisionRow.message_key == ParsedRow.message_key)
        .outerjoin(BuildingRow, BuildingRow.id == DecisionRow.building_id)
        .outerjoin(DossierRow, DossierRow.id == DecisionRow.dossier_id)
        .where(sender)
        .where(ParsedRow.date >= bindparam("since"), ParsedRow.date <= bindparam("until"))
        .where(DecisionRow.superseded_at.is_(None))
        .order_by(ParsedRow.date)
        .limit(CANDIDATE_LIMIT)
    )


_SENT = _filed_query(ParsedRow.from_email.in_(bindparam("senders", expanding=True)))
_SENT_ONE = _filed_query(ParsedRow.from_email == bindparam("sender"))
"""``messages_from``: starts from the ``from_email`` index, so its cost follows one sender's mail."""
_NAMED = _filed_query(ParsedRow.from_name_key == bindparam("name_key"))
"""``messages_named``: starts from the ``(from_name_key, date)`` index (migration 0008)."""
_SENT_AND_NAMED = union_all(
    select(_SENT_ONE.add_columns(literal("from")).subquery()),
    select(_NAMED.add_columns(literal("named")).subquery()),
)
"""``_SENT_ONE`` then ``_NAMED``, tagged (each keeps its own order and limit): one statement."""


def _filed(  # noqa: PLR0913, PLR0917 - one column each
    message_id: str | None,
    sender: str | None,
    date: datetime | None,
    subject: str,
    outcome: str,
    building: str | None,
    dossier: str | None,
    confidence: float,
    visibility: str,
    new_text: str,
) -> FiledMessage:
    return FiledMessage(
        message_id, sender or "", date, subject, outcome, building, dossier, confidence, visibility, new_text
    )


def _routed(row: Any) -> RoutedParent:
    message_id, outcome, slug, reference, confidence, visibility = row
    return RoutedParent(message_id or "", outcome, slug, reference, confidence, visibility)


def open_dossiers_query(
    buildings: Collection[str], block: str, since: datetime | None, until: datetime | None = None
) -> Select[*tuple[Any, ...]]:
    """Messages filed in non-closed dossiers of ``buildings`` with this subject block, newest first.

    Starts from the ``subject_block`` index, so its cost follows the block, not the dossier count.
    The statement is built once per shape and given this lookup's values (building it and its cache
    key anew for every routed message cost more than running it).
    """
    values = _open_dossiers_values(buildings, block, since, until)
    return _open_dossiers_shape(since is not None, until is not None).params(values)


def _open_dossiers_values(
    buildings: Collection[str], block: str, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    values: dict[str, Any] = {"block": block, "buildings": sorted(buildings)}
    if since is not None:
        values["since"] = since
    if until is not None:
        values["until"] = until
    return values


@lru_cache(maxsize=4)
def _open_dossiers_shape(with_since: bool, with_until: bool) -> Select[*tuple[Any, ...]]:
    query = (
        select(
            BuildingRow.slug,
            DossierRow.reference,
            ParsedRow.normalized_subject,
            ParsedRow.date,
            ParsedRow.from_email,
            ParsedRow.to,
            ParsedRow.cc,
        )
        .select_from(BuildingRow)
        .join(DecisionRow, DecisionRow.building_id == BuildingRow.id)
        .join(DossierRow, DossierRow.id == DecisionRow.dossier_id)
        .join(ParsedRow, ParsedRow.message_key == DecisionRow.message_key)
        .where(BuildingRow.slug.in_(bindparam("buildings", expanding=True)))
        .where(DecisionRow.subject_block == bindparam("block"), text(_FUZZY_ROWS))
        .where(DossierRow.status != "clos")
        .order_by(DecisionRow.message_date.desc())
        .limit(CANDIDATE_LIMIT)
    )
    if with_since:
        query = query.where(DecisionRow.message_date >= bindparam("since"))
    if with_until:
        query = query.where(DecisionRow.message_date <= bindparam("until"))
    return query


_FUZZY_ROWS = " AND ".join(f"routing_decisions.{term}" for term in FUZZY_WHERE.split(" AND "))
"""The partial index's own terms, as literal SQL (a bound ``'assigned'`` would not match them)."""


def _candidate(
    slug: str,
    reference: str,
    subject: str,
    date: datetime | None,
    sender: str | None,
    to: list[list[str]],
    cc: list[list[str]],
) -> Candidate:
    people = {addr.lower() for _, addr in [*to, *cc]}
    if sender:
        people.add(sender.lower())
    return Candidate(slug, reference, subject, date, frozenset(people), sender.lower() if sender else None)


# --- rules mirror -------------------------------------------------------------------------


def sync_rules(session: Session, rules: Rules) -> None:
    """Mirror the rules' buildings and contacts into the store (for display and joins).

    Safe when several processes start together (worker, serve-smtp, poll-imap): missing rows are
    first inserted with ``ON CONFLICT DO NOTHING``, so a concurrent insert is not an error.
    """
    _insert_missing(
        session, BuildingRow, "slug", [b.slug for b in rules.buildings], name="", address="", origin="rules"
    )
    _insert_missing(
        session,
        ContactRow,
        "email",
        [c.email for c in rules.contacts],
        name="",
        role="",
        buildings=[],
        lots=[],
    )
    existing = {b.slug: b for b in session.scalars(select(BuildingRow))}
    for building in rules.buildings:
        row = existing.get(building.slug) or BuildingRow(slug=building.slug)
        row.name, row.address, row.origin = building.name, building.address, "rules"
        session.add(row)
    contacts = {c.email: c for c in session.scalars(select(ContactRow))}
    for contact in rules.contacts:
        crow = contacts.get(contact.email) or ContactRow(email=contact.email)
        crow.name, crow.role = contact.name, contact.role
        crow.buildings, crow.lots = list(contact.buildings), list(contact.lots)
        session.add(crow)
    session.flush()


def _insert_missing(
    session: Session, model: type[BuildingRow] | type[ContactRow], key: str, values: list[str], **fill: object
) -> None:
    """Insert the rows keyed ``values`` that do not exist yet, ignoring concurrent inserts."""
    dialect = session.get_bind().dialect.name
    if not values or dialect not in ("postgresql", "sqlite"):
        return
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [{key: value, **fill} for value in dict.fromkeys(values)]
    session.execute(insert(model).values(rows).on_conflict_do_nothing(index_elements=[key]))


def ensure_building(session: Session, slug: str) -> bool:
    """Create building ``slug`` if missing (named after its slug); True when it was created."""
    if session.scalar(select(BuildingRow.id).where(BuildingRow.slug == slug)) is not None:
        return False
    session.add(BuildingRow(slug=slug, name=slug, address="", origin="import"))
    session.flush()
    return True


def known_building_slugs(session: Session) -> set[str]:
    """Every building slug in the store."""
    return set(session.scalars(select(BuildingRow.slug)))


# --- parsed messages ----------------------------------------------------------------------


def save_parsed(session: Session, parsed: ParsedMessage, *, replace: bool = True) -> None:
    """Store (or, with ``replace``, replace) the parsed form of a message and its thread links."""
    old = session.get(ParsedRow, parsed.message_key) if replace else None
    if old is not None:
        session.delete(old)
        session.flush()
    row = _parsed_row(parsed)
    session.add(row)
    if old is not None:
        values = {"key": row.message_key, "block": row.subject_block, "date": row.date}
        session.connection().execute(_RECOPY_DECISION, values)
    for target in dict.fromkeys(parsed.thread_ids):
        session.add(ThreadLink(message_key=parsed.message_key, target_id=target))


def _parsed_row(parsed: ParsedMessage) -> ParsedRow:
    date, offset = _split_date(parsed.date)
    sender = parsed.from_
    return ParsedRow(
        message_key=parsed.message_key,
        message_id=parsed.message_id,
        message_id_norm=norm_message_id(parsed.message_id) if parsed.message_id else None,
        subject=parsed.subject,
        normalized_subject=parsed.normalized_subject,
        subject_block=subject_block(parsed.normalized_subject),
        from_name=sender.name if sender else "",
        from_email=sender.email if sender else None,
        to=[[a.name, a.email] for a in parsed.to],
        cc=[[a.name, a.email] for a in parsed.cc],
        date=date,
        date_offset_minutes=offset,
        text=parsed.text,
        html=parsed.html,
        new_text=parsed.new_text,
        quoted_text=parsed.quoted_text,
        signature=parsed.signature,
        auto_reply=parsed.auto_reply,
        defects=list(parsed.defects),
        in_reply_to=list(parsed.in_reply_to),
        references=list(parsed.references),
        delivered_to=list(parsed.delivered_to),
        attachments=[_attachment_row(i, a) for i, a in enumerate(parsed.attachments)],
    )


def _attachment_row(position: int, attachment: Attachment) -> AttachmentRow:
    return AttachmentRow(
        position=position,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        content_id=attachment.content_id,
        inline=attachment.inline,
    )


def _split_date(value: datetime | None) -> tuple[datetime | None, int | None]:
    if value is None:
        return None, None
    offset = value.utcoffset() or timedelta(0)
    return value.astimezone(UTC), int(offset.total_seconds() // 60)


def parsed_from_row(row: ParsedRow, raw: RawMessage) -> ParsedMessage:
    """Rebuild the ``ParsedMessage`` a stored row came from (for re-routing)."""
    return ParsedMessage(
        message_key=row.message_key,
        message_id=row.message_id,
        in_reply_to=tuple(row.in_reply_to),
        references=tuple(row.references),
        subject=row.subject,
        normalized_subject=row.normalized_subject,
        from_=Address(row.from_name, row.from_email) if row.from_email else None,
        to=tuple(Address(n, e) for n, e in row.to),
        cc=tuple(Address(n, e) for n, e in row.cc),
        date=message_date(row),
        text=row.text,
        html=row.html,
        new_text=row.new_text,
        quoted_text=row.quoted_text,
        signature=row.signature,
        attachments=tuple(
            Attachment(a.filename, a.content_type, a.size, a.content_id, a.inline) for a in row.attachments
        ),
        auto_reply=row.auto_reply,
        defects=tuple(row.defects),
        envelope_to=tuple(raw.envelope_to),
        delivered_to=tuple(row.delivered_to),
    )


MAX_OFFSET_MINUTES = 24 * 60 - 1


def sender_local_date(date: datetime | None, offset_minutes: int | None) -> datetime | None:
    """The stored UTC date shown at the sender's own offset (UTC when the offset is unknown)."""
    if date is None or offset_minutes is None or abs(offset_minutes) > MAX_OFFSET_MINUTES:
        return date
    return date.astimezone(timezone(timedelta(minutes=offset_minutes)))


def message_date(row: ParsedRow) -> datetime | None:
    """The message date in the sender's own UTC offset."""
    return sender_local_date(row.date, row.date_offset_minutes)


# --- decisions ----------------------------------------------------------------------------


def current_decision(session: Session, message_key: str) -> DecisionRow | None:
    """The message's current routing decision, if it was routed."""
    return session.scalar(
        select(DecisionRow)
        .where(DecisionRow.message_key == message_key)
        .where(DecisionRow.superseded_at.is_(None))
    )


def save_decision(session: Session, message_key: str, decision: RoutingDecision) -> int:
    """Store ``decision`` as the message's current one (opening its dossier if asked); its row id.

    Core statements built once, run on the session's connection (the ORM unit of work, then the ORM
    execution layer, cost more than the SQL they ran, per message): the decision row and its
    evidence rows are inserted without loading any ORM object. Pending ORM changes are flushed
    first, as autoflush did.
    """
    session.flush()
    connection = session.connection()
    now = utcnow()
    _supersede(session, connection, message_key, now)
    building_id = _building_id(session, connection, decision.building)
    dossier_id = _dossier_for(connection, message_key, decision, building_id)
    values = {
        "message_key": message_key,
        "outcome": decision.outcome,
        "building_id": building_id,
        "dossier_id": dossier_id,
        "confidence": decision.confidence,
        "reason": decision.reason,
        "rules_version": decision.rules_version,
        "waiting_for": list(decision.waiting_for),
        "visibility": decision.visibility,
        "decided_at": now,
        "parsed_key": message_key,
    }
    decision_id: int = connection.execute(_INSERT_DECISION, values).scalar_one()
    if decision.evidence:
        evidence = [_evidence_values(decision_id, i, e) for i, e in enumerate(decision.evidence)]
        connection.execute(_INSERT_EVIDENCE, evidence)
    return decision_id


def _supersede(session: Session, connection: Connection, message_key: str, now: datetime) -> None:
    """Mark the message's current decision superseded, in the store and in the session.

    ``UPDATE … RETURNING id``, then the decision rows the session holds are given the new value
    (what ``synchronize_session="fetch"`` did, without its extra ``SELECT``).
    """
    values = {"key": message_key, "now": now}
    if not connection.dialect.update_returning:
        session.execute(_SUPERSEDE, values)
        return
    for (decision_id,) in connection.execute(_SUPERSEDE_RETURNING, values):
        held = session.identity_map.get(identity_key(DecisionRow, decision_id))
        if held is not None:
            set_committed_value(held, "superseded_at", now)


_SUPERSEDE = (
    update(DecisionRow)
    .where(DecisionRow.message_key == bindparam("key"), DecisionRow.superseded_at.is_(None))
    .values(superseded_at=bindparam("now"))
    .execution_options(synchronize_session="fetch")
)
"""ORM update (decisions loaded in the session see ``superseded_at``), built once; for databases
without ``UPDATE … RETURNING``."""
_DECISIONS = Base.metadata.tables[DecisionRow.__tablename__]
_BUILDINGS = Base.metadata.tables[BuildingRow.__tablename__]
_DOSSIERS = Base.metadata.tables[DossierRow.__tablename__]
_SUPERSEDE_RETURNING = (
    update(_DECISIONS)
    .where(_DECISIONS.c.message_key == bindparam("key"), _DECISIONS.c.superseded_at.is_(None))
    .values(superseded_at=bindparam("now"))
    .returning(_DECISIONS.c.id)
)
_PARSED = Base.metadata.tables[ParsedRow.__tablename__]


def _copied(column: str) -> Any:
    """The decided message's ``parsed_messages`` value of ``column`` (NULL when it has no parse)."""
    source = _PARSED.c[column]
    return select(source).where(_PARSED.c.message_key == bindparam("parsed_key")).scalar_subquery()


_RECOPY_DECISION = (
    update(_DECISIONS)
    .where(_DECISIONS.c.message_key == bindparam("key"), _DECISIONS.c.superseded_at.is_(None))
    .values(subject_block=bindparam("block"), message_date=bindparam("date"))
)
"""A re-parse gives the message's current decision the new subject block and date."""
_INSERT_DECISION = (
    insert(_DECISIONS)
    .values(subject_block=_copied("subject_block"), message_date=_copied("date"))
    .returning(_DECISIONS.c.id)
)
_INSERT_EVIDENCE = insert(Base.metadata.tables[EvidenceRow.__tablename__])
_BUILDING_ID = select(_BUILDINGS.c.id).where(_BUILDINGS.c.slug == bindparam("slug"))
_INSERT_BUILDING = insert(_BUILDINGS).returning(_BUILDINGS.c.id)
_DOSSIER_ID = select(_DOSSIERS.c.id).where(
    _DOSSIERS.c.building_id == bindparam("building"), _DOSSIERS.c.reference == bindparam("reference")
)
_INSERT_DOSSIER = insert(_DOSSIERS).returning(_DOSSIERS.c.id)


def _evidence_values(decision_id: int, position: int, evidence: Evidence) -> dict[str, Any]:
    return {
        "decision_id": decision_id,
        "position": position,
        "kind": evidence.kind,
        "building": evidence.building,
        "dossier": evidence.dossier,
        "score": evidence.score,
        "rule": evidence.rule,
        "detail": evidence.detail,
    }


def _building_id(session: Session, connection: Connection, slug: str | None) -> int | None:
    """The id of building ``slug``, created if missing; remembered for the rest of the transaction.

    A building's slug and id never change once stored (nothing updates or deletes them), so an id
    read or inserted in this transaction stays right until it ends (a rollback may undo an insert:
    the memo is tied to the transaction object, and a new transaction starts with a new one).
    """
    if slug is None:
        return None
    known = _building_ids(session)
    found = known.get(slug)
    if found is None:
        found = connection.execute(_BUILDING_ID, {"slug": slug}).scalar()
    if found is None:
        values = {"slug": slug, "name": slug, "address": "", "origin": "routing"}
        found = connection.execute(_INSERT_BUILDING, values).scalar_one()
    known[slug] = found
    return found


_MEMO = "dossiermail.building_ids"


def _building_ids(session: Session) -> dict[str, int]:
    """This transaction's slug → id memo (the innermost transaction: a savepoint gets its own)."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    held = session.info.get(_MEMO)
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        session.info[_MEMO] = held  # holds the transaction: its id() cannot be reused meanwhile
    memo: dict[str, int] = held[1]
    return memo


def _dossier_for(
    connection: Connection, message_key: str, decision: RoutingDecision, building_id: int | None
) -> int | None:
    if building_id is None:
        return None
    if decision.opens is not None:
        return _open_dossier(connection, message_key, decision, building_id)
    if decision.dossier is None:
        return None
    return _dossier_id(connection, building_id, decision.dossier)


def _dossier_id(connection: Connection, building_id: int, reference: str) -> int | None:
    params = {"building": building_id, "reference": reference}
    found: int | None = connection.execute(_DOSSIER_ID, params).scalar()
    return found


def _open_dossier(
    connection: Connection, message_key: str, decision: RoutingDecision, building_id: int
) -> int:
    opens = decision.opens
    assert opens is not None
    reference = opens.reference or next_auto_reference(connection, building_id)
    insert_new = _insert_dossier_unless_present(connection.dialect.name)
    if insert_new is None:
        existing = _dossier_id(connection, building_id, reference)
        if existing is not None:
            return existing
        insert_new = _INSERT_DOSSIER
    values = {
        "building_id": building_id,
        "reference": reference,
        "title": opens.title,
        "status": opens.status,
        "opened_at": utcnow(),
        "opened_by": f"message {message_key[:12]}",
    }
    created: int | None = connection.execute(insert_new, values).scalar()
    if created is None:  # already there (ON CONFLICT DO NOTHING returned no row)
        created = _dossier_id(connection, building_id, reference)
    assert created is not None
    return created


@lru_cache(maxsize=4)
def _insert_dossier_unless_present(dialect: str) -> Executable | None:
    """``INSERT … ON CONFLICT (building_id, reference) DO NOTHING RETURNING id`` where the dialect
    has it: a new dossier in one statement instead of a look-up then an insert; an existing one
    returns no row and is then looked up."""
    keys = ["building_id", "reference"]
    if dialect == "postgresql":
        return (
            postgresql.insert(_DOSSIERS).on_conflict_do_nothing(index_elements=keys).returning(_DOSSIERS.c.id)
        )
    if dialect == "sqlite":
        return sqlite.insert(_DOSSIERS).on_conflict_do_nothing(index_elements=keys).returning(_DOSSIERS.c.id)
    return None


AUTO_PREFIX = "QUAL"


def next_auto_reference(connection: Connection | Session, building_id: int) -> str:
    """The next free ``QUAL-<year>-<nnn>`` reference of a building (dossiers à qualifier)."""
    year = datetime.now(UTC).year
    prefix = f"{AUTO_PREFIX}-{year}-"
    count = connection.scalar(_COUNT_LIKE, {"building": building_id, "pattern": f"{prefix}%"})
    return f"{prefix}{(count or 0) + 1:03d}"


_COUNT_LIKE = select(func.count(_DOSSIERS.c.id)).where(
    _DOSSIERS.c.building_id == bindparam("building"), _DOSSIERS.c.reference.like(bindparam("pattern"))
)


# --- quarantine ---------------------------------------------------------------------------


def quarantine(session: Session, message_key: str, stage: str, reason: str) -> None:
    """Record why a stored message could not be processed, and mark it quarantined."""
    shown = reason.replace("\x00", "\ufffd")  # a reason may quote the input; no text column takes NUL
    session.add(QuarantineRow(message_key=message_key, stage=stage, reason=shown))
    raw = session.get(RawMessage, message_key)
    if raw is not None:
        raw.state = "quarantined"


def waiting_children(connection: Connection | Session, message_id: str) -> list[str]:
    """Keys of messages in review that point at ``message_id`` (orphans to heal)."""
    rows = connection.scalars(_WAITING, {"message_id": message_id})
    return list(dict.fromkeys(rows))


def review_keys_mentioning(connection: Connection | Session, reference: str) -> list[str]:
    """Keys of messages in review whose subject carries ``reference`` (a dossier just opened)."""
    return list(connection.scalars(_MENTIONING, {"reference": reference}))


_WAITING = (
    select(ThreadLink.message_key)
    .join(DecisionRow, DecisionRow.message_key == ThreadLink.message_key)
    .where(ThreadLink.target_id == bindparam("message_id"))
    .where(DecisionRow.superseded_at.is_(None), DecisionRow.outcome == "needs_review")
)
_MENTIONING = (
    select(ParsedRow.message_key)
    .join(DecisionRow, DecisionRow.message_key == ParsedRow.message_key)
    .where(ParsedRow.subject.contains(bindparam("reference")))
    .where(DecisionRow.superseded_at.is_(None), DecisionRow.outcome == "needs_review")
)
