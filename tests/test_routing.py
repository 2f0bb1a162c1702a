"""Routing v1 as a specification: explicit addresses, subject references, thread headers."""

from __future__ import annotations

from dossiermail.threading import KnownDossier, RoutedParent, RoutingContext, route
from tests.factories import AZUR, MemoryIndex, message, rules

MIMOSAS = f"mimosas@{AZUR}"
BELVEDERE = f"belvedere@{AZUR}"
CLAIRE = f"claire.martin@{AZUR}"
PLUMBER = "devis@plomberie-durand.example.com"
DDE = KnownDossier("les-mimosas", "DDE-2026-014", "ouvert")


def _context(index: MemoryIndex | None = None, **options: object) -> RoutingContext:
    return RoutingContext(rules(), index or MemoryIndex(), **options)  # type: ignore[arg-type]


def test_building_address_in_cc_names_the_building_but_no_dossier_means_review() -> None:
    decision = route(message(cc=[MIMOSAS]), _context())
    assert (decision.outcome, decision.building, decision.dossier) == (
        "needs_review",
        "les-mimosas",
        None,
    )
    assert decision.reason == "no dossier matched"


def test_plus_address_of_dossier_address_is_a_building_address_case_insensitively() -> None:
    decision = route(message(to=[f"Dossiers+Le-Belvedere@{AZUR.upper()}"]), _context())
    assert decision.building == "le-belvedere"


def test_unknown_plus_slug_is_recorded_but_names_no_building() -> None:
    decision = route(message(to=[f"dossiers+nowhere@{AZUR}"]), _context())
    assert decision.building is None
    assert any(e.detail.endswith("unknown building") for e in decision.evidence)


def test_gestionnaire_sending_new_reference_to_one_building_opens_the_dossier() -> None:
    mail = message(subject="[DDE-2026-014] RE : Fuite au plafond lot 12", sender=CLAIRE, cc=[MIMOSAS])
    decision = route(mail, _context())
    assert decision.outcome == "assigned"
    assert decision.opens is not None
    assert (decision.opens.building, decision.opens.reference) == ("les-mimosas", "DDE-2026-014")
    assert decision.opens.title == "Fuite au plafond lot 12"


def test_new_reference_from_a_non_gestionnaire_goes_to_review() -> None:
    decision = route(message(subject="[DDE-2026-099] Fuite", sender=PLUMBER, cc=[MIMOSAS]), _context())
    assert decision.outcome == "needs_review"
    assert decision.opens is None


def test_new_reference_sent_to_two_buildings_goes_to_review_with_no_building() -> None:
    mail = message(subject="[DDE-2026-099] Fuite", sender=CLAIRE, cc=[MIMOSAS, BELVEDERE])
    decision = route(mail, _context())
    assert (decision.outcome, decision.building) == ("needs_review", None)


def test_known_reference_from_a_contact_of_that_building_joins_the_dossier() -> None:
    decision = route(
        message(subject="RE: [DDE-2026-014] devis", sender=PLUMBER), _context(MemoryIndex([DDE]))
    )
    assert (decision.outcome, decision.building, decision.dossier) == (
        "assigned",
        "les-mimosas",
        "DDE-2026-014",
    )


def test_known_reference_from_an_unknown_sender_is_not_trusted() -> None:
    mail = message(subject="[DDE-2026-014] question", sender="inconnu@example.net")
    decision = route(mail, _context(MemoryIndex([DDE])))
    assert decision.outcome == "needs_review"
    assert [e.score for e in decision.evidence if e.kind == "subject_reference"] == [0.3]


def test_known_reference_from_a_past_participant_joins() -> None:
    index = MemoryIndex(
        [DDE], participants={("les-mimosas", "DDE-2026-014"): frozenset({"voisin@example.net"})}
    )
    decision = route(message(subject="[DDE-2026-014] merci", sender="voisin@example.net"), _context(index))
    assert decision.dossier == "DDE-2026-014"


def test_reply_to_a_routed_message_joins_its_dossier_without_any_reference() -> None:
    index = MemoryIndex(routed=[RoutedParent("p1@example.org", "assigned", "les-mimosas", "DDE-2026-014")])
    mail = message(subject="Re: votre passage", sender="x@example.net", in_reply_to=["p1@example.org"])
    decision = route(mail, _context(index))
    assert (decision.outcome, decision.dossier) == ("assigned", "DDE-2026-014")


def test_reply_whose_parent_is_not_received_waits_for_it() -> None:
    mail = message(in_reply_to=["ghost@example.org"], references=["root@example.org", "ghost@example.org"])
    decision = route(mail, _context())
    assert decision.outcome == "needs_review"
    assert set(decision.waiting_for) == {"ghost@example.org", "root@example.org"}


def test_known_reference_addressed_to_another_building_is_a_conflict() -> None:
    mail = message(subject="[DDE-2026-014] devis", sender=PLUMBER, to=[BELVEDERE])
    decision = route(mail, _context(MemoryIndex([DDE])))
    assert (decision.outcome, decision.building, decision.dossier) == ("needs_review", None, None)
    assert "several buildings" in decision.reason


def test_auto_reply_is_ignored_but_its_evidence_is_kept() -> None:
    mail = message(
        subject="Réponse automatique : [DDE-2026-014]",
        sender=PLUMBER,
        auto_reply="Auto-Submitted: auto-replied",
    )
    decision = route(mail, _context(MemoryIndex([DDE])))
    assert decision.outcome == "ignored"
    assert decision.evidence


def test_auto_dossiers_opens_a_dossier_a_qualifier_for_an_unmatched_conversation() -> None:
    decision = route(message(subject="TR: Bruit la nuit", cc=[MIMOSAS]), _context(auto_dossiers=True))
    assert decision.outcome == "assigned"
    assert decision.opens is not None
    assert (decision.opens.reference, decision.opens.status, decision.opens.title) == (
        None,
        "a_qualifier",
        "Bruit la nuit",
    )


def test_import_building_gives_the_building_but_never_overrides_a_conflict() -> None:
    assert route(message(), _context(forced_building="les-mimosas")).building == "les-mimosas"
    decision = route(message(cc=[BELVEDERE]), _context(forced_building="les-mimosas"))
    assert decision.building is None


def test_every_decision_carries_the_rules_version() -> None:
    assert route(message(), _context()).rules_version == "test-rules"


def test_import_building_against_a_contact_of_another_single_building_goes_to_review() -> None:
    decision = route(message(sender=PLUMBER), _context(forced_building="le-belvedere"))
    assert (decision.outcome, decision.building) == ("needs_review", None)
    assert "several buildings" in decision.reason
