"""Fuzzy-subject candidates from the store (SQLite and PostgreSQL): an indexed lookup by block."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions, parse_stored
from dossiermail.rules.model import RoutingRules
from dossiermail.store import Store
from dossiermail.store.models import DecisionRow, DossierRow, ParsedRow, RawMessage
from dossiermail.store.repo import StoreIndex, current_decision, open_dossiers_query
from tests.conftest import migrate_back_and_forth
from tests.factories import AZUR, PLUMBER, rules

STEPS = ("explicit_address", "subject_reference", "thread_headers", "address_book", "fuzzy_subject")
OWNER = "marie.dupont@example.org"


def _eml(folder: Path, name: str, subject: str, sender: str, to: str, day: int) -> None:
    (folder / f"{name}.eml").write_text(
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nMessage-ID: <{name}@example.org>\n"
        f"Date: Mon, {day:02d} Mar 2026 10:00:00 +0100\nContent-Type: text/plain; charset=utf-8\n\n"
        "Bonjour,\nmerci.\n"
    )


def _import(store: Store, folder: Path) -> None:
    options = ImportOptions(
        RouteOptions(replace(rules(), routing=RoutingRules(steps=STEPS))), auto_dossiers=True
    )
    run_import(store, [folder], options)


def _filed(store: Store, tmp_path: Path) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir()
    _eml(folder, "a", "Fuite toiture", OWNER, f"mimosas@{AZUR}", 2)
    _eml(folder, "b", "Fuite toiture", OWNER, f"belvedere@{AZUR}", 3)
    _eml(folder, "c", "Ascenseur en panne", OWNER, f"mimosas@{AZUR}", 4)
    _import(store, folder)
    return folder


def test_candidates_come_from_the_asked_buildings_and_subject_block_only(
    store: Store, tmp_path: Path
) -> None:
    _filed(store, tmp_path)
    with store.session() as session:
        found = StoreIndex(session).open_dossiers(["les-mimosas"], "fuite", None)
    assert [(c.building, c.normalized_subject) for c in found] == [("les-mimosas", "fuite toiture")]
    assert OWNER in found[0].participants


def test_candidates_respect_the_time_window_and_closed_dossiers(store: Store, tmp_path: Path) -> None:
    _filed(store, tmp_path)
    with store.session() as session:
        index = StoreIndex(session)
        assert index.open_dossiers(["les-mimosas"], "fuite", datetime(2026, 3, 5, tzinfo=UTC)) == []
        session.execute(update(DossierRow).values(status="clos"))
        assert index.open_dossiers(["les-mimosas", "le-belvedere"], "fuite", None) == []


def test_a_reply_without_headers_from_a_contact_joins_the_dossier_of_its_building(
    store: Store, tmp_path: Path
) -> None:
    folder = _filed(store, tmp_path)
    _eml(folder, "d", "RE : Fuite toiture", PLUMBER, "gestion@example.org", 6)
    _import(store, folder)
    with store.session() as session:
        first = current_decision(session, _key(session, "a@example.org"))
        reply = current_decision(session, _key(session, "d@example.org"))
        assert first is not None and reply is not None
        assert (reply.outcome, reply.dossier_id) == ("assigned", first.dossier_id)


@pytest.mark.parametrize("since", [None, datetime(2026, 3, 1, tzinfo=UTC)])
def test_the_lookup_reads_the_asked_building_in_the_decision_side_index(
    sqlite_url: str, since: datetime | None
) -> None:
    from dossiermail.store import open_store

    store = open_store(sqlite_url)
    try:
        query = open_dossiers_query(["les-mimosas"], "fuite", since)
        sql = str(query.compile(store.engine, compile_kwargs={"literal_binds": True}))
        with store.session() as session:
            plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    finally:
        store.dispose()
    assert "ix_routing_decisions_fuzzy (building_id=? AND subject_block=?" in plan


def test_a_decision_carries_its_message_subject_block_and_date(store: Store, tmp_path: Path) -> None:
    _filed(store, tmp_path)
    with store.session() as session:
        copied = (DecisionRow.subject_block, DecisionRow.message_date)
        query = select(*copied, ParsedRow.subject_block, ParsedRow.date)
        rows = session.execute(query.join(ParsedRow, ParsedRow.message_key == DecisionRow.message_key)).all()
    assert len(rows) == 3
    assert {row[0] for row in rows} == {"fuite", "ascenseur"}
    assert all(row[0] == row[2] and row[1] == row[3] and row[1] is not None for row in rows)


def test_a_reparse_refreshes_the_copy_the_lookup_reads(store: Store, tmp_path: Path) -> None:
    _filed(store, tmp_path)
    with store.session() as session:
        key = _key(session, "c@example.org")
        raw = session.get(RawMessage, key)
        assert raw is not None
        raw.raw = raw.raw.replace(b"Subject: Ascenseur en panne", b"Subject: Fuite du hall")
        assert parse_stored(session, raw)
    with store.session() as session:
        found = StoreIndex(session).open_dossiers(["les-mimosas"], "fuite", None)
        decision = current_decision(session, key)
        assert decision is not None and decision.subject_block == "fuite"
    assert sorted(c.normalized_subject for c in found) == ["fuite du hall", "fuite toiture"]


def test_migration_0010_copies_the_block_and_date_of_stored_decisions(store: Store, tmp_path: Path) -> None:
    _filed(store, tmp_path)
    migrate_back_and_forth(store, "0009")
    with store.session() as session:
        found = StoreIndex(session).open_dossiers(["les-mimosas"], "fuite", datetime(2026, 3, 1, tzinfo=UTC))
        assert [c.normalized_subject for c in found] == ["fuite toiture"]
        assert found[0].date == datetime(2026, 3, 2, 9, tzinfo=UTC)


def _key(session: object, message_id: str) -> str:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    key = session.scalar(select(ParsedRow.message_key).where(ParsedRow.message_id_norm == message_id))
    assert key is not None
    return key


def test_linked_finds_filed_messages_pointing_at_the_same_ids(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    _eml(folder, "r1", "RE : Devis", OWNER, f"mimosas@{AZUR}", 2)
    text = (
        (folder / "r1.eml")
        .read_text()
        .replace("Content-Type", "In-Reply-To: <ghost@example.org>\nContent-Type")
    )
    (folder / "r1.eml").write_text(text)
    _import(store, folder)
    with store.session() as session:
        found = StoreIndex(session).linked(["ghost@example.org"], exclude_key="nobody")
        assert [(f.message_id, f.outcome, f.building) for f in found] == [
            ("ghost@example.org", "assigned", "les-mimosas")
        ]
        assert (
            StoreIndex(session).linked(["ghost@example.org"], exclude_key=_key(session, "r1@example.org"))
            == []
        )
