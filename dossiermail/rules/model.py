"""The validated rules an admin wrote under ``rules/``, as frozen dataclasses the stages read.

The YAML schema and its validation live in ``dossiermail.rules.schema`` / ``loader``; this module is
only the result, so routing and publishing never see raw YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dossiermail.domain import Role

DEFAULT_REFERENCE_PATTERN = r"\[(?P<ref>[A-Z]{2,6}-\d{4}-\d{2,5})\]"
DEFAULT_ROUTING_STEPS: tuple[str, ...] = (
    "explicit_address",
    "subject_reference",
    "thread_headers",
    "shared_references",
    "address_book",
    "fuzzy_subject",
)
"""Every routing step, all on by default (a test keeps this equal to the collector registry)."""


@dataclass(frozen=True)
class Building:
    """A copropriété building and the mail addresses that mean "this building"."""

    slug: str
    name: str
    address: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    """An address-book entry: who writes to us, in which role, for which buildings and lots."""

    email: str
    name: str
    role: Role
    buildings: tuple[str, ...] = ()
    lots: tuple[int, ...] = ()


@dataclass(frozen=True)
class RoutingRules:
    """How references are recognised and in which order routing steps are trusted."""

    reference_pattern: re.Pattern[str] = field(default_factory=lambda: re.compile(DEFAULT_REFERENCE_PATTERN))
    steps: tuple[str, ...] = DEFAULT_ROUTING_STEPS


@dataclass(frozen=True)
class RedactionPattern:
    """An admin regex whose matches the extranet hides."""

    name: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class RedactionRules:
    """Placeholder for the extranet issue: built-ins are on unless switched off."""

    builtin: tuple[str, ...] = ("phone", "iban", "bic", "email", "nir")
    patterns: tuple[RedactionPattern, ...] = ()
    people: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    """Everything under one rules directory, validated. ``version`` hashes the files' bytes."""

    directory: str
    version: str
    dossier_address: str | None = None
    buildings: tuple[Building, ...] = ()
    contacts: tuple[Contact, ...] = ()
    routing: RoutingRules = field(default_factory=RoutingRules)
    redaction: RedactionRules = field(default_factory=RedactionRules)

    def building(self, slug: str) -> Building | None:
        """The building with this slug, if the rules declare it."""
        return next((b for b in self.buildings if b.slug == slug), None)

    def contact(self, email: str) -> Contact | None:
        """The address-book entry for this address (case-insensitive)."""
        wanted = email.lower()
        return next((c for c in self.contacts if c.email.lower() == wanted), None)
