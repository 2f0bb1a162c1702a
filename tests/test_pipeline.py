"""Import → parse → route on a real store (SQLite and PostgreSQL): dedupe, healing, quarantine."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.store import Store
from dossiermail.store.models import DecisionRow, DossierRow, QuarantineRow, RawMessage
from tests.factories import AZUR, rules

OPENING = f"""Message-ID: <open-1@{AZUR}>
Date: Tue, 03 Mar 2026 10:00:00 +0100
From: Claire Martin <claire.martin@{AZUR}>
To: Plomberie Durand <devis@plomberie-durand.example.com>
Cc: mimosas@{AZUR}
Subject: [DDE-2026-014] Fuite au plafond du lot 12

Bonjour, merci de passer voir la fuite.
"""

REPLY = f"""Message-ID: <reply-1@plomberie-durand.example.com>
Date: Wed, 04 Mar 2026 09:00:00 +0100
From: Plomberie Durand <devis@plomberie-durand.example.com>
To: Claire Martin <claire.martin@{AZUR}>
Subject: Re: Fuite au plafond
In-Reply-To: <open-1@{AZUR}>
References: <open-1@{AZUR}>

Je passe jeudi.
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _import(store: Store, *paths: Path, **options: object) -> dict[str, object]:
    summary = run_import(store, list(paths), ImportOptions(RouteOptions(rules()), **options))  # type: ignore[arg-type]
    return summary.as_dict()


def _current(store: Store) -> dict[str, tuple[str, int | None]]:
    with store.session() as session:
        rows = session.execute(
            select(RawMessage.source, DecisionRow.outcome, DecisionRow.dossier_id)
            .join(DecisionRow, DecisionRow.message_key == RawMessage.key)
            .where(DecisionRow.superseded_at.is_(None))
        )
        return {Path(src).name: (outcome, dossier) for src, outcome, dossier in rows}


def test_a_gestionnaire_opens_a_dossier_and_the_reply_joins_it(store: Store, tmp_path: Path) -> None:
    _write(tmp_path / "in", "1-open.eml", OPENING)
    _write(tmp_path / "in", "2-reply.eml", REPLY)
    summary = _import(store, tmp_path / "in")
    assert summary["imported"] == 2 and summary["assigned"] == 2
    current = _current(store)
    assert current["1-open.eml"] == current["2-reply.eml"]
    with store.session() as session:
        dossier = session.scalars(select(DossierRow)).one()
        assert (dossier.reference, dossier.title) == ("DDE-2026-014", "Fuite au plafond du lot 12")


def test_reimporting_the_same_files_changes_nothing(store: Store, tmp_path: Path) -> None:
    _write(tmp_path / "in", "1-open.eml", OPENING)
    _import(store, tmp_path / "in")
    again = _import(store, tmp_path / "in")
    assert (again["imported"], again["duplicates"]) == (0, 1)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == 1
        assert session.scalar(select(func.count()).select_from(DecisionRow)) == 1


def test_crlf_copy_of_an_imported_mail_is_a_duplicate(store: Store, tmp_path: Path) -> None:
    _import(store, _write(tmp_path, "lf.eml", OPENING))
    crlf = tmp_path / "crlf.eml"
    crlf.write_bytes(OPENING.replace("\n", "\r\n").encode())
    assert _import(store, crlf)["duplicates"] == 1


def test_reply_imported_before_its_parent_is_healed_when_the_parent_arrives(
    store: Store, tmp_path: Path
) -> None:
    first = _import(store, _write(tmp_path, "2-reply.eml", REPLY))
    assert first["needs_review"] == 1
    _import(store, _write(tmp_path, "1-open.eml", OPENING))
    current = _current(store)
    assert current["2-reply.eml"][0] == "assigned"
    assert current["2-reply.eml"] == current["1-open.eml"]
    with store.session() as session:
        history = session.scalars(select(DecisionRow.outcome).order_by(DecisionRow.id)).all()
        assert history.count("needs_review") == 1  # kept as superseded history


def test_a_file_that_is_not_mail_is_quarantined_with_its_reason(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "broken.eml"
    bad.write_bytes(b"JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0Zp\n")
    summary = _import(store, bad, _write(tmp_path, "ok.eml", OPENING))
    assert (summary["quarantined"], summary["assigned"]) == (1, 1)
    with store.session() as session:
        entry = session.scalars(select(QuarantineRow)).one()
        assert entry.stage == "parse" and entry.reason
        raw = session.get(RawMessage, entry.message_key)
        assert raw is not None and raw.raw.startswith(b"JVBERi0")


def test_import_for_a_building_files_unaddressed_mail_there(store: Store, tmp_path: Path) -> None:
    plain = REPLY.replace("In-Reply-To: <open-1@cabinet-azur.example.fr>\n", "")
    plain = plain.replace("References: <open-1@cabinet-azur.example.fr>\n", "")
    plain = plain.replace("devis@plomberie-durand.example.com", "inconnu@example.net")  # no address-book clue
    summary = _import(store, _write(tmp_path, "old.eml", plain), building="villa-x", auto_dossiers=True)
    assert summary["assigned"] == 1
    with store.session() as session:
        dossier = session.scalars(select(DossierRow)).one()
        assert dossier.status == "a_qualifier"
        assert dossier.reference.startswith("QUAL-")
        assert dossier.building.slug == "villa-x"
