"""Collector: a dossier reference such as ``[DDE-2026-014]`` in the subject.

A known reference is trusted only from a known sender: an address-book contact of that building, a
gestionnaire, or someone who already took part in the dossier. An unknown reference opens a new
dossier only when a gestionnaire sends it to exactly one building's address.
"""

from __future__ import annotations

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.threading.collectors.explicit_address import addressed_buildings
from dossiermail.threading.context import KnownDossier, RoutingContext

NAME = "subject_reference"
NEW = "new_reference"
RULE = "routing.yaml reference_pattern"
TRUSTED_SCORE = 0.95
OPENING_SCORE = 0.92
UNTRUSTED_SCORE = 0.3


def references_in(subject: str, context: RoutingContext) -> tuple[str, ...]:
    """Every reference in the subject, upper-cased, in order, without repeats."""
    pattern = context.reference_pattern
    found = (m.group("ref").upper() for m in pattern.finditer(subject))
    return tuple(dict.fromkeys(found))


def _sender(message: ParsedMessage) -> str | None:
    return message.from_.email.lower() if message.from_ and message.from_.email else None


def _trust(sender: str | None, dossier: KnownDossier, context: RoutingContext) -> str | None:
    """Why this sender may file into this dossier, or None."""
    if sender is None:
        return None
    contact = context.rules.contact(sender)
    if contact is not None:
        if contact.role == "gestionnaire" and not contact.buildings:
            return "gestionnaire"
        if dossier.building in contact.buildings:
            return f"{contact.role} of {dossier.building}"
    participants = context.index.dossier_participants(dossier.building, dossier.reference)
    return "already a participant of the dossier" if sender in participants else None


def _known(
    reference: str, dossiers: tuple[KnownDossier, ...], sender: str | None, ctx: RoutingContext
) -> list[Evidence]:
    evidence = []
    for dossier in dossiers:
        why = _trust(sender, dossier, ctx)
        score = TRUSTED_SCORE if why else UNTRUSTED_SCORE
        detail = f"[{reference}] from {why}" if why else f"[{reference}] from an unknown sender"
        evidence.append(Evidence(NAME, dossier.building, dossier.reference, score, RULE, detail))
    return evidence


def _opening(reference: str, message: ParsedMessage, context: RoutingContext) -> Evidence:
    """A new reference: opens a dossier only for a gestionnaire writing to one building."""
    sender = _sender(message)
    contact = context.rules.contact(sender) if sender else None
    if contact is None or contact.role != "gestionnaire":
        return Evidence(
            NEW, None, reference, 0.0, RULE, f"[{reference}] unknown, sender is not a gestionnaire"
        )
    buildings = addressed_buildings(message, context) or _forced(context)
    if len(buildings) != 1:
        count = len(buildings)
        return Evidence(
            NEW,
            None,
            reference,
            0.0,
            RULE,
            f"[{reference}] unknown, sent to {count} building addresses",
        )
    (building,) = buildings
    if contact.buildings and building not in contact.buildings:
        detail = f"[{reference}] unknown, {building} is not one of the gestionnaire's buildings"
        return Evidence(NEW, building, reference, 0.0, RULE, detail)
    detail = f"[{reference}] opened by gestionnaire {contact.name}"
    return Evidence(NEW, building, reference, OPENING_SCORE, RULE, detail)


def _forced(context: RoutingContext) -> frozenset[str]:
    return frozenset({context.forced_building}) if context.forced_building else frozenset()


def collect(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """Evidence for each reference in the subject: join a known dossier, or open a new one."""
    evidence: list[Evidence] = []
    sender = _sender(message)
    for reference in references_in(message.subject, context):
        known = tuple(context.index.dossiers_with_reference(reference))
        if known:
            evidence.extend(_known(reference, known, sender, context))
        else:
            evidence.append(_opening(reference, message, context))
    return tuple(evidence)
