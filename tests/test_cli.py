"""The command line as a user meets it: documented commands exist, mistakes give one clear line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RULES, SAMPLES
from tests.test_pipeline import OPENING

DOCUMENTED = ("import", "rules", "explain", "export", "publish", "quarantine")


def run(*args: str, cwd: Path, db: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI the way a user does (a new process), without a terminal."""
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DOSSIERMAIL_DB", None)
    if db:
        env["DOSSIERMAIL_DB"] = db
    command = [sys.executable, "-m", "dossiermail", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dossiermail: error: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_help_lists_every_documented_command(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in DOCUMENTED:
        assert command in result.stdout


def test_missing_path_is_one_line_naming_it(tmp_path: Path) -> None:
    assert_one_line_error(run("import", "nulle-part.mbox", cwd=tmp_path), "nulle-part.mbox", "no such file")


def test_corrupt_mbox_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "bad.mbox").write_bytes(b"\x89PNG\r\n\x1a\n not mail")
    assert_one_line_error(run("import", "bad.mbox", cwd=tmp_path), "bad.mbox", "not an mbox")


def test_unknown_option_is_one_line_with_a_hint(tmp_path: Path) -> None:
    assert_one_line_error(run("import", "--frobnicate", "x", cwd=tmp_path), "--frobnicate", "--help")


def test_bad_database_url_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "m.eml").write_text(OPENING)
    result = run("import", "m.eml", "--rules", str(RULES), "--db", "nosuchdb://x", cwd=tmp_path)
    assert_one_line_error(result, "nosuchdb")


def test_bad_building_slug_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.eml").write_text(OPENING)
    assert_one_line_error(
        run("import", "m.eml", "--rules", str(RULES), "--building", "Les Pins!", cwd=tmp_path), "--building"
    )


def test_unknown_building_on_publish_is_one_line(tmp_path: Path) -> None:
    result = run("publish", "--out", "site", "--building", "les-tilleuls", cwd=tmp_path)
    assert_one_line_error(result, "unknown building 'les-tilleuls'")


def test_import_then_export_gives_one_json_line_per_message(tmp_path: Path) -> None:
    (tmp_path / "m.eml").write_text(OPENING)
    db = f"sqlite:///{tmp_path}/cli.db"
    imported = run("import", "m.eml", "--rules", str(RULES), "--quiet", "--json", cwd=tmp_path, db=db)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["imported"] == 1
    exported = run("export", "messages", "--format", "jsonl", cwd=tmp_path, db=db)
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(records) == 1
    assert records[0]["message_id"] == "<open-1@cabinet-azur.example.fr>"
    assert records[0]["source"] == "m.eml"
    assert {"building", "dossier", "outcome", "date"} <= set(records[0])


def test_import_summary_ends_with_how_long_storing_and_routing_took(tmp_path: Path) -> None:
    (tmp_path / "m.eml").write_text(OPENING)
    db = f"sqlite:///{tmp_path}/cli.db"
    imported = run("import", "m.eml", "--rules", str(RULES), "--quiet", cwd=tmp_path, db=db)
    assert imported.returncode == 0, imported.stderr
    last = imported.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"Durée : lecture, stockage et analyse \d+\.\d s, classement \d+\.\d s", last), last


def test_default_database_is_created_under_var_of_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "m.eml").write_text(OPENING)
    assert run("import", "m.eml", "--quiet", cwd=tmp_path).returncode == 0
    assert (tmp_path / "var" / "dossiermail.db").is_file()


@pytest.mark.skipif(not (SAMPLES / "expected.jsonl").exists(), reason="samples not written yet")
def test_explain_prints_the_decision_and_the_evidence_without_storing(tmp_path: Path) -> None:
    sample = next(SAMPLES.glob("mimosas-dde-05-*.eml"))
    result = run("explain", str(sample), "--rules", str(RULES), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Décision" in result.stdout and "Indices" in result.stdout
    assert "thread_headers" in result.stdout  # the losers are listed too
    assert not (tmp_path / "var").exists()


def test_yaml_syntax_error_in_rules_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "buildings.yaml").write_text("buildings:\n  - slug: a\n    name: [oops\n")
    (tmp_path / "m.eml").write_text(OPENING)
    result = run("import", "m.eml", "--rules", "rules", cwd=tmp_path)
    assert_one_line_error(result, "rules/buildings.yaml:", "YAML syntax error")


def test_unknown_building_in_contacts_is_reported_with_its_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "buildings.yaml").write_text("buildings:\n  - {slug: les-pins, name: Les Pins, address: x}\n")
    (rules / "contacts.yaml").write_text(
        "contacts:\n  - email: a@example.org\n    name: A\n"
        "    role: coproprietaire\n    buildings: [les-tilleuls]\n"
    )
    result = run("rules", "check", "rules", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "rules/contacts.yaml:5: unknown building 'les-tilleuls' (known: les-pins)"
    ]


def test_a_long_error_stays_one_line_without_a_terminal_width(tmp_path: Path) -> None:
    missing = tmp_path / ("archives-du-syndic-" * 8) / "boite.mbox"
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "DOSSIERMAIL_DB")}
    result = subprocess.run(
        [sys.executable, "-m", "dossiermail", "import", str(missing)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert len(str(missing)) > 160
    assert_one_line_error(result, str(missing), "no such file")
