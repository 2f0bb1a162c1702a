"""Review queue and corrections on the sample mail (SQLite and PostgreSQL): who filed what, where, why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from dossiermail.commands.review import heal
from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.rules import load_rules
from dossiermail.store import Store
from dossiermail.store.corrections import (
    CorrectionError,
    Who,
    assign,
    close_dossier,
    decision_history,
    dossier_history,
    merge_dossiers,
    move,
    open_dossier,
    resolve_dossier,
    resolve_message,
    review_queue,
)
from dossiermail.store.models import CorrectionRow, RawMessage
from dossiermail.store.repo import current_decision, review_keys_mentioning
from dossiermail.timeline.build import build_timeline
from tests.conftest import RULES, SAMPLES
from tests.test_pipeline import OPENING, REPLY

CLAIRE = Who("claire.martin", "the owner's first report of the leak")
OWNER_REPORT = "mimosas-dde-01-owner-reports-leak-jpeg-photos.eml"
CARABACEL_ROOF = "carabacel-trx-01-council-reports-fuite-toiture-no-reference.eml"
TWO_BUILDINGS = "misc-trap-cc-two-building-addresses.eml"
LATE_REFERENCE = "mimosas-dde-trap-owner-mistyped-reference.eml"

OWNER = """Message-ID: <cave-1@example.org>
Date: Mon, 02 Mar 2026 18:00:00 +0100
From: Paul Leroy <paul.leroy@example.org>
To: mimosas@cabinet-azur.example.fr
Subject: Infiltration dans ma cave

Il y a de l'eau dans ma cave depuis ce matin.
"""

OWNER_AGAIN = """Message-ID: <cave-2@example.org>
Date: Tue, 03 Mar 2026 19:00:00 +0100
From: Paul Leroy <paul.leroy@example.org>
To: mimosas@cabinet-azur.example.fr
Subject: Re: Infiltration dans ma cave
In-Reply-To: <cave-1@example.org>
References: <cave-1@example.org>

Photos jointes, l'eau monte encore.
"""

REPLY_TO_REPLY = """Message-ID: <reply-2@cabinet-azur.example.fr>
Date: Thu, 05 Mar 2026 09:00:00 +0100
From: Claire Martin <claire.martin@cabinet-azur.example.fr>
To: Plomberie Durand <devis@plomberie-durand.example.com>
Subject: Re: Fuite au plafond
In-Reply-To: <reply-1@plomberie-durand.example.com>
References: <open-1@cabinet-azur.example.fr> <reply-1@plomberie-durand.example.com>

Parfait, merci.
"""


def _options() -> RouteOptions:
    return RouteOptions(load_rules(RULES))


def _import(store: Store, *paths: Path) -> None:
    run_import(store, list(paths), ImportOptions(_options()))


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _key(store: Store, file_name: str) -> str:
    with store.session() as session:
        return session.scalars(select(RawMessage.key).where(RawMessage.source.endswith(file_name))).one()


def _where(store: Store, key: str) -> tuple[str, str | None]:
    with store.session() as session:
        decision = current_decision(session, key)
        assert decision is not None
        dossier = decision.dossier
        return decision.outcome, f"{dossier.building.slug}/{dossier.reference}" if dossier else None


def _expected_review() -> set[str]:
    lines = (SAMPLES / "expected.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return {r["file"] for r in records if r["outcome"] == "needs_review"}


@pytest.fixture
def samples(store: Store) -> Store:
    """The store with every sample imported and routed."""
    _import(store, SAMPLES)
    return store


def test_review_list_shows_every_sample_routing_was_unsure_about_oldest_first(samples: Store) -> None:
    with samples.session() as session:
        queue = review_queue(session)
        sources = {session.get_one(RawMessage, item.key).source for item in queue}
    assert {Path(s).name for s in sources} == _expected_review()
    assert len(queue) == 10
    dates = [item.date for item in queue if item.date]
    assert dates == sorted(dates)
    mimosas = {item.key for item in queue if item.building == "les-mimosas"}
    with samples.session() as session:
        assert {item.key for item in review_queue(session, "les-mimosas")} == mimosas


def test_assigning_the_owners_report_files_it_in_the_dossier_timeline(samples: Store) -> None:
    key = _key(samples, OWNER_REPORT)
    with samples.session() as session:
        dossier = resolve_dossier(session, "DDE-2026-014")
        assign(session, resolve_message(session, key[:8]), dossier, CLAIRE)
        assert key in {entry.message_key for entry in build_timeline(session, dossier.id).entries}
    assert _where(samples, key) == ("assigned", "les-mimosas/DDE-2026-014")
    with samples.session() as session:
        old, new = decision_history(session, key)
        assert (old.outcome, old.superseded_at is not None) == ("needs_review", True)
        manual = new.evidence[0]
        assert (manual.kind, manual.score, manual.rule) == ("manual", 1.0, "review assign")
        assert manual.detail == "by claire.martin: the owner's first report of the leak"
        assert key not in {item.key for item in review_queue(session)}
        correction = session.scalars(select(CorrectionRow)).one()
        assert (correction.action, correction.actor, correction.message_key) == ("assign", CLAIRE.actor, key)
        filed = {"from": "needs_review", "to": "les-mimosas/DDE-2026-014", "forced": False}
        assert correction.detail == filed


def test_a_message_is_never_silently_filed_in_another_building(samples: Store) -> None:
    key = _key(samples, CARABACEL_ROOF)
    with samples.session() as session:
        dossier = resolve_dossier(session, "DDE-2026-014")
        with pytest.raises(CorrectionError, match="villa-carabacel, not les-mimosas"):
            assign(session, key, dossier, CLAIRE)
    assert _where(samples, key) == ("needs_review", None)
    with samples.session() as session:
        assign(session, key, resolve_dossier(session, "DDE-2026-014"), CLAIRE, force=True)
        correction = session.scalars(select(CorrectionRow)).one()
        assert correction.detail["forced"] is True


def test_a_message_naming_two_buildings_may_be_filed_in_either(samples: Store) -> None:
    key = _key(samples, TWO_BUILDINGS)
    with samples.session() as session:
        assign(session, key, resolve_dossier(session, "les-mimosas/DDE-2026-014"), CLAIRE)
        with pytest.raises(CorrectionError, match="refusing to cross buildings"):
            move(session, key, resolve_dossier(session, "TRX-2026-007"), CLAIRE)


def test_an_assigned_message_is_moved_not_reassigned(samples: Store) -> None:
    key = _key(samples, OWNER_REPORT)
    with samples.session() as session:
        open_dossier(session, "les-mimosas", "DDE-2026-050", "Fuite salle de bain lot 12", CLAIRE)
        with pytest.raises(CorrectionError, match="not in a dossier"):
            move(session, key, resolve_dossier(session, "DDE-2026-050"), CLAIRE)
        assign(session, key, resolve_dossier(session, "DDE-2026-014"), CLAIRE)
        with pytest.raises(CorrectionError, match="dossier move"):
            assign(session, key, resolve_dossier(session, "DDE-2026-050"), CLAIRE)
        move(session, key, resolve_dossier(session, "DDE-2026-050"), Who("claire.martin", "wrong leak"))
    assert _where(samples, key) == ("assigned", "les-mimosas/DDE-2026-050")


def test_opening_a_dossier_files_the_messages_in_review_carrying_its_reference(samples: Store) -> None:
    key = _key(samples, LATE_REFERENCE)
    with samples.session() as session:
        open_dossier(session, "les-mimosas", "DDE-2026-041", "Reprise peinture plafond", CLAIRE, "travaux")
        assert heal(session, review_keys_mentioning(session, "DDE-2026-041"), RULES) == 1
    assert _where(samples, key) == ("assigned", "les-mimosas/DDE-2026-041")


def test_merging_moves_every_message_and_marks_the_old_dossier_merged(samples: Store) -> None:
    report = _key(samples, OWNER_REPORT)
    with samples.session() as session:
        duplicate = open_dossier(session, "les-mimosas", "DDE-2026-041", "Fuite lot 12 (doublon)", CLAIRE)
        assign(session, report, duplicate, CLAIRE)
        moved = merge_dossiers(session, duplicate, resolve_dossier(session, "DDE-2026-014"), CLAIRE)
        assert moved == [report] and duplicate.status == "fusionne"
        merge = session.scalars(select(CorrectionRow).where(CorrectionRow.action == "merge")).one()
        assert merge.detail["into"] == "les-mimosas/DDE-2026-014"
        with pytest.raises(CorrectionError, match="different buildings"):
            merge_dossiers(session, resolve_dossier(session, "DDE-2026-014"),
                           resolve_dossier(session, "TRX-2026-007"), CLAIRE)  # fmt: skip
        with pytest.raises(CorrectionError, match="merged"):
            assign(session, _key(samples, CARABACEL_ROOF), duplicate, CLAIRE)
    assert _where(samples, report) == ("assigned", "les-mimosas/DDE-2026-014")


def test_history_shows_who_did_what_when_and_why(samples: Store) -> None:
    report = _key(samples, OWNER_REPORT)
    with samples.session() as session:
        dossier = resolve_dossier(session, "DDE-2026-014")
        assign(session, report, dossier, CLAIRE)
        close_dossier(session, dossier, Who("marc.admin", "travaux terminés, facture payée"))
        with pytest.raises(CorrectionError, match="already clos"):
            close_dossier(session, dossier, CLAIRE)
        history = dossier_history(session, dossier)
        assert [(c.action, c.actor) for c in history] == [("assign", CLAIRE.actor), ("close", "marc.admin")]
        assert history[1].reason == "travaux terminés, facture payée"
        assert history[0].created_at <= history[1].created_at
        assert dossier.status == "clos"


def test_unknown_or_ambiguous_names_are_refused(samples: Store) -> None:
    with samples.session() as session:
        for spec in ("DDE-2099-001", "nowhere/DDE-2026-014"):
            with pytest.raises(CorrectionError, match="unknown dossier"):
                resolve_dossier(session, spec)
        open_dossier(session, "le-belvedere", "DDE-2026-014", "Même numéro, autre immeuble", CLAIRE)
        with pytest.raises(CorrectionError, match="several buildings"):
            resolve_dossier(session, "DDE-2026-014")
        for prefix, needle in (("abc", "not a message key"), ("ffffffffff", "unknown message")):
            with pytest.raises(CorrectionError, match=needle):
                resolve_message(session, prefix)
        with pytest.raises(CorrectionError, match="already exists"):
            open_dossier(session, "les-mimosas", "DDE-2026-014", "Doublon", CLAIRE)
        with pytest.raises(CorrectionError, match="unknown building"):
            open_dossier(session, "les-tilleuls", "DDE-2026-001", "Nulle part", CLAIRE)


def test_replies_waiting_for_a_message_follow_it_when_it_is_assigned(store: Store, tmp_path: Path) -> None:
    _import(store, _write(tmp_path, "1-open.eml", OPENING))
    _import(store, _write(tmp_path, "cave-1.eml", OWNER), _write(tmp_path, "cave-2.eml", OWNER_AGAIN))
    first, second = _key(store, "cave-1.eml"), _key(store, "cave-2.eml")
    assert _where(store, second) == ("needs_review", None)
    with store.session() as session:
        done = assign(session, first, resolve_dossier(session, "DDE-2026-014"), CLAIRE)
        assert done.heal == (second,)
        assert heal(session, done.heal, RULES) == 1
    assert _where(store, second) == ("assigned", "les-mimosas/DDE-2026-014")


def test_a_manual_assignment_sticks_when_the_parent_arrives_later(store: Store, tmp_path: Path) -> None:
    _import(store, _write(tmp_path, "2-reply.eml", REPLY))
    reply = _key(store, "2-reply.eml")
    assert _where(store, reply)[0] == "needs_review"
    with store.session() as session:
        dossier = open_dossier(session, "les-mimosas", "DDE-2026-099", "Fuite (saisie manuelle)", CLAIRE)
        assign(session, reply, dossier, CLAIRE)
    _import(store, _write(tmp_path, "1-open.eml", OPENING))
    assert _where(store, _key(store, "1-open.eml")) == ("assigned", "les-mimosas/DDE-2026-014")
    assert _where(store, reply) == ("assigned", "les-mimosas/DDE-2026-099")
    _import(store, _write(tmp_path, "3-reply.eml", REPLY_TO_REPLY))
    assert _where(store, _key(store, "3-reply.eml")) == ("assigned", "les-mimosas/DDE-2026-099")
