"""``explain`` says which evidence won, the thresholds in force and what would change the outcome."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from dossiermail.domain import Evidence, RoutingDecision
from dossiermail.rules.model import RoutingThresholds
from dossiermail.threading.outlook import outlook
from tests.conftest import RULES, SAMPLES
from tests.test_cli import run

LIFT = "depannage@ascenseurs-riviera.example.com"  # a supplier of le-belvedere only
MIMOSAS = "mimosas@cabinet-azur.example.fr"


def _two_buildings(folder: Path) -> Path:
    mail = folder / "two.eml"
    mail.write_text(
        f"From: {LIFT}\nTo: {MIMOSAS}\nSubject: Intervention ascenseur\nMessage-ID: <two@example.org>\n"
        "Date: Mon, 02 Mar 2026 09:30:00 +0100\nContent-Type: text/plain; charset=utf-8\n\nBonjour.\n"
    )
    return mail


def _rules_with(folder: Path, accept: float) -> Path:
    copy = folder / "rules"
    shutil.copytree(RULES, copy)
    routing = copy / "routing.yaml"
    routing.write_text(routing.read_text().replace("accept_score: 0.5", f"accept_score: {accept}"))
    return copy


def test_two_buildings_name_each_with_its_best_evidence_and_the_way_out(tmp_path: Path) -> None:
    mail = _two_buildings(tmp_path)
    result = run("explain", str(mail), "--rules", str(RULES), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Ce qui changerait la décision" in text
    assert (
        "à vérifier car plusieurs immeubles : les-mimosas (explicit_address 1.00) et "
        "le-belvedere (address_book 0.60)" in text
    )
    assert "dossiermail review assign" in text and "Seuil de décision : 0.50" in text

    record = json.loads(run("explain", str(mail), "--rules", str(RULES), "--json", cwd=tmp_path).stdout)
    assert record["outcome"] == "needs_review"
    assert record["outlook"]["thresholds"]["accept_score"] == 0.5
    assert record["outlook"]["changes"][0].startswith("à vérifier car plusieurs immeubles : les-mimosas")


def test_the_thresholds_in_force_come_from_the_rules(tmp_path: Path) -> None:
    mail = _two_buildings(tmp_path)
    strict = _rules_with(tmp_path, 0.7)
    record = json.loads(run("explain", str(mail), "--rules", str(strict), "--json", cwd=tmp_path).stdout)
    # the address book's 0.6 no longer counts: one building, no dossier
    assert (record["outcome"], record["building"]) == ("needs_review", "les-mimosas")
    assert record["accept_score"] == 0.7
    assert record["outlook"]["changes"][0].startswith("immeuble les-mimosas trouvé mais aucun dossier")


def test_a_stored_message_shows_the_margins_of_its_assignment(tmp_path: Path) -> None:
    imported = run("import", str(SAMPLES), "--rules", str(RULES), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    listing = run(
        "explain",
        str(next(SAMPLES.glob("mimosas-dde-05-*.eml"))),
        "--rules",
        str(RULES),
        "--json",
        cwd=tmp_path,
    )
    key = json.loads(listing.stdout)["outlook"]["changes"][-1].split("move ")[1].split()[0]
    record = json.loads(run("explain", key, "--json", cwd=tmp_path).stdout)
    view = record["outlook"]
    assert record["current"]["outcome"] == "assigned"
    assert view["winner"]["dossier"] == record["current"]["dossier"]
    assert view["margin_to_accept"] == round(view["winner"]["score"] - 0.5, 4)
    text = " ".join(run("explain", key, cwd=tmp_path).stdout.split())
    assert "au-dessus du seuil 0.50" in text and f"dossier move {key}" in text


def _decision(outcome: str, dossier: str | None, *evidence: Evidence, reason: str = "") -> RoutingDecision:
    building = "les-mimosas" if dossier else None
    return RoutingDecision(outcome, building, dossier, 0.9, evidence, "v", reason)  # type: ignore[arg-type]


def test_an_assignment_reports_the_runner_up_and_both_margins() -> None:
    winner = Evidence("thread_headers", "les-mimosas", "DDE-2026-001", 0.9, "In-Reply-To", "")
    runner = Evidence("fuzzy_subject", "les-mimosas", "DDE-2026-002", 0.7, "threshold", "")
    view = outlook(_decision("assigned", "DDE-2026-001", winner, runner), RoutingThresholds())
    assert (view.winner, view.runner_up) == (winner, runner)
    assert (view.margin_to_runner_up, view.margin_to_accept) == (0.2, 0.4)
    assert any("écart 0.20" in line for line in view.changes)


def test_a_tie_names_the_tied_dossiers() -> None:
    first = Evidence("fuzzy_subject", "les-mimosas", "DDE-2026-001", 0.7, "", "")
    second = Evidence("fuzzy_subject", "les-mimosas", "DDE-2026-002", 0.7, "", "")
    decision = _decision("needs_review", None, first, second, reason="several dossiers equally likely: …")
    view = outlook(decision, RoutingThresholds(), key="abc123")
    assert view.changes[0] == (
        "à vérifier car plusieurs dossiers à égalité : DDE-2026-001 (fuzzy_subject 0.70), "
        "DDE-2026-002 (fuzzy_subject 0.70)"
    )
    assert "review assign abc123" in view.changes[1]
