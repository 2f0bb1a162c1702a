"""The redactor: compiled once from ``RedactionRules``, it masks free text for publication.

``redactor_for(rules)`` builds a ``Redactor`` whose ``text`` replaces every found span by a
French placeholder naming the kind of data (« [téléphone masqué] »), whose ``runs`` does the same
over adjacent pieces of one text (HTML text nodes split by inline tags), and whose ``hits`` says
what would be replaced (for tests and explanations; never published). ``version`` hashes the rules and
the engine version so that each publication audit records exactly which redaction it applied.
Stored mail is never modified: redaction happens when a page is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from dossiermail.redact.banking import find_bics, find_ibans
from dossiermail.redact.builtins import find_emails, find_nirs, find_phones
from dossiermail.redact.hits import PATTERN, Hit, apply, apply_to_runs, merge
from dossiermail.redact.people import PeopleFinder, people_pattern
from dossiermail.rules.model import RedactionPattern, RedactionRules

ENGINE_VERSION = "1"
"""Bump when a built-in detector changes what it finds: the rules version changes with it."""

Finder = Callable[[str], Iterable[Hit]]
BUILTIN_FINDERS: dict[str, Finder] = {
    "phone": find_phones,
    "iban": find_ibans,
    "bic": find_bics,
    "email": find_emails,
    "nir": find_nirs,
}


@dataclass(frozen=True)
class PatternFinder:
    """An admin regex of ``redaction.yaml`` (``patterns:``); empty matches are ignored."""

    pattern: RedactionPattern

    def __call__(self, text: str) -> Iterator[Hit]:
        """Every non-empty match, named after the pattern."""
        for match in self.pattern.pattern.finditer(text):
            if match.end() > match.start():
                yield Hit(PATTERN, self.pattern.name, match.start(), match.end())


@dataclass(frozen=True)
class Redactor:
    """Masks personal data in free text (bodies, subjects, display names, attachment names)."""

    version: str
    finders: tuple[Finder, ...] = field(default=(), repr=False)

    def text(self, value: str) -> str:
        """``value`` with every found span replaced by its French placeholder."""
        return apply(value, self.hits(value))

    def runs(self, values: Sequence[str]) -> tuple[str, ...]:
        """Adjacent pieces of one text (the text nodes of an HTML paragraph), redacted together.

        ``<span>06 12</span><b>34 56 78</b>`` is found although no single piece holds the number:
        the placeholder goes into the piece where the number starts and the rest is removed.
        Pass the nodes of one block (paragraph, cell, list item), not a whole page.
        """
        pieces = list(values)
        return apply_to_runs(pieces, self.hits("".join(pieces)))

    def hits(self, value: str) -> tuple[Hit, ...]:
        """What ``text`` replaces, in order, overlapping finds merged (kind/name and span)."""
        if not value:
            return ()
        return merge(hit for finder in self.finders for hit in finder(value))


def redaction_version(rules: RedactionRules) -> str:
    """12 hex digits of a sha256 over the engine version and everything that changes the output."""
    described = {
        "engine": ENGINE_VERSION,
        "builtin": sorted(set(rules.builtin)),
        "patterns": [[p.name, p.pattern.pattern, p.pattern.flags] for p in rules.patterns],
        "people": sorted(rules.people),
    }
    encoded = json.dumps(described, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:12]


@lru_cache(maxsize=32)
def redactor_for(rules: RedactionRules) -> Redactor:
    """The redactor for these rules: built-ins switched on, admin patterns, then named people."""
    finders: list[Finder] = [BUILTIN_FINDERS[name] for name in BUILTIN_FINDERS if name in rules.builtin]
    finders.extend(PatternFinder(pattern) for pattern in rules.patterns)
    people = people_pattern(rules.people)
    if people is not None:
        finders.append(PeopleFinder(people))
    return Redactor(version=redaction_version(rules), finders=tuple(finders))
