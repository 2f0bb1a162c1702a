"""Collector: a building (or dossier) address among the recipients names the building.

Building addresses come from ``buildings.yaml`` ``addresses``; with ``dossier_address:
dossiers@domain``, ``dossiers+<slug>@domain`` is that building's address and
``dossiers+<slug>+<reference>@domain`` a per-dossier alias (case-insensitive); either may end in
``+<internal_alias>`` (routing.yaml ``visibility``), which marks the message internal and is
otherwise ignored here.
"""

from __future__ import annotations

from functools import lru_cache

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.rules.model import Rules
from dossiermail.threading.context import RoutingContext

NAME = "explicit_address"


@lru_cache(maxsize=8)
def _address_book(rules: Rules) -> dict[str, str]:
    return {addr.lower(): b.slug for b in rules.buildings for addr in b.addresses}


def recipient_addresses(message: ParsedMessage) -> tuple[str, ...]:
    """Envelope, Delivered-To, To and Cc addresses, lower-cased, without repeats."""
    found = message.envelope_to + message.delivered_to
    found += tuple(a.email for a in message.recipients)
    return tuple(dict.fromkeys(a.lower() for a in found if a))


def plus_address(address: str, rules: Rules) -> tuple[str, str | None] | None:
    """(slug, reference or None) for ``dossiers+slug[+ref]@domain``, None when not that form."""
    if not rules.dossier_address or "@" not in address:
        return None
    base_local, _, base_domain = rules.dossier_address.lower().partition("@")
    local, _, domain = address.lower().partition("@")
    if domain != base_domain or not local.startswith(base_local + "+"):
        return None
    detail = local[len(base_local) + 1 :]
    alias = "+" + rules.routing.visibility.internal_alias.lower()
    if rules.routing.visibility.internal_alias and detail.endswith(alias):
        detail = detail[: -len(alias)]
    slug, _, reference = detail.partition("+")
    return slug, (reference.upper() or None)


def is_internal_alias(address: str, rules: Rules) -> bool:
    """``dossiers+<slug>[+<ref>]+<internal_alias>@domain``: mail meant for the syndic only."""
    alias = rules.routing.visibility.internal_alias.lower()
    if not alias or plus_address(address, rules) is None:
        return False
    return address.lower().partition("@")[0].endswith("+" + alias)


def building_for_address(address: str, rules: Rules) -> str | None:
    """The slug of the known building ``address`` designates (its own or plus-address), else None."""
    address = address.lower()
    slug = _address_book(rules).get(address)
    if slug is not None:
        return slug
    plus = plus_address(address, rules)
    if plus is None or rules.building(plus[0]) is None:
        return None
    return plus[0]


def _evidence_for(address: str, context: RoutingContext) -> Evidence | None:
    rules = context.rules
    slug = _address_book(rules).get(address)
    if slug is not None:
        return Evidence(NAME, slug, None, 1.0, "buildings.yaml addresses", address)
    plus = plus_address(address, rules)
    if plus is None:
        return None
    slug, reference = plus
    if rules.building(slug) is None:
        return Evidence(NAME, None, None, 0.0, "dossier_address", f"{address}: unknown building")
    if reference and _dossier_exists(context, slug, reference):
        return Evidence(NAME, slug, reference, 1.0, "dossier_address alias", address)
    return Evidence(NAME, slug, None, 1.0, "dossier_address", address)


def _dossier_exists(context: RoutingContext, slug: str, reference: str) -> bool:
    known = context.index.dossiers_with_reference(reference)
    return any(d.building == slug for d in known)


def collect(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """One piece of evidence per recipient that is a building or dossier address."""
    found = (_evidence_for(a, context) for a in recipient_addresses(message))
    return tuple(e for e in found if e is not None)


def addressed_buildings(message: ParsedMessage, context: RoutingContext) -> frozenset[str]:
    """The buildings whose address the message was sent or copied to."""
    return frozenset(e.building for e in collect(message, context) if e.building and e.score > 0)
