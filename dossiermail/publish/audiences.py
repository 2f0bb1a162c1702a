"""Who sees what on the extranet: dossier categories, lots, and the audience policy of redaction.yaml.

- ``syndic`` sees every dossier and every message of its building, unredacted.
- ``conseil_syndical`` / ``coproprietaires`` / ``lot:<n>`` see the dossiers of the categories
  ``audiences:`` gives them, redacted, never an ``internal`` message, never a dossier « à qualifier »
  (an unqualified guess) or merged away; ``lot:<n>`` only the dossiers tied to lot ``n``.
- A dossier's lots are those an admin set (``dossier lots``), else the lots in ``contacts.yaml`` of
  the co-owners (and council members) of that building who took part in its mail.
- Nothing ever crosses buildings: each building is published from its own dossiers only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dossiermail.audience import CONSEIL_SYNDICAL, COPROPRIETAIRES, SYNDIC, Audience
from dossiermail.rules.model import DOSSIER_CATEGORIES, FALLBACK_CATEGORY, Rules
from dossiermail.timeline import DossierHead, Timeline, TimelineEntry

PUBLIC_STATUSES = frozenset({"ouvert", "clos"})
"""Dossier statuses published beyond the syndic."""
OWNER_ROLES = frozenset({"coproprietaire", "conseil_syndical"})
"""Contact roles whose lots tie a dossier to a lot (council members own lots too)."""
_PREFIX = re.compile(r"[A-Za-z]+")


def _folded(text: str) -> str:
    """Lower-case, accents removed: ``Comptabilité`` and ``comptabilite`` are the same category."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


_CATEGORY_BY_FOLDED = {_folded(category): category for category in DOSSIER_CATEGORIES}


@dataclass(frozen=True)
class AudiencePolicy:
    """The publication rules of one rules directory, ready to ask per dossier and message."""

    prefixes: dict[str, str]
    categories: dict[str, frozenset[str]]
    lots_by_email: dict[str, tuple[tuple[str, ...], tuple[int, ...]]]

    @classmethod
    def from_rules(cls, rules: Rules) -> AudiencePolicy:
        """The policy ``rules/redaction.yaml`` (categories, audiences) and ``contacts.yaml`` give."""
        redaction = rules.redaction
        return cls(
            prefixes={p: c.category for c in redaction.categories for p in c.prefixes},
            categories={a.audience: frozenset(a.categories) for a in redaction.audiences},
            lots_by_email={
                contact.email.lower(): (contact.buildings, contact.lots)
                for contact in rules.contacts
                if contact.role in OWNER_ROLES and contact.lots
            },
        )

    def category(self, reference: str, category: str | None) -> str:
        """The dossier's category: the one set on it if recognised, else from its reference prefix."""
        if category and _folded(category) in _CATEGORY_BY_FOLDED:
            return _CATEGORY_BY_FOLDED[_folded(category)]
        prefix = _PREFIX.match(reference)
        if prefix is None:
            return FALLBACK_CATEGORY
        return self.prefixes.get(prefix[0].upper(), FALLBACK_CATEGORY)

    def lots(self, timeline: Timeline) -> frozenset[int]:
        """The lots a dossier concerns: set by an admin, else its co-owner participants' lots."""
        if timeline.lots:
            return frozenset(timeline.lots)
        found: set[int] = set()
        for email in {email for entry in timeline.entries for email in entry.participants}:
            buildings, lots = self.lots_by_email.get(email, ((), ()))
            if timeline.building_slug in buildings:
                found.update(lots)
        return frozenset(found)

    def building_lots(self, building: str, timelines: Iterable[Timeline | DossierHead]) -> tuple[int, ...]:
        """Every lot known for a building: its co-owners' in contacts.yaml and lots set on its dossiers."""
        found = {
            lot for buildings, lots in self.lots_by_email.values() if building in buildings for lot in lots
        }
        found.update(lot for timeline in timelines for lot in timeline.lots)
        return tuple(sorted(found))

    def sees_dossier(self, audience: Audience, timeline: Timeline) -> bool:
        """Whether the audience's pages show this dossier at all."""
        return self.sees(audience, timeline, lambda: self.lots(timeline))

    def sees(
        self, audience: Audience, dossier: Timeline | DossierHead, lots: Callable[[], frozenset[int]]
    ) -> bool:
        """``sees_dossier`` for a dossier whose lots (``lots()``, asked only for a lot) are known apart."""
        if audience == SYNDIC:
            return True
        if dossier.status not in PUBLIC_STATUSES:
            return False
        if self.category(dossier.reference, dossier.category) not in self.categories.get(
            audience.kind, frozenset()
        ):
            return False
        return audience.lot is None or audience.lot in lots()

    def audiences(self, building: str, timelines: Iterable[Timeline | DossierHead]) -> tuple[Audience, ...]:
        """The default audiences of a building: the three shared ones and one per known lot."""
        lots = self.building_lots(building, timelines)
        return (SYNDIC, CONSEIL_SYNDICAL, COPROPRIETAIRES, *(Audience("lot", lot) for lot in lots))


def sees_message(audience: Audience, entry: TimelineEntry) -> bool:
    """Only ``public`` messages leave the syndic audience (``internal`` ones, or anything else, never)."""
    return audience == SYNDIC or entry.visibility == "public"


def is_redacted(audience: Audience) -> bool:
    """Every audience but the syndic reads redacted text."""
    return audience != SYNDIC
