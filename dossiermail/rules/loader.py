"""Load a rules directory: read the four YAML files, check them together, build ``Rules``.

``load_rules`` raises ``RulesError`` listing every problem; ``check_rules`` returns them instead
(for ``dossiermail rules check``). A missing file means that file's defaults.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from dossiermail.rules.checks import RuleFiles, cross_check
from dossiermail.rules.files import read_rule_file
from dossiermail.rules.model import (
    AudienceCategories,
    Building,
    CategoryPrefixes,
    Contact,
    RedactionPattern,
    RedactionRules,
    RoutingRules,
    Rules,
)
from dossiermail.rules.problems import RuleProblem, RulesError
from dossiermail.rules.schema import BuildingsFile, ContactsFile, RedactionFile, RoutingFile

RULE_FILES: tuple[str, ...] = ("buildings.yaml", "contacts.yaml", "routing.yaml", "redaction.yaml")


def load_rules(directory: Path) -> Rules:
    """The validated rules under ``directory``; raise ``RulesError`` with every problem found."""
    rules, problems = _collect(directory)
    if rules is None:
        raise RulesError(problems)
    return rules


def check_rules(directory: Path) -> list[RuleProblem]:
    """Every problem in the rules under ``directory``; ``[]`` when they load."""
    return _collect(directory)[1]


def empty_rules(directory: str = "") -> Rules:
    """Rules with no buildings or contacts and the default routing and redaction."""
    return Rules(directory=directory, version=rules_version({}))


def rules_version(contents: Mapping[str, bytes]) -> str:
    """First 12 hex digits of a sha256 over the (file name, bytes) of the files that exist."""
    digest = hashlib.sha256()
    for name, content in sorted(contents.items()):
        for part in (name.encode(), content):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()[:12]


def _collect(directory: Path) -> tuple[Rules | None, list[RuleProblem]]:
    if not directory.is_dir():
        what = "not a directory" if directory.exists() else "directory not found"
        return None, [RuleProblem(str(directory), None, what)]
    files = RuleFiles(
        buildings=read_rule_file(directory, "buildings.yaml", BuildingsFile),
        contacts=read_rule_file(directory, "contacts.yaml", ContactsFile),
        routing=read_rule_file(directory, "routing.yaml", RoutingFile),
        redaction=read_rule_file(directory, "redaction.yaml", RedactionFile),
    )
    every = (files.buildings, files.contacts, files.routing, files.redaction)
    problems = [problem for file in every for problem in file.problems]
    problems.extend(cross_check(files))
    problems.sort(key=lambda problem: (problem.file, problem.line or 0))
    if problems:
        return None, problems
    contents = {Path(file.path).name: file.content for file in every if file.content is not None}
    return _to_rules(str(directory), rules_version(contents), files), []


def _to_rules(directory: str, version: str, files: RuleFiles) -> Rules:
    buildings = files.buildings.model
    routing = files.routing.model
    redaction = files.redaction.model
    return Rules(
        directory=directory,
        version=version,
        dossier_address=buildings.dossier_address,
        buildings=tuple(Building(b.slug, b.name, b.address, tuple(b.addresses)) for b in buildings.buildings),
        contacts=tuple(
            Contact(c.email, c.name, c.role, tuple(c.buildings), tuple(c.lots))
            for c in files.contacts.model.contacts
        ),
        routing=RoutingRules(
            routing.reference_pattern,
            tuple(routing.steps),
            routing.thresholds.model(),
            routing.visibility.model(),
        ),
        redaction=RedactionRules(
            builtin=tuple(redaction.builtin),
            patterns=tuple(RedactionPattern(p.name, p.regex) for p in redaction.patterns),
            people=tuple(redaction.people),
            categories=tuple(CategoryPrefixes(c, tuple(p)) for c, p in redaction.categories.items()),
            audiences=tuple(
                AudienceCategories(kind, tuple(categories))
                for kind, categories in redaction.audiences.model_dump().items()
            ),
        ),
    )
