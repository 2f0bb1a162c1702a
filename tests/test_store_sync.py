"""Mirroring the rules into the store is safe when several processes start at the same moment."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from dossiermail.rules import load_rules
from dossiermail.store import open_store
from dossiermail.store.models import BuildingRow, ContactRow
from dossiermail.store.repo import sync_rules
from tests.conftest import RULES


@pytest.mark.postgres
def test_concurrent_rule_syncs_all_succeed_and_store_each_row_once(postgres_url: str) -> None:
    rules = load_rules(RULES)
    store = open_store(postgres_url)
    starting_line = threading.Barrier(6)
    failures: list[BaseException] = []

    def start_a_process() -> None:
        try:
            with store.session() as session:
                starting_line.wait(timeout=30)
                sync_rules(session, rules)
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    workers = [threading.Thread(target=start_a_process) for _ in range(6)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert failures == []
        with store.session() as session:
            assert session.scalar(select(func.count()).select_from(BuildingRow)) == len(rules.buildings)
            assert session.scalar(select(func.count()).select_from(ContactRow)) == len(rules.contacts)
            names = set(session.scalars(select(BuildingRow.name)))
        assert names == {b.name for b in rules.buildings}
    finally:
        store.dispose()
