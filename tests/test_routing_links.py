"""Shared references as a specification: arrival order and missing parents do not split a thread."""

from __future__ import annotations

from dataclasses import replace

from dossiermail.rules.model import RoutingRules
from dossiermail.threading import RoutedParent, RoutingContext, route
from tests.factories import AZUR, MemoryIndex, message, rules

STEPS = ("explicit_address", "thread_headers", "shared_references")
MIMOSAS = f"mimosas@{AZUR}"


def _context(*links: RoutedParent) -> RoutingContext:
    index = MemoryIndex(links=list(links))
    return RoutingContext(replace(rules(), routing=RoutingRules(steps=STEPS)), index)


def test_a_parent_arriving_after_its_reply_joins_the_replys_dossier() -> None:
    context = _context(RoutedParent("m1@example.org", "assigned", "les-mimosas", "DDE-2026-014"))
    decision = route(message(message_id="m1@example.org", cc=[MIMOSAS]), context)
    assert (decision.outcome, decision.dossier) == ("assigned", "DDE-2026-014")
    assert decision.reason == "shared_references: replies to this message"


def test_two_replies_to_a_missing_parent_end_up_together() -> None:
    context = _context(RoutedParent("ghost@example.org", "assigned", "les-mimosas", "DDE-2026-014"))
    decision = route(message(message_id="m2@example.org", in_reply_to=["ghost@example.org"]), context)
    assert (decision.outcome, decision.dossier) == ("assigned", "DDE-2026-014")
    assert decision.confidence == 0.8


def test_a_link_into_another_building_is_a_second_building_and_goes_to_review() -> None:
    context = _context(RoutedParent("m1@example.org", "assigned", "le-belvedere", "TRX-2026-007"))
    decision = route(message(message_id="m1@example.org", cc=[MIMOSAS]), context)
    assert (decision.outcome, decision.building) == ("needs_review", None)


def test_a_linked_message_still_in_review_is_recorded_at_score_zero() -> None:
    context = _context(RoutedParent("m1@example.org", "needs_review", None, None))
    decision = route(message(message_id="m1@example.org", cc=[MIMOSAS]), context)
    links = [e for e in decision.evidence if e.kind == "shared_references"]
    assert [e.score for e in links] == [0.0]
    assert decision.outcome == "needs_review"
