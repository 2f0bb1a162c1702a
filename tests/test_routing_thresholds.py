"""Routing thresholds and visibility rules come from routing.yaml, checked with file:line errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dossiermail.rules import check_rules, load_rules
from dossiermail.rules.model import RoutingThresholds, VisibilityRules
from dossiermail.threading import RoutingContext, route
from tests.factories import MemoryIndex, message

EXAMPLE = Path(__file__).resolve().parents[1] / "rules"


def _write(folder: Path, routing: str) -> Path:
    rules_dir = folder / "rules"
    rules_dir.mkdir(exist_ok=True)
    for name in ("buildings", "contacts", "redaction"):
        source = EXAMPLE / f"{name}.yaml"
        (rules_dir / f"{name}.yaml").write_bytes(source.read_bytes())
    (rules_dir / "routing.yaml").write_text(textwrap.dedent(routing).lstrip("\n"), encoding="utf-8")
    return rules_dir


def test_the_example_rules_spell_out_the_defaults() -> None:
    routing = load_rules(EXAMPLE).routing
    assert routing.thresholds == RoutingThresholds()
    assert routing.visibility == VisibilityRules()


def test_thresholds_and_visibility_are_read(tmp_path: Path) -> None:
    folder = _write(
        tmp_path,
        """
        thresholds:
          accept_score: 0.7
          fuzzy_window_days: 30
        visibility:
          internal_subject_tags: ['[CONFIDENTIEL]']
          internal_forwards: false
        """,
    )
    routing = load_rules(folder).routing
    assert (routing.thresholds.accept_score, routing.thresholds.fuzzy_window_days) == (0.7, 30)
    assert routing.thresholds.fuzzy_ratio == RoutingThresholds().fuzzy_ratio
    assert routing.visibility == VisibilityRules(("[CONFIDENTIEL]",), "interne", False)


def test_the_accept_score_in_force_decides(tmp_path: Path) -> None:
    strict = load_rules(_write(tmp_path, "thresholds:\n  accept_score: 0.7\n"))
    supplier = next(c.email for c in strict.contacts if c.role == "fournisseur" and len(c.buildings) == 1)
    mail = message("Devis", sender=supplier)
    decision = route(mail, RoutingContext(strict, MemoryIndex()))
    assert decision.building is None  # the address book's 0.6 is below 0.7
    lenient = load_rules(_write(tmp_path, "thresholds:\n  accept_score: 0.5\n"))
    assert route(mail, RoutingContext(lenient, MemoryIndex())).building is not None


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        (
            "thresholds:\n  accept_score: 1.5\n",
            "routing.yaml:2: accept_score: Input should be less than or equal to 1",
        ),
        ("thresholds:\n  accept_score: 0\n", "routing.yaml:2: accept_score: Input should be greater than 0"),
        (
            "thresholds:\n  fuzzy_window_days: 0\n",
            "routing.yaml:2: fuzzy_window_days: Input should be greater",
        ),
        (
            "thresholds:\n  fuzzy_ratio: '0.9'\n",
            "routing.yaml:2: fuzzy_ratio: Input should be a valid number",
        ),
        (
            "thresholds:\n  guess: 1\n",
            "routing.yaml:2: unknown key 'guess' (allowed: accept_score, fuzzy_ratio",
        ),
        (
            "visibility:\n  internal_alias: 'Interne!'\n",
            "routing.yaml:2: internal_alias: String should match",
        ),
        (
            "visibility:\n  internal_forwards: 'oui'\n",
            "routing.yaml:2: internal_forwards: Input should be a valid boolean",
        ),
    ],
)
def test_bad_values_name_the_file_and_line(tmp_path: Path, routing: str, expected: str) -> None:
    found = [str(p) for p in check_rules(_write(tmp_path, routing))]
    assert len(found) == 1, found
    assert expected in found[0]
