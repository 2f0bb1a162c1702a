"""Collector: senders and recipients found in the address book (``contacts.yaml``) restrict buildings.

A contact tied to exactly one building is moderate building evidence (never a dossier), scored
``address_book_score`` from routing.yaml. A contact of
several buildings names none of them: it is recorded at score 0 so ``explain`` shows it. Gestionnaires
are left out: they write about every building they manage, their address says nothing of which one.
"""

from __future__ import annotations

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.rules.model import Contact
from dossiermail.threading.context import RoutingContext

NAME = "address_book"
RULE = "contacts.yaml"


def participant_addresses(message: ParsedMessage) -> tuple[str, ...]:
    """Sender first, then To and Cc, lower-cased, without repeats."""
    found = [message.from_.email] if message.from_ and message.from_.email else []
    found += [a.email for a in message.recipients if a.email]
    return tuple(dict.fromkeys(a.lower() for a in found))


def _evidence(contact: Contact, sender: bool, score: float) -> Evidence:
    side = "sender" if sender else "recipient"
    who = f"{side} {contact.email} ({contact.role})"
    if len(contact.buildings) == 1:
        (building,) = contact.buildings
        return Evidence(NAME, building, None, score, RULE, f"{who} of {building} only")
    known = ", ".join(contact.buildings) or "no building"
    return Evidence(NAME, None, None, 0.0, RULE, f"{who} of {known}: names no single building")


def _contacts(message: ParsedMessage, context: RoutingContext) -> list[tuple[Contact, bool]]:
    sender = message.from_.email.lower() if message.from_ and message.from_.email else None
    found = []
    for address in participant_addresses(message):
        contact = context.rules.contact(address)
        if contact is not None and contact.role != "gestionnaire":
            found.append((contact, address == sender))
    return found


def collect(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """One piece of evidence per participant who is a (non-gestionnaire) contact."""
    score = context.rules.routing.thresholds.address_book_score
    return tuple(_evidence(contact, sender, score) for contact, sender in _contacts(message, context))


def contact_buildings(message: ParsedMessage, context: RoutingContext) -> frozenset[str]:
    """Buildings named by participants tied to exactly one building."""
    return frozenset(e.building for e in collect(message, context) if e.building and e.score > 0)
