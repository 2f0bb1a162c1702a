"""Checks that compare entries or files once each file is valid on its own.

Duplicate slugs, addresses, contacts, steps and names; contacts pointing at unknown buildings.
They read the parsed data, not the models, so that a file with other mistakes is still compared:
a value counts unless it is itself invalid. Each problem is located at the offending node.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dossiermail.rules.files import RuleFile
from dossiermail.rules.problems import RuleProblem
from dossiermail.rules.schema import BuildingsFile, ContactsFile, RedactionFile, RoutingFile
from dossiermail.rules.yamlmarks import Loc


@dataclass(frozen=True)
class RuleFiles:
    """The four rule files of one directory, read and validated one by one."""

    buildings: RuleFile[BuildingsFile]
    contacts: RuleFile[ContactsFile]
    routing: RuleFile[RoutingFile]
    redaction: RuleFile[RedactionFile]


def cross_check(files: RuleFiles) -> list[RuleProblem]:
    """Every problem that only shows when comparing entries, in file order."""
    return [
        *_buildings_problems(files.buildings),
        *_contacts_problems(files.contacts, files.buildings),
        *_routing_problems(files.routing),
        *_redaction_problems(files.redaction),
    ]


def _repeats(file: RuleFile[Any], values: Iterable[tuple[Loc, str]], message: str) -> Iterator[RuleProblem]:
    """A problem for each value already seen; ``message`` gets ``value`` and ``first`` (a line)."""
    first: dict[str, Loc] = {}
    for loc, value in values:
        if value in first:
            yield file.problem(loc, message.format(value=value, first=file.line(first[value])))
        else:
            first[value] = loc


def _field_values(file: RuleFile[Any], key: str, name: str) -> list[tuple[Loc, str]]:
    """The valid text of ``name`` in each mapping of the list ``key``, with its location."""
    locs: list[Loc] = [(key, i, name) for i in file.entries(key)]
    found = ((loc, file.value(loc)) for loc in locs)
    return [(loc, text) for loc, text in found if text is not None]


def _buildings_problems(file: RuleFile[BuildingsFile]) -> Iterator[RuleProblem]:
    buildings = file.entries("buildings")
    yield from _repeats(
        file,
        _field_values(file, "buildings", "slug"),
        "duplicate slug '{value}' (first at line {first}): each building needs its own slug",
    )
    addresses = [
        (loc, address.lower())
        for i in buildings
        for loc, address in file.strings(("buildings", i, "addresses"))
    ]
    yield from _repeats(
        file,
        addresses,
        "address '{value}' is already a building address (line {first}): "
        "an address can mean only one building",
    )
    dossier_address = (file.value(("dossier_address",)) or "").lower()
    for loc, address in addresses:
        if address == dossier_address:
            yield file.problem(
                loc,
                f"address '{address}' is the dossier_address (line "
                f"{file.line(('dossier_address',))}): give the building an address of its own",
            )


def _contacts_problems(
    file: RuleFile[ContactsFile], buildings: RuleFile[BuildingsFile]
) -> Iterator[RuleProblem]:
    contacts = file.entries("contacts")
    yield from _repeats(
        file,
        ((loc, email.lower()) for loc, email in _field_values(file, "contacts", "email")),
        "contact '{value}' is listed twice (first at line {first}): merge the two entries",
    )
    known = _declared_slugs(buildings)
    if known is None:
        return
    listed = ", ".join(sorted(known)) if known else f"none in {buildings.path}"
    for i in contacts:
        for loc, slug in file.strings(("contacts", i, "buildings")):
            if slug not in known:
                yield file.problem(loc, f"unknown building '{slug}' (known: {listed})")


def _declared_slugs(buildings: RuleFile[BuildingsFile]) -> set[str] | None:
    """Every valid slug in buildings.yaml, even in an entry with other mistakes.

    None when the building list itself could not be read: every contact would look wrong.
    """
    if not buildings.readable or not isinstance(buildings.data.get("buildings", []), list):
        return None
    return {slug for _, slug in _field_values(buildings, "buildings", "slug")}


def _routing_problems(file: RuleFile[RoutingFile]) -> Iterator[RuleProblem]:
    yield from _repeats(
        file,
        file.strings(("steps",)),
        "routing step '{value}' is listed twice (first at line {first}): keep only one",
    )


def _redaction_problems(file: RuleFile[RedactionFile]) -> Iterator[RuleProblem]:
    yield from _repeats(
        file,
        file.strings(("builtin",)),
        "built-in redaction '{value}' is listed twice (first at line {first})",
    )
    yield from _repeats(
        file,
        _field_values(file, "patterns", "name"),
        "duplicate pattern name '{value}' (first at line {first}): names must be unique",
    )
