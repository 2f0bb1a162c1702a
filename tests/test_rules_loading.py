"""Loading a valid rules directory: the dataclasses the stages read, defaults, and the version."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

import dossiermail.rules as rules_package
from dossiermail.rules import (
    BUILTIN_REDACTIONS,
    KNOWN_ROUTING_STEPS,
    Building,
    Contact,
    RedactionRules,
    RoutingRules,
    RuleProblem,
    RulesError,
    check_rules,
    empty_rules,
    load_rules,
)
from dossiermail.rules.model import DEFAULT_REFERENCE_PATTERN, DEFAULT_ROUTING_STEPS

FULL_SET = {
    "buildings.yaml": """
        dossier_address: Dossiers@Cabinet-Azur.example.fr
        buildings:
          - slug: les-mimosas
            name: Résidence Les Mimosas
            address: 12 avenue des Fleurs, 06000 Nice
            addresses: [Mimosas@cabinet-azur.example.fr]
          - slug: le-belvedere
            name: Le Belvédère
            address: 3 boulevard du Mont Boron, 06300 Nice
    """,
    "contacts.yaml": """
        contacts:
          - email: Claire.Martin@cabinet-azur.example.fr
            name: Claire Martin
            role: gestionnaire
            buildings: [les-mimosas, le-belvedere]
          - email: paul.roux@example.org
            name: Paul Roux
            role: coproprietaire
            buildings: [les-mimosas]
            lots: [12, 14]
    """,
    "routing.yaml": r"""
        reference_pattern: '\[(?P<ref>DDE-\d{4}-\d{3})\]'
        steps: [subject_reference, explicit_address]
    """,
    "redaction.yaml": r"""
        builtin: [phone, iban]
        patterns:
          - name: code-porte
            regex: 'code (?:porte|portail) ?:? ?\d{4}'
        people: [Jean Dupont]
    """,
}


def write(directory: Path, files: dict[str, str]) -> Path:
    """Write each file (dedented) under ``directory``, creating it; return the directory."""
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return directory


def test_full_set_loads_into_the_frozen_dataclasses(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path / "rules", FULL_SET))

    assert rules.directory == str(tmp_path / "rules")
    assert rules.dossier_address == "dossiers@cabinet-azur.example.fr"
    assert rules.buildings == (
        Building(
            slug="les-mimosas",
            name="Résidence Les Mimosas",
            address="12 avenue des Fleurs, 06000 Nice",
            addresses=("mimosas@cabinet-azur.example.fr",),
        ),
        Building(
            slug="le-belvedere",
            name="Le Belvédère",
            address="3 boulevard du Mont Boron, 06300 Nice",
        ),
    )
    assert rules.contacts == (
        Contact(
            email="claire.martin@cabinet-azur.example.fr",
            name="Claire Martin",
            role="gestionnaire",
            buildings=("les-mimosas", "le-belvedere"),
        ),
        Contact(
            email="paul.roux@example.org",
            name="Paul Roux",
            role="coproprietaire",
            buildings=("les-mimosas",),
            lots=(12, 14),
        ),
    )
    assert rules.routing.reference_pattern.pattern == r"\[(?P<ref>DDE-\d{4}-\d{3})\]"
    assert rules.routing.steps == ("subject_reference", "explicit_address")
    assert rules.redaction.builtin == ("phone", "iban")
    assert [p.name for p in rules.redaction.patterns] == ["code-porte"]
    assert rules.redaction.patterns[0].pattern.search("le code porte : 1234 svp")
    assert rules.redaction.people == ("Jean Dupont",)


def test_loaded_rules_answer_lookups_by_slug_and_by_address(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path / "rules", FULL_SET))

    building = rules.building("le-belvedere")
    contact = rules.contact("PAUL.ROUX@example.org")
    assert building is not None and building.name == "Le Belvédère"
    assert contact is not None and contact.lots == (12, 14)


def test_empty_directory_gives_the_defaults(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path / "rules", {}))

    assert rules.buildings == () and rules.contacts == ()
    assert rules.dossier_address is None
    assert rules.routing.reference_pattern.pattern == DEFAULT_REFERENCE_PATTERN
    assert rules.routing.steps == DEFAULT_ROUTING_STEPS
    assert rules.redaction == RedactionRules()


def test_empty_and_comment_only_files_are_fine(tmp_path: Path) -> None:
    files = {name: "# à remplir\n" for name in FULL_SET} | {"routing.yaml": ""}

    rules = load_rules(write(tmp_path / "rules", files))

    assert rules.buildings == () and rules.routing.steps == DEFAULT_ROUTING_STEPS


def test_utf8_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    directory = write(tmp_path / "rules", {})
    text = textwrap.dedent(FULL_SET["buildings.yaml"]).lstrip("\n")
    (directory / "buildings.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))

    assert [b.slug for b in load_rules(directory).buildings] == ["les-mimosas", "le-belvedere"]


def test_missing_files_keep_their_defaults_while_others_load(tmp_path: Path) -> None:
    files = {"buildings.yaml": FULL_SET["buildings.yaml"]}

    rules = load_rules(write(tmp_path / "rules", files))

    assert [b.slug for b in rules.buildings] == ["les-mimosas", "le-belvedere"]
    assert rules.routing.steps == DEFAULT_ROUTING_STEPS


def test_default_reference_pattern_finds_a_bracketed_reference() -> None:
    match = RoutingRules().reference_pattern.search("TR: Fuite [DDE-2026-014] 3e étage")

    assert match is not None and match.group("ref") == "DDE-2026-014"


def test_missing_directory_is_one_problem_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(RulesError) as raised:
        load_rules(Path("rules"))

    assert raised.value.problems == (RuleProblem("rules", None, "directory not found"),)
    assert str(raised.value) == "rules: directory not found"


def test_check_rules_returns_no_problem_for_valid_rules(tmp_path: Path) -> None:
    assert check_rules(write(tmp_path / "rules", FULL_SET)) == []


def test_version_is_twelve_hex_digits_and_stable(tmp_path: Path) -> None:
    directory = write(tmp_path / "rules", FULL_SET)

    first = load_rules(directory).version

    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert load_rules(directory).version == first


def test_version_changes_when_a_file_changes(tmp_path: Path) -> None:
    directory = write(tmp_path / "rules", FULL_SET)
    before = load_rules(directory).version

    with (directory / "redaction.yaml").open("a", encoding="utf-8") as redaction:
        redaction.write("  # ajout d'un commentaire\n")

    assert load_rules(directory).version != before


def test_version_changes_when_a_file_appears(tmp_path: Path) -> None:
    directory = write(tmp_path / "rules", {"buildings.yaml": FULL_SET["buildings.yaml"]})
    before = load_rules(directory).version

    write(directory, {"routing.yaml": ""})

    assert load_rules(directory).version != before


def test_version_ignores_other_files_in_the_directory(tmp_path: Path) -> None:
    directory = write(tmp_path / "rules", FULL_SET)
    before = load_rules(directory).version

    write(directory, {"README.txt": "notes de l'admin"})

    assert load_rules(directory).version == before


def test_empty_rules_match_an_empty_directory(tmp_path: Path) -> None:
    loaded = load_rules(write(tmp_path / "rules", {}))

    assert empty_rules(str(tmp_path / "rules")) == loaded
    assert empty_rules().directory == ""


def test_package_exports_the_public_contract() -> None:
    for name in ("load_rules", "check_rules", "empty_rules", "RulesError", "RuleProblem"):
        assert name in rules_package.__all__
    from dossiermail.threading.collectors import COLLECTORS

    assert set(KNOWN_ROUTING_STEPS) == set(COLLECTORS)
    assert set(DEFAULT_ROUTING_STEPS) <= set(KNOWN_ROUTING_STEPS)
    assert RedactionRules().builtin == BUILTIN_REDACTIONS


def test_rule_problem_reads_file_line_message() -> None:
    with_line = RuleProblem("rules/contacts.yaml", 14, "unknown building 'les-tilleuls'")
    without_line = RuleProblem("rules/routing.yaml", None, "not UTF-8 text")

    assert str(with_line) == "rules/contacts.yaml:14: unknown building 'les-tilleuls'"
    assert str(without_line) == "rules/routing.yaml: not UTF-8 text"
