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
    "quoted_header",
    "address_book",
    "fuzzy_subject",
    "participant_window",
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
class RoutingThresholds:
    """The numbers routing decides with (``thresholds:`` in routing.yaml)."""

    accept_score: float = 0.5
    """Evidence below this score is recorded but never decides."""
    fuzzy_ratio: float = 0.9
    """Minimum rapidfuzz ``ratio`` (0-1) between normalized subjects for ``fuzzy_subject``."""
    fuzzy_window_days: int = 120
    """``fuzzy_subject`` compares with dossier messages at most this many days older."""
    address_book_score: float = 0.6
    """Building evidence of a contact tied to exactly one building."""
    quoted_header_score: float = 0.8
    """A quoted header matching a filed message (kept below thread headers, 0.85-0.9)."""
    quoted_window_hours: int = 15
    """Tolerance on a quoted date written without offset (the writer's local time)."""
    burst_minutes: int = 10
    """``participant_window``: the same sender wrote to one dossier at most this many minutes before."""
    burst_score: float = 0.55
    """Its evidence (weak: just above ``accept_score``)."""


@dataclass(frozen=True)
class VisibilityRules:
    """What makes a message internal to the syndic (``visibility:`` in routing.yaml)."""

    internal_subject_tags: tuple[str, ...] = ("[INTERNE]",)
    """Subject tags (case-insensitive) that mark a message internal."""
    internal_alias: str = "interne"
    """``dossiers+<slug>+<alias>@domain`` (or ``…+<ref>+<alias>@``) marks a message internal."""
    internal_forwards: bool = True
    """A forward (TR/Fwd) by a gestionnaire to no co-owner or conseil syndical contact is internal."""


@dataclass(frozen=True)
class RoutingRules:
    """How references are recognised, in which order routing steps are trusted, with which thresholds."""

    reference_pattern: re.Pattern[str] = field(default_factory=lambda: re.compile(DEFAULT_REFERENCE_PATTERN))
    steps: tuple[str, ...] = DEFAULT_ROUTING_STEPS
    thresholds: RoutingThresholds = field(default_factory=RoutingThresholds)
    visibility: VisibilityRules = field(default_factory=VisibilityRules)


@dataclass(frozen=True)
class RedactionPattern:
    """An admin regex whose matches the extranet hides."""

    name: str
    pattern: re.Pattern[str]


DOSSIER_CATEGORIES: tuple[str, ...] = ("AG", "Travaux", "Sinistres", "Contrats", "Comptabilité", "Autres")
"""How syndics file dossiers; a dossier whose category is not set or not recognised is « Autres »."""
FALLBACK_CATEGORY = "Autres"


@dataclass(frozen=True)
class CategoryPrefixes:
    """The reference prefixes (``DDE`` of ``DDE-2026-014``) that put a dossier in ``category``."""

    category: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class AudienceCategories:
    """The dossier categories an audience kind (``conseil_syndical``, ``coproprietaires``, ``lot``) sees."""

    audience: str
    categories: tuple[str, ...]


DEFAULT_CATEGORY_PREFIXES: tuple[CategoryPrefixes, ...] = (
    CategoryPrefixes("AG", ("AG",)),
    CategoryPrefixes("Travaux", ("TRV", "TX")),
    CategoryPrefixes("Sinistres", ("DDE", "SIN")),
    CategoryPrefixes("Contrats", ("CTR",)),
    CategoryPrefixes("Comptabilité", ("CPT", "FAC")),
)
DEFAULT_AUDIENCE_CATEGORIES: tuple[AudienceCategories, ...] = (
    AudienceCategories("conseil_syndical", DOSSIER_CATEGORIES),
    AudienceCategories("coproprietaires", ("AG", "Travaux", "Sinistres", "Contrats")),
    AudienceCategories("lot", DOSSIER_CATEGORIES),
)


@dataclass(frozen=True)
class RedactionRules:
    """What the extranet hides (built-ins on unless switched off) and which audience sees which category.

    ``syndic`` always sees every dossier, unredacted; ``categories``/``audiences`` drive the others.
    """

    builtin: tuple[str, ...] = ("phone", "iban", "bic", "email", "nir")
    patterns: tuple[RedactionPattern, ...] = ()
    people: tuple[str, ...] = ()
    categories: tuple[CategoryPrefixes, ...] = DEFAULT_CATEGORY_PREFIXES
    audiences: tuple[AudienceCategories, ...] = DEFAULT_AUDIENCE_CATEGORIES


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
