"""The sample mail routes exactly as ``samples/expected.jsonl`` says, and publishes in date order."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dossiermail.commands.exporting import message_records
from dossiermail.ingest.importer import ImportOptions, ImportSummary, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.publish import publish_site
from dossiermail.rules import load_rules
from dossiermail.store import Store
from tests.conftest import RULES, SAMPLES


def _expected() -> dict[str, tuple[str, str | None, str | None]]:
    lines = (SAMPLES / "expected.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return {r["file"]: (r["outcome"], r["building"], r["dossier"]) for r in records}


@pytest.fixture
def imported(store: Store) -> ImportSummary:
    return run_import(store, [SAMPLES], ImportOptions(RouteOptions(load_rules(RULES))))


def test_every_sample_file_is_listed_in_expected_jsonl() -> None:
    assert set(_expected()) == {p.name for p in SAMPLES.glob("*.eml")}
    assert len(_expected()) >= 40


def test_samples_route_as_expected(store: Store, imported: ImportSummary) -> None:
    with store.sessions() as session:
        records = list(message_records(session))
    got = {Path(r["source"]).name: (r["outcome"], r["building"], r["dossier"]) for r in records}
    expected = _expected()
    wrong = {name: (want, got.get(name)) for name, want in expected.items() if got.get(name) != want}
    assert wrong == {}


def test_summary_accounts_for_every_sample(imported: ImportSummary) -> None:
    data = imported.as_dict()
    outcomes = [v[0] for v in _expected().values()]
    assert data["imported"] == len(outcomes)
    for outcome in ("assigned", "needs_review", "ignored", "quarantined"):
        assert data[outcome] == outcomes.count(outcome)


def test_published_dossier_pages_show_messages_in_date_order(
    store: Store, imported: ImportSummary, tmp_path: Path
) -> None:
    report = publish_site(store, load_rules(RULES), tmp_path / "site")
    pages = sorted((tmp_path / "site").glob("*/syndic/dossiers/*.html"))
    assert {p.stem for p in pages} >= {"DDE-2026-014", "ASC-2026-003", "TRX-2026-007", "AG-2026-001"}
    for page in pages:
        articles = re.findall(r"<article.*?</article>", page.read_text(), re.DOTALL)
        stamps = [re.findall(r'<time datetime="([^"]+)"', a)[0] for a in articles]
        assert stamps, page.name
        assert stamps == sorted(stamps, key=_instant), page.name
    assert report.pages_written >= len(pages)
    owners = tmp_path / "site" / "les-mimosas" / "coproprietaires"
    dde = (owners / "dossiers" / "DDE-2026-014.html").read_text()
    assert "devis" in dde.lower() and ".pdf" in dde
    assert "@" not in dde


def _instant(stamp: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromisoformat(stamp).astimezone(UTC).isoformat()
