"""Workers route mail in arrival order, not date order, several at once: the samples must route the
same whatever the order, and with four route steps running side by side on PostgreSQL."""

from __future__ import annotations

import json
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from dossiermail.commands.exporting import message_records
from dossiermail.ingest.accept import accept
from dossiermail.ingest.archive import read_archive
from dossiermail.jobs.outbox import request_step
from dossiermail.jobs.pipeline import RouteOptions, parse_stored, route_and_heal
from dossiermail.jobs.routelocks import lock_key, message_lock_names
from dossiermail.jobs.settings import JobSettings
from dossiermail.jobs.steps import StepContext, run_step
from dossiermail.parse import parse_message
from dossiermail.rules import load_rules
from dossiermail.store import Store, open_store
from dossiermail.store.models import JobStep, RawMessage
from dossiermail.store.repo import sync_rules
from tests.conftest import RULES, SAMPLES


def _expected() -> dict[str, tuple[str, str | None, str | None]]:
    lines = (SAMPLES / "expected.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return {r["file"]: (r["outcome"], r["building"], r["dossier"]) for r in records}


@pytest.mark.parametrize("seed", [0, 2, 5])
def test_samples_route_as_expected_whatever_the_arrival_order(seed: int, sqlite_url: str) -> None:
    options = RouteOptions(load_rules(RULES))
    mails = [item.mail for item in read_archive([SAMPLES]) if item.mail is not None]
    random.Random(seed).shuffle(mails)
    store = open_store(sqlite_url)
    try:
        for mail in mails:  # one message at a time, as a worker sees them
            with store.session() as session:
                key = accept(session, mail).message_key
            with store.session() as session:
                row = session.get(RawMessage, key)
                assert row is not None
                if parse_stored(session, row):
                    route_and_heal(session, key, options, heal_mentions=True)  # as a route step does
        with store.sessions() as session:
            records = list(message_records(session))
    finally:
        store.dispose()
    got = {Path(r["source"]).name: (r["outcome"], r["building"], r["dossier"]) for r in records}
    assert got == _expected()


def _parsed_samples(store: Store, seed: int) -> list[str]:
    """Accept and parse the samples in a shuffled order; their keys, in that order."""
    mails = [item.mail for item in read_archive([SAMPLES]) if item.mail is not None]
    random.Random(seed).shuffle(mails)
    keys = []
    for mail in mails:
        with store.session() as session:
            key = accept(session, mail).message_key
            row = session.get(RawMessage, key)
            assert row is not None
            if parse_stored(session, row):
                keys.append(key)
    return keys


@pytest.mark.postgres
@pytest.mark.parametrize("seed", [1, 3])
def test_route_steps_run_side_by_side_route_the_samples_as_expected(
    seed: int, postgres_url: str, tmp_path: Path
) -> None:
    """Four threads run the route steps at once, each under its own route locks only."""
    store = open_store(postgres_url)
    rules = load_rules(RULES)
    try:
        with store.session() as session:
            sync_rules(session, rules)  # as ``dossiermail worker`` does before starting its processes
        keys = _parsed_samples(store, seed)
        with store.session() as session:
            sends = [request_step(session, "route", key) for key in keys]
        ids = [send.id for send in sends if send is not None]
        settings = JobSettings(backoff_base=0.01)
        context = StepContext(store, RouteOptions(rules), tmp_path / "site", settings, "test")
        with ThreadPoolExecutor(4) as pool:
            retries = [s for sends in pool.map(lambda i: run_step(context, i), ids) for s in sends]
        assert [s for s in retries if s.step == "route"] == []  # no route step failed
        with store.sessions() as session:
            states = Counter(session.scalars(select(JobStep.state).where(JobStep.step == "route")))
            records = list(message_records(session))
    finally:
        store.dispose()
    assert states == Counter({"done": len(ids)})
    got = {Path(r["source"]).name: (r["outcome"], r["building"], r["dossier"]) for r in records}
    assert got == _expected()


def _mail(sender: str, subject: str, message_id: str, reply_to: str | None = None, body: str = "") -> bytes:
    thread = f"In-Reply-To: <{reply_to}>\nReferences: <{reply_to}>\n" if reply_to else ""
    return (
        f"From: {sender}\nTo: mimosas@cabinet-azur.example.fr\nSubject: {subject}\n"
        f"Date: Mon, 05 Jan 2026 08:00:00 +0100\nMessage-ID: <{message_id}>\n{thread}\n{body or 'Bonjour.'}\n"
    ).encode()


def _names(raw: bytes) -> frozenset[str]:
    return message_lock_names(parse_message(raw, "k"), load_rules(RULES))


def test_route_lock_names_tie_what_routing_ties_and_nothing_else() -> None:
    parent = _names(_mail("a@exemple.fr", "Fuite en cave [DDE-2026-014]", "p@x"))
    assert parent >= {"id:p@x", "ref:DDE-2026-014", "subject:fuite", "from:a@exemple.fr"}
    reply = _names(_mail("b@exemple.fr", "RE: Autre chose", "r@x", reply_to="P@x"))
    assert parent & reply == {"id:p@x"}  # a reply waits for its parent, whatever the case of the id
    same_dossier = _names(_mail("c@exemple.fr", "Devis [DDE-2026-014]", "d@x"))
    assert parent & same_dossier == {"ref:DDE-2026-014"}
    quoting = _names(_mail("d@exemple.fr", "Tr: ascenseur", "q@x", body=QUOTE))
    assert "from:a@exemple.fr" in quoting  # the quoted sender's mail may decide where it goes
    named = _names(_mail("Jean Dupont <j@exemple.fr>", "Badge", "n@x"))
    quoting_a_name = _names(_mail("f@exemple.fr", "Tr: interphone", "m@x", body=NAMED_QUOTE))
    assert named & quoting_a_name == {"name:dupont jean"}  # found again by the name alone
    unrelated = _names(_mail("e@exemple.fr", "Portail du parking", "u@x"))
    assert not unrelated & (parent | reply | same_dossier | quoting | named | quoting_a_name)
    assert len({lock_key(name) for name in parent | unrelated}) == len(parent | unrelated)


QUOTE = "Voir plus bas.\n\nLe lun. 5 janv. 2026 à 08:00, A <a@exemple.fr> a écrit :\n> Bonjour\n"
NAMED_QUOTE = "Voir plus bas.\n\nLe lun. 5 janv. 2026 à 08:00, Jean Dupont a écrit :\n> Bonjour\n"
