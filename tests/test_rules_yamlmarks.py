"""Finding the line of a YAML node from a validation location, for ``file:line`` messages."""

from __future__ import annotations

import textwrap

import pytest

from dossiermail.rules.yamlmarks import DuplicateKey, YamlSyntaxError, line_of, parse_yaml

CONTACTS = textwrap.dedent(
    """\
    # carnet d'adresses
    contacts:
      - email: claire.martin@cabinet-azur.example.fr
        name: Claire Martin
        lots: [12, 14]
      - email: paul.roux@example.org
        buildings:
          - les-mimosas
          - le-belvedere
    """
)


@pytest.mark.parametrize(
    ("loc", "line"),
    [
        (("contacts",), 2),
        (("contacts", 0), 3),
        (("contacts", 0, "name"), 4),
        (("contacts", 0, "lots", 1), 5),
        (("contacts", 1, "buildings"), 7),
        (("contacts", 1, "buildings", 1), 9),
    ],
)
def test_line_of_an_existing_node(loc: tuple[str | int, ...], line: int) -> None:
    document, _ = parse_yaml(CONTACTS)
    assert document.root is not None

    assert line_of(document.root, loc) == line


@pytest.mark.parametrize(
    ("loc", "line"),
    [
        (("contacts", 1, "name"), 6),  # missing key: the entry's mapping
        (("contacts", 5), 2),  # index past the end: the list's key
        (("nope",), 2),  # unknown top-level key: the document
    ],
)
def test_line_of_a_missing_node_falls_back_to_its_parent(loc: tuple[str | int, ...], line: int) -> None:
    document, _ = parse_yaml(CONTACTS)
    assert document.root is not None

    assert line_of(document.root, loc) == line


def test_parse_keeps_the_data_as_plain_python() -> None:
    document, duplicates = parse_yaml(CONTACTS)

    assert document.data["contacts"][0]["lots"] == [12, 14]
    assert duplicates == []


def test_empty_text_has_no_root() -> None:
    document, _ = parse_yaml("# rien\n")

    assert document.root is None and document.data is None


def test_repeated_keys_are_found_in_nested_mappings() -> None:
    _, duplicates = parse_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")

    assert duplicates == [DuplicateKey("c", 4, 3), DuplicateKey("a", 5, 1)]


def test_merge_keys_are_not_repeats_and_aliases_are_not_walked_twice() -> None:
    text = "base: &b {x: 1}\nother:\n  <<: *b\n  <<: *b\n  y: 2\n"

    document, duplicates = parse_yaml(text)

    assert duplicates == []
    assert document.data["other"] == {"x": 1, "y": 2}


def test_syntax_error_carries_its_line() -> None:
    with pytest.raises(YamlSyntaxError) as raised:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n")

    assert raised.value.line == 3
    assert raised.value.problem


def test_several_documents_are_a_syntax_error() -> None:
    with pytest.raises(YamlSyntaxError) as raised:
        parse_yaml("a: 1\n---\nb: 2\n")

    assert raised.value.line == 2
