"""Quoted-header evidence, the cascade fixes and the sender's time window, as a specification.

A reply that lost its thread headers still quotes its parent; a reply to such a stray follows the
conversation, not the stray; a burst of mail from one sender stays together. None of it may file a
message into another building's dossier.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dossiermail.domain import RoutingDecision
from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.rules.model import RoutingRules, RoutingThresholds
from dossiermail.store import Store
from dossiermail.store.models import ParsedRow
from dossiermail.store.repo import StoreIndex, current_decision
from dossiermail.threading import RoutedParent, RoutingContext, route
from dossiermail.threading.context import Candidate, FiledMessage
from tests.factories import AZUR, PLUMBER, MemoryIndex, message, rules

MIMOSAS = f"mimosas@{AZUR}"
BELVEDERE = f"belvedere@{AZUR}"
WHEN = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
OUTLOOK_QUOTE = (
    "Bien reçu.\n\n-----Message d'origine-----\n"
    f"De : Plomberie Durand [mailto:{PLUMBER}]\n"
    "Envoyé : lundi 2 mars 2026 09:30\nÀ : gestion@example.org\nObjet : Devis fuite\n\nCi-joint le devis.\n"
)


def _context(index: MemoryIndex, quoted_header_score: float = 0.8) -> RoutingContext:
    routing = RoutingRules(thresholds=RoutingThresholds(quoted_header_score=quoted_header_score))
    return RoutingContext(replace(rules(), routing=routing), index)


def _filed(dossier: str | None, building: str | None = "les-mimosas", **fields: object) -> FiledMessage:
    values: dict[str, object] = {
        "message_id": "devis@plomberie.example",
        "sender": PLUMBER,
        "date": datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
        "normalized_subject": "devis fuite",
        "outcome": "assigned",
        "building": building,
        "dossier": dossier,
    }
    values.update(fields)
    return FiledMessage(**values)  # type: ignore[arg-type]


def _where(decision: RoutingDecision) -> tuple[str, str | None, str | None]:
    return decision.outcome, decision.building, decision.dossier


def _quoted(decision: RoutingDecision) -> list[tuple[str | None, float]]:
    return [(e.dossier, e.score) for e in decision.evidence if e.kind == "quoted_header"]


# --- quoted headers ------------------------------------------------------------------------------


def test_a_reply_without_headers_follows_the_message_it_quotes() -> None:
    index = MemoryIndex(sent=[_filed("DDE-2026-001")])
    reply = message("RE: Devis fuite", sender="gestion@example.org", to=[MIMOSAS], text=OUTLOOK_QUOTE)
    decision = route(reply, _context(index))
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-001")
    assert _quoted(decision) == [("DDE-2026-001", 0.8)]
    assert decision.reason.startswith("quoted_header: quotes <devis@plomberie.example>")


def test_the_score_comes_from_routing_yaml_and_stays_below_thread_headers() -> None:
    index = MemoryIndex(
        sent=[_filed("DDE-2026-001")],
        routed=[RoutedParent("parent@example.org", "assigned", "les-mimosas", "DDE-2026-002")],
    )
    reply = message("RE: Devis fuite", to=[MIMOSAS], text=OUTLOOK_QUOTE, in_reply_to=["parent@example.org"])
    decision = route(reply, _context(index, quoted_header_score=0.7))
    assert _quoted(decision) == [("DDE-2026-001", 0.7)]
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-002")


def test_a_quote_of_another_buildings_message_sends_the_reply_to_review() -> None:
    index = MemoryIndex(sent=[_filed("DDE-2026-001", building="le-belvedere")])
    reply = message("RE: Devis fuite", sender="gestion@example.org", to=[MIMOSAS], text=OUTLOOK_QUOTE)
    decision = route(reply, _context(index))
    assert _where(decision) == ("needs_review", None, None)
    assert "le-belvedere" in decision.reason and "les-mimosas" in decision.reason


def test_a_quote_outside_the_date_window_or_with_another_subject_does_not_count() -> None:
    late = _filed("DDE-2026-001", date=datetime(2026, 3, 4, 9, 30, tzinfo=UTC))
    other = _filed("DDE-2026-009", normalized_subject="ravalement facade")
    for filed in (late, other):
        reply = message("Bien reçu", sender="gestion@example.org", to=[MIMOSAS], text=OUTLOOK_QUOTE)
        decision = route(reply, _context(MemoryIndex(sent=[filed])))
        assert decision.dossier is None
        assert all(score == 0 for _, score in _quoted(decision))


def test_a_quote_of_a_message_in_review_is_recorded_at_zero() -> None:
    index = MemoryIndex(sent=[_filed(None, building=None, outcome="needs_review")])
    reply = message("RE: Devis fuite", to=[MIMOSAS], text=OUTLOOK_QUOTE)
    decision = route(reply, _context(index))
    assert _quoted(decision) == [(None, 0.0)]
    assert any("needs_review" in e.detail for e in decision.evidence if e.kind == "quoted_header")


# --- a stray parent does not drag its replies away --------------------------------------------


def test_a_reply_to_a_stray_follows_the_older_messages_of_its_thread() -> None:
    stray = RoutedParent("stray@example.org", "assigned", "les-mimosas", "QUAL-2026-007", confidence=0.5)
    root = RoutedParent("root@example.org", "assigned", "les-mimosas", "DDE-2026-001", confidence=0.9)
    index = MemoryIndex(routed=[stray, root])
    reply = message(
        "RE: Fuite",
        to=[MIMOSAS],
        in_reply_to=["stray@example.org"],
        references=["root@example.org", "stray@example.org"],
    )
    decision = route(reply, _context(index))
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-001")
    scores = {e.dossier: e.score for e in decision.evidence if e.kind == "thread_headers"}
    assert scores == {"QUAL-2026-007": 0.7, "DDE-2026-001": 0.85}


def test_a_firmly_filed_parent_still_wins_over_its_ancestors() -> None:
    moved = RoutedParent("parent@example.org", "assigned", "les-mimosas", "DDE-2026-002", confidence=1.0)
    root = RoutedParent("root@example.org", "assigned", "les-mimosas", "DDE-2026-001", confidence=0.9)
    reply = message(
        "RE: Fuite", in_reply_to=["parent@example.org"], references=["root@example.org", "parent@example.org"]
    )
    decision = route(reply, _context(MemoryIndex(routed=[moved, root])))
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-002")


# --- the same sender, minutes apart ---------------------------------------------------------------


def _burst(subject: str, minutes: int = 4, dossier: str = "DDE-2026-001", **fields: object) -> FiledMessage:
    values: dict[str, object] = {
        "message_id": f"first-{dossier}@plomberie.example",
        "date": WHEN - timedelta(minutes=minutes),
        "normalized_subject": subject,
    }
    values.update(fields)
    return _filed(dossier, **values)  # type: ignore[arg-type]


def test_a_second_mail_of_a_burst_joins_the_first_ones_dossier() -> None:
    index = MemoryIndex(sent=[_burst("devis fuite toiture")])
    decision = route(message("Photos fuite toiture", sender=PLUMBER, date=WHEN), _context(index))
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-001")
    assert decision.reason.startswith("participant_window:")
    assert decision.confidence == 0.55


def test_a_burst_needs_a_shared_word_a_different_subject_and_one_dossier() -> None:
    unrelated = MemoryIndex(sent=[_burst("ravalement")])
    same_subject = MemoryIndex(sent=[_burst("photos fuite toiture")])
    too_old = MemoryIndex(sent=[_burst("devis fuite toiture", minutes=30)])
    two = MemoryIndex(sent=[_burst("devis fuite"), _burst("fuite cave", dossier="DDE-2026-002")])
    for index in (unrelated, same_subject, too_old, two):
        decision = route(message("Photos fuite toiture", sender=PLUMBER, date=WHEN), _context(index))
        assert decision.dossier is None, index


def test_a_burst_never_crosses_buildings() -> None:
    index = MemoryIndex(sent=[_burst("devis fuite toiture", building="le-belvedere")])
    decision = route(message("Photos fuite toiture", sender=PLUMBER, date=WHEN), _context(index))
    assert decision.dossier is None
    assert decision.building == "les-mimosas"


# --- through the store ------------------------------------------------------------------------------


def _eml(folder: Path, name: str, headers: str, body: str) -> None:
    (folder / f"{name}.eml").write_text(
        f"{headers}Message-ID: <{name}@example.org>\nContent-Type: text/plain; charset=utf-8\n\n{body}"
    )


def test_the_store_finds_the_quoted_message_by_sender_and_date(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    _eml(
        folder,
        "devis",
        f"From: Plomberie Durand <{PLUMBER}>\nTo: {MIMOSAS}\nSubject: Devis fuite\n"
        "Date: Mon, 02 Mar 2026 09:30:00 +0100\n",
        "Ci-joint le devis.\n",
    )
    _eml(
        folder,
        "reply",
        f"From: gestion@example.org\nTo: {PLUMBER}\nSubject: RE: Devis fuite\n"
        "Date: Tue, 03 Mar 2026 11:00:00 +0100\n",
        OUTLOOK_QUOTE,
    )
    options = ImportOptions(RouteOptions(rules()), auto_dossiers=True)
    run_import(store, [folder], options)
    with store.session() as session:
        index = StoreIndex(session)
        found = index.messages_from(
            [PLUMBER], datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)
        )
        assert [(f.message_id, f.outcome, f.building) for f in found] == [
            ("devis@example.org", "assigned", "les-mimosas")
        ]
        keys = {row.message_id_norm: row.message_key for row in session.query(ParsedRow)}
        first = current_decision(session, keys["devis@example.org"])
        reply = current_decision(session, keys["reply@example.org"])
        assert first is not None and reply is not None
        assert reply.dossier_id == first.dossier_id
        assert reply.reason.startswith("quoted_header:")


# --- ties and fresh subjects ---------------------------------------------------------------------


def test_a_tie_goes_to_the_dossier_with_more_clues_else_to_review() -> None:
    one = RoutedParent("a@example.org", "assigned", "les-mimosas", "DDE-2026-001")
    two = RoutedParent("b@example.org", "assigned", "les-mimosas", "DDE-2026-002")
    three = RoutedParent("c@example.org", "assigned", "les-mimosas", "DDE-2026-002")
    refs = ["a@example.org", "b@example.org", "c@example.org"]
    decision = route(message("RE: Fuite", references=refs), _context(MemoryIndex(routed=[one, two, three])))
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-002")
    even = route(message("RE: Fuite", references=refs[:2]), _context(MemoryIndex(routed=[one, two])))
    assert _where(even) == ("needs_review", "les-mimosas", None)
    assert even.reason == "several dossiers equally likely: DDE-2026-001, DDE-2026-002"


def _candidate(sender: str, minutes: int = 60) -> Candidate:
    people = frozenset({sender, MIMOSAS})
    date = WHEN - timedelta(minutes=minutes)
    return Candidate("les-mimosas", "DDE-2026-001", "fuite toiture", date, people, sender)


def test_a_fresh_mail_joins_only_the_same_subject_by_someone_else() -> None:
    owner = "nathalie.petit@example.org"
    index = MemoryIndex(filed=[_candidate(owner)])
    by_other = route(message("Fuite toiture", sender=PLUMBER, to=[MIMOSAS], date=WHEN), _context(index))
    assert _where(by_other) == ("assigned", "les-mimosas", "DDE-2026-001")
    assert by_other.confidence == 0.7  # 0.75 + 0.05 shared participant - 0.1 without reply prefix
    by_same = route(message("Fuite toiture", sender=owner, to=[MIMOSAS], date=WHEN), _context(index))
    assert by_same.dossier is None
    near = route(message("Fuite toiture bat B", sender=PLUMBER, to=[MIMOSAS], date=WHEN), _context(index))
    assert near.dossier is None


def test_more_matching_messages_weigh_a_little_more() -> None:
    index = MemoryIndex(filed=[_candidate(PLUMBER, minutes=m) for m in (60, 120, 180)])
    decision = route(message("RE: Fuite toiture", sender=PLUMBER, to=[MIMOSAS], date=WHEN), _context(index))
    fuzzy = [e for e in decision.evidence if e.kind == "fuzzy_subject"]
    assert [(e.dossier, e.score) for e in fuzzy] == [("DDE-2026-001", 0.82)]
    assert "3 matching messages" in fuzzy[0].detail
