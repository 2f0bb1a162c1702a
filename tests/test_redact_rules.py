"""redaction.yaml as the admin writes it: checked with file:line, loaded into a working redactor."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dossiermail.redact import redactor_for
from dossiermail.rules import check_rules, load_rules
from tests.conftest import RULES


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work from ``tmp_path`` so problems read ``rules/redaction.yaml`` as the admin sees them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").mkdir()
    return tmp_path


def write_redaction(text: str) -> None:
    Path("rules", "redaction.yaml").write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def problems(text: str) -> list[str]:
    write_redaction(text)
    return [str(problem) for problem in check_rules(Path("rules"))]


def test_a_bad_admin_regex_is_named_with_its_file_and_line(in_tmp: Path) -> None:
    found = problems(
        """
        builtin: [phone]
        patterns:
          - name: code-porte
            regex: 'code \\d{4}'
          - name: badge
            regex: 'badge [0-9'
        """
    )

    assert found == [
        "rules/redaction.yaml:6: regex: invalid regular expression 'badge [0-9': "
        "unterminated character set at position 6"
    ]


@pytest.mark.parametrize("regex", ["x*", "(?:code)?", "a|", "\\b", "(?=x)", "[0-9]{0,4}"])
def test_a_regex_that_can_match_nothing_is_refused(in_tmp: Path, regex: str) -> None:
    found = problems(
        f"""
        patterns:
          - name: vide
            regex: '{regex}'
        """
    )

    assert found == [
        f"rules/redaction.yaml:3: regex: regular expression '{regex}' can match empty text: "
        "it must always match at least one character (use + rather than *)"
    ]


def test_the_shipped_rules_load_into_a_working_redactor() -> None:
    redactor = redactor_for(load_rules(RULES).redaction)

    assert redactor.text("code porte : 4589, tél. 06 12 34 56 78") == (
        "[masqué : code-porte], tél. [téléphone masqué]"
    )


def test_people_and_patterns_from_the_file_are_applied(in_tmp: Path) -> None:
    write_redaction(
        """
        builtin: [email]
        patterns:
          - name: badge
            regex: '(?i)badge n° ?\\d+'
        people: [Élodie Martin]
        """
    )
    rules = load_rules(Path("rules")).redaction
    redactor = redactor_for(rules)

    text = "MARTIN Élodie (badge N° 42, 06 12 34 56 78) : elodie@exemple.fr"
    assert redactor.text(text) == "[nom masqué] ([masqué : badge], 06 12 34 56 78) : [adresse mail masquée]"
    assert redactor_for(rules) is redactor, "compiled once per rules"
