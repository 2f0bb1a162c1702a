"""Address book and fuzzy subjects as a specification: fuzzy evidence never crosses buildings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dossiermail.domain import ParsedMessage, RoutingDecision
from dossiermail.parse.subject import normalize_subject
from dossiermail.rules.model import RoutingRules
from dossiermail.threading import RoutedParent, RoutingContext, route
from dossiermail.threading.context import Candidate
from tests.factories import AZUR, PLUMBER, MemoryIndex, message, rules

STEPS = ("explicit_address", "subject_reference", "thread_headers", "address_book", "fuzzy_subject")
MIMOSAS = f"mimosas@{AZUR}"
BELVEDERE = f"belvedere@{AZUR}"
OWNER_OF_BOTH = "paul.leroy@example.org"
WHEN = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def _context(*filed: Candidate, index: MemoryIndex | None = None, **options: object) -> RoutingContext:
    index = index or MemoryIndex()
    index.filed.extend(filed)
    return RoutingContext(replace(rules(), routing=RoutingRules(steps=STEPS)), index, **options)  # type: ignore[arg-type]


def _mail(subject: str, **fields: object) -> ParsedMessage:
    built = message(subject=subject, **fields)  # type: ignore[arg-type]
    return replace(built, normalized_subject=normalize_subject(subject))


def _filed(
    building: str, dossier: str, subject: str, days_ago: int = 3, people: tuple[str, ...] = ()
) -> Candidate:
    date = WHEN - timedelta(days=days_ago)
    return Candidate(building, dossier, normalize_subject(subject), date, frozenset(people))


def _where(decision: RoutingDecision) -> tuple[str, str | None, str | None]:
    return decision.outcome, decision.building, decision.dossier


def _fuzzy(decision: RoutingDecision) -> list[str]:
    return [f"{e.dossier}:{e.score}" for e in decision.evidence if e.kind == "fuzzy_subject" and e.dossier]


# --- address book ---------------------------------------------------------------------------


def test_a_contact_of_one_building_names_that_building_at_a_moderate_score() -> None:
    decision = route(_mail("Devis", sender=PLUMBER), _context())
    book = [e for e in decision.evidence if e.kind == "address_book"]
    assert [(e.building, e.score) for e in book] == [("les-mimosas", 0.6)]
    assert _where(decision) == ("needs_review", "les-mimosas", None)


def test_a_contact_of_several_buildings_is_recorded_but_names_none() -> None:
    decision = route(_mail("Question", sender=OWNER_OF_BOTH), _context())
    book = [e for e in decision.evidence if e.kind == "address_book"]
    assert [(e.building, e.score) for e in book] == [(None, 0.0)]
    assert _where(decision) == ("needs_review", None, None)


def test_a_contact_of_one_building_writing_to_another_building_goes_to_review() -> None:
    decision = route(_mail("Devis", sender=PLUMBER, to=[BELVEDERE]), _context())
    assert _where(decision) == ("needs_review", None, None)


# --- fuzzy subject within the allowed building ----------------------------------------------


def test_a_reply_without_headers_joins_the_open_dossier_with_the_same_subject() -> None:
    context = _context(_filed("les-mimosas", "DDE-2026-014", "Fuite au plafond lot 12"))
    decision = route(_mail("RE : Fuite au plafond lot 12", sender=PLUMBER), context)
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-014")
    assert decision.reason.startswith("fuzzy_subject: 'fuite au plafond lot 12' similarity 1.00")


def test_outlook_prefixes_and_small_edits_still_match() -> None:
    context = _context(_filed("les-mimosas", "DDE-2026-014", "Fuite au plafond lot 12"))
    decision = route(_mail("TR : [EXT] Réf : Fuite au plafond, lot 12 !", sender=PLUMBER), context)
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-014")


def test_a_fresh_subject_starts_a_conversation_even_when_a_dossier_looks_alike() -> None:
    context = _context(_filed("les-mimosas", "DDE-2026-014", "Fuite au plafond lot 12"))
    decision = route(_mail("Fuite au plafond lot 12", sender=PLUMBER), context)
    assert _where(decision) == ("needs_review", "les-mimosas", None)


def test_a_dossier_silent_for_more_than_120_days_is_not_a_candidate() -> None:
    context = _context(_filed("les-mimosas", "DDE-2025-001", "Fuite au plafond", days_ago=121))
    decision = route(_mail("RE : Fuite au plafond", sender=PLUMBER), context)
    assert _fuzzy(decision) == []


def test_a_closed_dossier_is_not_a_candidate() -> None:
    index = MemoryIndex(closed={("les-mimosas", "DDE-2026-014")})
    context = _context(_filed("les-mimosas", "DDE-2026-014", "Fuite au plafond"), index=index)
    assert _fuzzy(route(_mail("RE : Fuite au plafond", sender=PLUMBER), context)) == []


def test_a_different_subject_is_recorded_as_a_loser_with_its_similarity_and_threshold() -> None:
    context = _context(_filed("les-mimosas", "DDE-2026-014", "Fuite au plafond du hall"))
    decision = route(_mail("RE : Fuite au garage", sender=PLUMBER), context)
    loser = next(e for e in decision.evidence if e.kind == "fuzzy_subject")
    assert (loser.dossier, loser.score, loser.rule) == ("DDE-2026-014", 0.0, "threshold 0.90, 120 days")
    assert loser.detail.endswith("similarity 0.56")
    assert decision.outcome == "needs_review"


def test_two_dossiers_equally_alike_go_to_review() -> None:
    context = _context(
        _filed("les-mimosas", "DDE-2026-014", "Fuite toiture"),
        _filed("les-mimosas", "DDE-2026-020", "Fuite toiture"),
    )
    decision = route(_mail("RE : Fuite toiture", sender=PLUMBER), context)
    assert _where(decision) == ("needs_review", "les-mimosas", None)


def test_a_shared_participant_breaks_a_tie_between_alike_dossiers() -> None:
    context = _context(
        _filed("les-mimosas", "DDE-2026-014", "Fuite toiture", people=(PLUMBER,)),
        _filed("les-mimosas", "DDE-2026-020", "Fuite toiture"),
    )
    decision = route(_mail("RE : Fuite toiture", sender=PLUMBER), context)
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-014")


def test_thread_headers_outweigh_a_fuzzy_subject() -> None:
    index = MemoryIndex(routed=[RoutedParent("p1@x", "assigned", "les-mimosas", "DDE-2026-020")])
    context = _context(_filed("les-mimosas", "DDE-2026-014", "Fuite toiture"), index=index)
    decision = route(_mail("RE : Fuite toiture", sender=PLUMBER, in_reply_to=["p1@x"]), context)
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-020")


# --- never across buildings -----------------------------------------------------------------


def test_fuzzy_never_files_into_another_buildings_dossier() -> None:
    context = _context(_filed("le-belvedere", "TRX-2026-007", "Fuite toiture"))
    decision = route(_mail("RE : Fuite toiture", sender=PLUMBER), context)
    assert _where(decision) == ("needs_review", "les-mimosas", None)
    assert _fuzzy(decision) == []


def test_without_a_building_fuzzy_does_not_search_at_all() -> None:
    context = _context(_filed("le-belvedere", "TRX-2026-007", "Fuite toiture"))
    decision = route(_mail("RE : Fuite toiture", sender="inconnu@example.net"), context)
    assert _where(decision) == ("needs_review", None, None)
    note = next(e for e in decision.evidence if e.kind == "fuzzy_subject")
    assert "allowed: none" in note.detail


def test_an_owner_of_two_buildings_is_not_enough_to_choose_one() -> None:
    context = _context(
        _filed("les-mimosas", "DDE-2026-014", "Fuite toiture"),
        _filed("le-belvedere", "TRX-2026-007", "Fuite toiture"),
    )
    decision = route(_mail("RE : Fuite toiture", sender=OWNER_OF_BOTH), context)
    assert _where(decision) == ("needs_review", None, None)


def test_two_buildings_in_play_means_review_even_with_a_perfect_subject_match() -> None:
    context = _context(_filed("le-belvedere", "TRX-2026-007", "Fuite toiture"))
    mail = _mail("RE : Fuite toiture", sender=PLUMBER, to=[BELVEDERE])
    decision = route(mail, context)
    assert _where(decision) == ("needs_review", None, None)
    assert _fuzzy(decision) == []


def test_a_forced_building_restricts_fuzzy_to_that_building() -> None:
    context = _context(
        _filed("le-belvedere", "TRX-2026-007", "Fuite toiture"),
        _filed("les-mimosas", "DDE-2026-014", "Fuite toiture"),
        forced_building="le-belvedere",
    )
    decision = route(_mail("RE : Fuite toiture", sender="inconnu@example.net"), context)
    assert _where(decision) == ("assigned", "le-belvedere", "TRX-2026-007")
