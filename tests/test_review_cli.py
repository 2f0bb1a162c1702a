"""``review`` and ``dossier`` as a gestionnaire runs them: the queue, filing by hand, one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RULES, SAMPLES
from tests.test_cli import assert_one_line_error, run

OWNER_REPORT = "mimosas-dde-01-owner-reports-leak-jpeg-photos.eml"
CARABACEL_ROOF = "carabacel-trx-01-council-reports-fuite-toiture-no-reference.eml"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the samples imported into its own SQLite store."""
    folder = tmp_path_factory.mktemp("review")
    result = run("import", str(SAMPLES), "--rules", str(RULES), "--quiet", cwd=folder, db=_db(folder))
    assert result.returncode == 0, result.stderr
    return folder


def _db(folder: Path) -> str:
    return f"sqlite:///{folder}/review.db"


def dm(folder: Path, *args: str) -> str:
    """Run a command that must succeed; its stdout."""
    result = run(*args, cwd=folder, db=_db(folder))
    assert result.returncode == 0, result.stderr
    return result.stdout


def _keys_by_file(folder: Path) -> dict[str, str]:
    lines = dm(folder, "export", "messages").splitlines()
    return {Path(r["source"]).name: r["key"] for r in map(json.loads, lines)}


def _jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_the_review_story_from_the_queue_to_the_dossier_history(workdir: Path) -> None:
    queue = _jsonl(dm(workdir, "review", "list", "--json"))
    assert len(queue) == 10
    report = _keys_by_file(workdir)[OWNER_REPORT]
    assert report in {item["key"] for item in queue}
    assert "Nathalie Petit" in dm(workdir, "review", "list", "--building", "les-mimosas")

    why = ("--by", "claire", "--reason", "1er signalement")
    said = dm(workdir, "review", "assign", report[:10], "DDE-2026-014", *why)
    assert "les-mimosas/DDE-2026-014" in said
    assert report not in {item["key"] for item in _jsonl(dm(workdir, "review", "list", "--json"))}

    dm(workdir, "dossier", "open", "les-mimosas", "DDE-2026-041", "Fuite (doublon)", "--by", "claire",
       "--rules", str(RULES))  # fmt: skip
    dm(workdir, "dossier", "move", report[:12], "les-mimosas/DDE-2026-041", "--by", "claire")
    merged = dm(workdir, "dossier", "merge", "DDE-2026-041", "DDE-2026-014", "--by", "marc")
    assert "2 message(s) moved" in merged  # the report, and the reply in review that carried DDE-2026-041
    dm(workdir, "dossier", "close", "DDE-2026-014", "--by", "marc", "--reason", "travaux terminés")

    dossiers = {d["reference"]: d for d in _jsonl(dm(workdir, "dossier", "list", "--json"))}
    assert (dossiers["DDE-2026-014"]["status"], dossiers["DDE-2026-041"]["status"]) == ("clos", "fusionne")
    history = _jsonl(dm(workdir, "dossier", "history", "DDE-2026-014", "--json"))
    assert [(h["action"], h["actor"]) for h in history] == [
        ("assign", "claire"), ("move", "claire"), ("merged_in", "marc"), ("close", "marc"),
    ]  # fmt: skip
    assert history[0]["reason"] == "1er signalement" and history[-1]["reason"] == "travaux terminés"
    assert "travaux terminés" in dm(workdir, "dossier", "history", "DDE-2026-014")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("review", "assign", "0123456789ab", "DDE-2026-014"), ("unknown message",)),
        (("review", "assign", "abc", "DDE-2026-014"), ("not a message key",)),
        (("dossier", "close", "DDE-2099-999"), ("unknown dossier 'DDE-2099-999'",)),
        (("dossier", "open", "les-tilleuls", "X-1", "Titre"), ("unknown building 'les-tilleuls'",)),
        (("dossier", "merge", "ASC-2026-003", "TRX-2026-007"), ("different buildings",)),
        (("review", "list", "--building", "les-pins"), ("unknown building 'les-pins'", "les-mimosas")),
        (("dossier", "list", "--building", "les-pins"), ("unknown building 'les-pins'",)),
    ],
)
def test_mistakes_are_one_line_errors(workdir: Path, args: tuple[str, ...], needles: tuple[str, ...]) -> None:
    assert_one_line_error(run(*args, cwd=workdir, db=_db(workdir)), *needles)


def test_filing_into_another_building_is_refused_unless_forced(workdir: Path) -> None:
    roof = _keys_by_file(workdir)[CARABACEL_ROOF]
    refused = run("review", "assign", roof[:8], "ASC-2026-003", cwd=workdir, db=_db(workdir))
    assert_one_line_error(refused, "villa-carabacel, not le-belvedere", "--force")
    assert refused.returncode == 1
    assert roof in {item["key"] for item in _jsonl(dm(workdir, "review", "list", "--json"))}


def test_explain_a_stored_message_shows_its_evidence_and_what_would_file_it(workdir: Path) -> None:
    roof = _keys_by_file(workdir)[CARABACEL_ROOF]
    record = json.loads(dm(workdir, "explain", roof[:8], "--json"))
    assert record["key"] == roof and record["history"] == []
    assert record["current"]["outcome"] == "needs_review"
    assert {e["building"] for e in record["current"]["evidence"]} >= {"villa-carabacel"}
    text = dm(workdir, "explain", roof[:8])
    assert "Seuil de décision" in text and f"review assign {roof[:12]}" in text


def test_explain_after_a_manual_assignment_shows_the_superseded_decision(workdir: Path) -> None:
    key = _keys_by_file(workdir)["mimosas-complaint-noise-cleaning-no-reference.eml"]
    dm(workdir, "dossier", "open", "les-mimosas", "DIV-2026-001", "Bruit et ménage", "--by", "sylvie")
    dm(workdir, "review", "assign", key[:8], "DIV-2026-001", "--by", "sylvie", "--reason", "plainte")
    record = json.loads(dm(workdir, "explain", key, "--json"))
    manual = record["current"]["evidence"][0]
    assert (manual["kind"], manual["score"], manual["detail"]) == ("manual", 1.0, "by sylvie: plainte")
    assert [h["outcome"] for h in record["history"]] == ["needs_review"]
    assert [(c["action"], c["actor"]) for c in record["corrections"]] == [("assign", "sylvie")]
    assert_one_line_error(run("explain", "nulle-part", cwd=workdir, db=_db(workdir)), "no such file")


def test_help_lists_the_review_and_dossier_commands(tmp_path: Path) -> None:
    subcommands = ("open", "merge", "move", "close", "list", "history")
    for args, words in ((("--help",), ("review", "dossier")), (("dossier", "--help"), subcommands)):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 0
        assert all(word in result.stdout for word in words)
