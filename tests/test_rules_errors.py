"""What an admin sees for each kind of mistake: ``file:line: message``, every problem at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dossiermail.rules import RuleProblem, RulesError, check_rules, load_rules

BUILDINGS = """
    buildings:
      - slug: les-mimosas
        name: Résidence Les Mimosas
        address: 12 avenue des Fleurs, 06000 Nice
      - slug: le-belvedere
        name: Le Belvédère
        address: 3 boulevard du Mont Boron, 06300 Nice
"""


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work from ``tmp_path`` so problems read ``rules/<file>`` as the admin would see them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").mkdir()
    return tmp_path


def problems(**files: str) -> list[str]:
    """Write ``rules/<name>.yaml`` for each keyword (dedented) and return the problems as text."""
    for name, text in files.items():
        content = textwrap.dedent(text).lstrip("\n")
        Path("rules", f"{name}.yaml").write_text(content, encoding="utf-8")
    return [str(problem) for problem in check_rules(Path("rules"))]


# --- YAML itself -------------------------------------------------------------------------------


def test_yaml_syntax_error_names_the_line(in_tmp: Path) -> None:
    found = problems(routing="steps: [explicit_address\nreference_pattern: 'x'\n")

    assert len(found) == 1
    assert found[0].startswith("rules/routing.yaml:2: YAML syntax error: ")


def test_top_level_list_asks_for_keys(in_tmp: Path) -> None:
    found = problems(contacts="- email: a@example.org\n")

    assert found == ["rules/contacts.yaml:1: expected keys at the top level ('contacts:'), got a list"]


def test_top_level_text_asks_for_keys(in_tmp: Path) -> None:
    found = problems(routing="explicit_address\n")

    assert found == [
        "rules/routing.yaml:1: expected keys at the top level "
        "('reference_pattern:', 'steps:', 'thresholds:', 'visibility:'), got the text 'explicit_address'"
    ]


def test_repeated_key_is_reported_instead_of_silently_overwritten(in_tmp: Path) -> None:
    found = problems(
        routing="""
            steps: [explicit_address]
            reference_pattern: '(?P<ref>X-\\d+)'
            steps: [thread_headers]
        """
    )

    assert found == ["rules/routing.yaml:3: duplicate key 'steps' (first at line 1): keep only one"]


def test_file_that_is_not_utf8_names_the_first_bad_line(in_tmp: Path) -> None:
    Path("rules", "buildings.yaml").write_bytes("buildings: []\n# Résidence\n".encode("latin-1"))

    found = problems()

    assert found == ["rules/buildings.yaml:2: not UTF-8 text: save the file as UTF-8"]


# --- shape: keys and types ---------------------------------------------------------------------


def test_misspelt_key_is_unknown_and_lists_the_allowed_ones(in_tmp: Path) -> None:
    found = problems(
        buildings="""
            buildings:
              - slug: les-mimosas
                name: Résidence Les Mimosas
                address: 12 avenue des Fleurs
                adresses: [mimosas@cabinet-azur.example.fr]
        """
    )

    assert found == [
        "rules/buildings.yaml:5: unknown key 'adresses' (allowed: slug, name, address, addresses)"
    ]


def test_missing_key_points_at_the_entry(in_tmp: Path) -> None:
    found = problems(
        buildings="""
            buildings:
              - slug: les-mimosas
                name: Résidence Les Mimosas
              - slug: le-belvedere
                name: Le Belvédère
                address: 3 boulevard du Mont Boron
        """
    )

    assert found == ["rules/buildings.yaml:2: missing key 'address'"]


def test_yaml_boolean_where_text_is_expected_asks_for_quotes(in_tmp: Path) -> None:
    found = problems(
        buildings="""
            buildings:
              - slug: les-mimosas
                name: yes
                address: 12 avenue des Fleurs
        """
    )

    assert found == ["rules/buildings.yaml:3: name: expected text, got true (put it in quotes)"]


def test_single_value_where_a_list_is_expected(in_tmp: Path) -> None:
    found = problems(redaction="builtin: phone\n")

    assert found == ["rules/redaction.yaml:1: builtin: expected a list, got 'phone' (write [] for none)"]


def test_list_item_that_is_not_a_mapping(in_tmp: Path) -> None:
    found = problems(buildings="buildings:\n  - les-mimosas\n")

    assert found == [
        "rules/buildings.yaml:2: each item of buildings must be a mapping with keys "
        "slug, name, address, addresses; got 'les-mimosas'"
    ]


def test_rules_path_that_is_a_file_is_not_a_directory(in_tmp: Path) -> None:
    Path("rules.yaml").write_text("buildings: []\n", encoding="utf-8")

    assert [str(p) for p in check_rules(Path("rules.yaml"))] == ["rules.yaml: not a directory"]


# --- single values -----------------------------------------------------------------------------


def test_blank_name_is_refused(in_tmp: Path) -> None:
    found = problems(
        buildings="""
            buildings:
              - slug: les-mimosas
                name: "  "
                address: 12 avenue des Fleurs
        """
    )

    assert found == ["rules/buildings.yaml:3: name: must not be empty"]


def test_invalid_slug_explains_the_allowed_characters(in_tmp: Path) -> None:
    found = problems(
        buildings="""
            buildings:
              - slug: Les Mimosas
                name: Résidence Les Mimosas
                address: 12 avenue des Fleurs
        """
    )

    assert found == [
        "rules/buildings.yaml:2: slug: invalid slug 'Les Mimosas': use lower-case letters, "
        "digits and hyphens (e.g. les-mimosas)"
    ]


@pytest.mark.parametrize(
    "address",
    ["claire martin@example.org", "claire.example.org", "a@b@example.org", "claire@localhost"],
)
def test_invalid_email_is_reported_at_its_line(in_tmp: Path, address: str) -> None:
    found = problems(
        contacts=f"""
            contacts:
              - name: Claire Martin
                role: gestionnaire
                email: "{address}"
        """
    )

    assert found == [
        f"rules/contacts.yaml:4: email: invalid email address '{address}': "
        "expected one address like name@cabinet.example.fr"
    ]


def test_unknown_role_lists_the_roles(in_tmp: Path) -> None:
    found = problems(
        contacts="""
            contacts:
              - email: claire.martin@cabinet-azur.example.fr
                name: Claire Martin
                role: gestionaire
        """
    )

    assert found == [
        "rules/contacts.yaml:4: role: unknown role 'gestionaire' "
        "(known: gestionnaire, fournisseur, coproprietaire, conseil_syndical)"
    ]


def test_lots_must_be_positive_whole_numbers(in_tmp: Path) -> None:
    found = problems(
        contacts="""
            contacts:
              - email: paul.roux@example.org
                name: Paul Roux
                role: coproprietaire
                lots:
                  - 12
                  - 0
                  - "14"
                  - true
        """
    )

    assert found == [
        "rules/contacts.yaml:7: lots: invalid lot 0: expected a whole number from 1 up",
        "rules/contacts.yaml:8: lots: invalid lot '14': expected a whole number from 1 up",
        "rules/contacts.yaml:9: lots: invalid lot true: expected a whole number from 1 up",
    ]


def test_bad_regex_names_the_regex_problem(in_tmp: Path) -> None:
    found = problems(
        redaction="""
            patterns:
              - name: code-porte
                regex: 'code (porte'
        """
    )

    assert found == [
        "rules/redaction.yaml:3: regex: invalid regular expression 'code (porte': "
        "missing ), unterminated subpattern at position 5"
    ]


def test_reference_pattern_needs_a_group_named_ref(in_tmp: Path) -> None:
    found = problems(routing="steps: [subject_reference]\nreference_pattern: '\\[([A-Z]+-\\d+)\\]'\n")

    assert len(found) == 1
    assert found[0].startswith(
        "rules/routing.yaml:2: reference_pattern: reference_pattern has no group named 'ref'"
    )
    assert "(?P<ref>...)" in found[0]


def test_unknown_routing_step_lists_the_known_ones(in_tmp: Path) -> None:
    found = problems(routing="steps:\n  - explicit_address\n  - crystal_ball\n")

    assert found == [
        "rules/routing.yaml:3: steps: unknown routing step 'crystal_ball' "
        "(known: explicit_address, subject_reference, thread_headers, shared_references, quoted_header, "
        "address_book, fuzzy_subject, participant_window)"
    ]


def test_empty_step_list_is_refused(in_tmp: Path) -> None:
    found = problems(routing="reference_pattern: '(?P<ref>X)'\nsteps: []\n")

    assert found == [
        "rules/routing.yaml:2: steps: steps is empty: list at least one of "
        "explicit_address, subject_reference, thread_headers, shared_references, "
        "quoted_header, address_book, fuzzy_subject, participant_window"
    ]


def test_unknown_builtin_redaction_lists_the_known_ones(in_tmp: Path) -> None:
    found = problems(redaction="builtin: [phone, siret]\n")

    assert found == [
        "rules/redaction.yaml:1: builtin: unknown built-in redaction 'siret' "
        "(known: phone, iban, bic, email, nir)"
    ]


# --- comparing entries and files ---------------------------------------------------------------


def test_contact_building_must_exist_and_the_known_ones_are_listed(in_tmp: Path) -> None:
    found = problems(
        buildings=BUILDINGS,
        contacts="""
            contacts:
              - email: claire.martin@cabinet-azur.example.fr
                name: Claire Martin
                role: gestionnaire
                buildings:
                  - les-mimosas
                  - les-tilleuls
        """,
    )

    assert found == [
        "rules/contacts.yaml:7: unknown building 'les-tilleuls' (known: le-belvedere, les-mimosas)"
    ]


def test_contact_building_without_buildings_file_says_there_are_none(in_tmp: Path) -> None:
    found = problems(
        contacts="""
            contacts:
              - email: claire.martin@cabinet-azur.example.fr
                name: Claire Martin
                role: gestionnaire
                buildings: [les-mimosas]
        """
    )

    assert found == [
        "rules/contacts.yaml:5: unknown building 'les-mimosas' (known: none in rules/buildings.yaml)"
    ]


def test_unreadable_buildings_file_does_not_make_every_contact_wrong(in_tmp: Path) -> None:
    found = problems(
        buildings="buildings: [\n",
        contacts="""
            contacts:
              - email: claire.martin@cabinet-azur.example.fr
                name: Claire Martin
                role: gestionnaire
                buildings: [les-mimosas]
        """,
    )

    assert len(found) == 1
    assert found[0].startswith("rules/buildings.yaml:2: YAML syntax error: ")


def test_duplicate_slug(in_tmp: Path) -> None:
    found = problems(
        buildings="""
            buildings:
              - slug: les-mimosas
                name: Résidence Les Mimosas
                address: 12 avenue des Fleurs
              - slug: les-mimosas
                name: Les Mimosas II
                address: 14 avenue des Fleurs
        """
    )

    assert found == [
        "rules/buildings.yaml:5: duplicate slug 'les-mimosas' (first at line 2): "
        "each building needs its own slug"
    ]


def test_building_address_used_twice_ignoring_case(in_tmp: Path) -> None:
    found = problems(
        buildings="""
            buildings:
              - slug: les-mimosas
                name: Résidence Les Mimosas
                address: 12 avenue des Fleurs
                addresses: [mimosas@cabinet-azur.example.fr]
              - slug: le-belvedere
                name: Le Belvédère
                address: 3 boulevard du Mont Boron
                addresses:
                  - belvedere@cabinet-azur.example.fr
                  - Mimosas@Cabinet-Azur.example.fr
        """
    )

    assert found == [
        "rules/buildings.yaml:11: address 'mimosas@cabinet-azur.example.fr' is already a "
        "building address (line 5): an address can mean only one building"
    ]


def test_building_address_equal_to_the_dossier_address(in_tmp: Path) -> None:
    found = problems(
        buildings="""
            dossier_address: dossiers@cabinet-azur.example.fr
            buildings:
              - slug: les-mimosas
                name: Résidence Les Mimosas
                address: 12 avenue des Fleurs
                addresses: [DOSSIERS@cabinet-azur.example.fr]
        """
    )

    assert found == [
        "rules/buildings.yaml:6: address 'dossiers@cabinet-azur.example.fr' is the "
        "dossier_address (line 1): give the building an address of its own"
    ]


def test_contact_listed_twice_ignoring_case(in_tmp: Path) -> None:
    found = problems(
        contacts="""
            contacts:
              - email: claire.martin@cabinet-azur.example.fr
                name: Claire Martin
                role: gestionnaire
              - email: Claire.Martin@Cabinet-Azur.example.fr
                name: C. Martin
                role: gestionnaire
        """
    )

    assert found == [
        "rules/contacts.yaml:5: contact 'claire.martin@cabinet-azur.example.fr' is listed "
        "twice (first at line 2): merge the two entries"
    ]


def test_repeated_routing_step(in_tmp: Path) -> None:
    found = problems(routing="steps:\n  - explicit_address\n  - thread_headers\n  - explicit_address\n")

    assert found == [
        "rules/routing.yaml:4: routing step 'explicit_address' is listed twice "
        "(first at line 2): keep only one"
    ]


def test_repeated_builtin_and_pattern_names(in_tmp: Path) -> None:
    found = problems(
        redaction="""
            builtin: [phone, email, phone]
            patterns:
              - name: code-porte
                regex: 'code \\d{4}'
              - name: code-porte
                regex: 'digicode \\d{4}'
        """
    )

    assert found == [
        "rules/redaction.yaml:1: built-in redaction 'phone' is listed twice (first at line 1)",
        "rules/redaction.yaml:5: duplicate pattern name 'code-porte' (first at line 3): names must be unique",
    ]


# --- all problems at once ----------------------------------------------------------------------


def test_every_problem_is_reported_sorted_by_file_and_line(in_tmp: Path) -> None:
    found = problems(
        buildings="""
            buildings:
              - slug: les-mimosas
                name: Résidence Les Mimosas
                address: 12 avenue des Fleurs
              - slug: les-mimosas
                name: Les Mimosas II
        """,
        contacts="""
            contacts:
              - email: claire.martin@cabinet-azur.example.fr
                name: Claire Martin
                role: gestionaire
                buildings: [les-tilleuls]
              - email: claire.martin@cabinet-azur.example.fr
                name: Claire Martin
                role: gestionnaire
                lots: [0]
        """,
        routing="steps: [explicit_address, crystal_ball]\n",
    )

    assert [line.split(": ")[0] for line in found] == [
        "rules/buildings.yaml:5",  # duplicate slug, although that entry also misses a key
        "rules/buildings.yaml:5",  # missing key 'address'
        "rules/contacts.yaml:4",  # unknown role
        "rules/contacts.yaml:5",  # unknown building
        "rules/contacts.yaml:6",  # contact listed twice
        "rules/contacts.yaml:9",  # invalid lot
        "rules/routing.yaml:1",  # unknown step
    ]


def test_load_rules_raises_with_every_problem_one_per_line(in_tmp: Path) -> None:
    problems(routing="steps: [crystal_ball]\nreference_pattern: '('\n")

    with pytest.raises(RulesError) as raised:
        load_rules(Path("rules"))

    assert len(raised.value.problems) == 2
    assert all(isinstance(problem, RuleProblem) for problem in raised.value.problems)
    assert str(raised.value).splitlines() == [str(p) for p in raised.value.problems]
    assert [p.line for p in raised.value.problems] == [1, 2]
