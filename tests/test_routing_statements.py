"""Routing asks the store fewer statements per message, each combined answer equal to the separate ones."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from dossiermail.domain import NewDossier, RoutingDecision
from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.store import Store
from dossiermail.store.models import BuildingRow, DecisionRow, DossierRow, ParsedRow, RawMessage
from dossiermail.store.repo import StoreIndex, save_decision
from dossiermail.threading.context import EmptyIndex, MemoIndex, RoutedParent
from tests.factories import AZUR, rules

OWNER = "marie.dupont@example.org"
MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def _eml(folder: Path, name: str, subject: str, day: int, headers: str = "") -> None:
    (folder / f"{name}.eml").write_text(
        f"From: Marie Dupont <{OWNER}>\nTo: mimosas@{AZUR}\nSubject: {subject}\n"
        f"Message-ID: <{name}@example.org>\n{headers}"
        f"Date: Mon, {day:02d} Mar 2026 10:00:00 +0100\nContent-Type: text/plain; charset=utf-8\n\nBonjour.\n"
    )


def _thread(store: Store, tmp_path: Path) -> None:
    """A message, a reply to it, and a reply to a parent never received."""
    folder = tmp_path / "mail"
    folder.mkdir()
    _eml(folder, "a", "Fuite toiture", 2)
    _eml(
        folder,
        "b",
        "RE : Fuite toiture",
        3,
        "In-Reply-To: <a@example.org>\nReferences: <ghost@example.org>\n",
    )
    _eml(folder, "c", "RE : Fuite toiture", 4, "In-Reply-To: <ghost@example.org>\n")
    run_import(store, [folder], ImportOptions(RouteOptions(rules()), auto_dossiers=True))


@contextmanager
def _counted(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def test_parents_and_linked_in_one_statement_equal_the_two_lookups(store: Store, tmp_path: Path) -> None:
    _thread(store, tmp_path)
    parent_ids = ["a@example.org", "ghost@example.org"]
    link_ids = ["b@example.org", *parent_ids]
    with store.session() as session:
        index = StoreIndex(session)
        exclude = session.scalar(
            select(ParsedRow.message_key).where(ParsedRow.message_id_norm == "b@example.org")
        )
        assert exclude is not None
        separate = (index.parents(parent_ids), index.linked(link_ids, exclude))
        with _counted(store) as seen:
            together = index.parents_and_linked(parent_ids, link_ids, exclude)
        assert len(seen) == 1
    assert [list(part) for part in together] == [list(part) for part in separate]
    assert [p.message_id for p in together[0]] == ["a@example.org"]
    assert [p.message_id for p in together[1]] == ["ghost@example.org"]


def test_sent_and_named_in_one_statement_equal_the_two_lookups(store: Store, tmp_path: Path) -> None:
    _thread(store, tmp_path)
    since, until = MARCH, MARCH + timedelta(days=10)
    with store.session() as session:
        index = StoreIndex(session)
        separate = (
            index.messages_from([OWNER], since, until),
            index.messages_named("dupont marie", since, until),
        )
        with _counted(store) as seen:
            together = index.messages_from_and_named(OWNER.upper(), "dupont marie", since, until)
        assert len(seen) == 1
    assert [list(part) for part in together] == [list(part) for part in separate]
    assert len(together[0]) == 3 and len(together[1]) == 3


class _Recording(EmptyIndex):
    """An in-memory index with links through two ids; records what it is asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[object, ...]] = []
        self.links = [RoutedParent("x", "assigned", "b", "D1"), RoutedParent("y", "assigned", "b", "D2")]

    def linked(self, message_ids: Sequence[str], exclude_key: str) -> Sequence[RoutedParent]:
        self.asked.append(("linked", tuple(message_ids), exclude_key))
        return [link for link in self.links if link.message_id in message_ids]

    def parents(self, message_ids: Sequence[str]) -> Sequence[RoutedParent]:
        self.asked.append(("parents", tuple(message_ids)))
        return []


def test_links_through_fewer_ids_come_from_the_answer_for_more() -> None:
    inner = _Recording()
    memo = MemoIndex(inner)
    assert [link.dossier for link in memo.linked(["x", "y", "z"], "k")] == ["D1", "D2"]
    assert [link.dossier for link in memo.linked(["y"], "k")] == ["D2"]
    assert memo.linked(["z"], "k") == []
    assert inner.asked == [("linked", ("x", "y", "z"), "k")]
    assert [link.dossier for link in memo.linked(["y"], "other")] == ["D2"]  # another exclusion: asked
    assert len(inner.asked) == 2


def test_expected_questions_fall_back_to_separate_ones_without_a_combined_lookup() -> None:
    inner = _Recording()
    memo = MemoIndex(inner)
    memo.expect_threads(["x"], ["me", "x"], "k")
    assert memo.parents(["x"]) == []
    assert [link.dossier for link in memo.linked(["me", "x"], "k")] == ["D1"]
    assert inner.asked == [("parents", ("x",)), ("linked", ("me", "x"), "k")]


def test_routing_a_reply_asks_parents_and_links_together(store: Store, tmp_path: Path) -> None:
    with _counted(store) as seen:
        _thread(store, tmp_path)
    parents = [s for s in seen if "parsed_messages.message_id_norm IN" in s]
    assert parents and all("UNION ALL" in s for s in parents)
    assert not any("thread_links.target_id IN" in s and "UNION ALL" not in s for s in parents)


def test_a_building_created_in_a_rolled_back_transaction_is_created_again(
    store: Store, tmp_path: Path
) -> None:
    _thread(store, tmp_path)
    opens = NewDossier("nouveau", None, "Fuite", "a_qualifier")
    decision = RoutingDecision("assigned", "nouveau", None, 0.5, (), "test", "test", opens)
    with store.sessions() as session:
        key = session.scalars(select(RawMessage.key)).first()
        assert key is not None
        save_decision(session, key, decision)
        session.rollback()
        save_decision(session, key, decision)  # a new transaction: the memo of the old one is not used
        session.commit()
    with store.session() as session:
        building = session.scalar(select(BuildingRow.id).where(BuildingRow.slug == "nouveau"))
        dossiers = session.scalars(select(DossierRow.building_id).where(DossierRow.reference.like("QUAL-%")))
        assert building is not None and building in set(dossiers)


def test_opening_a_dossier_that_exists_joins_it(store: Store, tmp_path: Path) -> None:
    _thread(store, tmp_path)
    opens = NewDossier("les-mimosas", "DDE-2026-001", "Fuite", "ouvert")
    decision = RoutingDecision("assigned", "les-mimosas", "DDE-2026-001", 0.92, (), "test", "test", opens)
    with store.session() as session:
        keys = list(session.scalars(select(RawMessage.key)))
        first = save_decision(session, keys[0], decision)
        second = save_decision(session, keys[1], decision)
        dossiers = select(DecisionRow.dossier_id).where(DecisionRow.id.in_([first, second]))
        assert len(set(session.scalars(dossiers))) == 1
        count = select(func.count(DossierRow.id)).where(DossierRow.reference == "DDE-2026-001")
        assert session.scalar(count) == 1


def test_healing_looks_for_waiting_replies_only_when_routing_saw_one(store: Store, tmp_path: Path) -> None:
    waiting = "SELECT thread_links.message_key"
    for name, subject, headers, auto in [
        ("c", "Ascenseur", "", True),  # filed; nothing points at it
        ("b", "RE : Fuite toiture", "In-Reply-To: <a@example.org>\n", False),  # stays in review
        ("a", "Fuite toiture", "", True),  # filed; <b> waits for it
    ]:
        folder = tmp_path / name
        folder.mkdir()
        _eml(folder, name, subject, 2, headers)
        with _counted(store) as seen:
            run_import(store, [folder], ImportOptions(RouteOptions(rules()), auto_dossiers=auto))
        assert len([s for s in seen if waiting in s]) == (name == "a")
    with store.session() as session:
        healed = select(DecisionRow.outcome).where(DecisionRow.superseded_at.is_(None))
        assert list(session.scalars(healed)) == ["assigned"] * 3
