"""Quoted-header evidence, the cascade fixes and the sender's time window, as a specification.

A reply that lost its thread headers still quotes its parent; a reply to such a stray follows the
conversation, not the stray; a burst of mail from one sender stays together. None of it may file a
message into another building's dossier.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from dossiermail.domain import ParsedMessage, RoutingDecision
from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.rules.model import RoutingRules, RoutingThresholds
from dossiermail.store import Store
from dossiermail.store.models import ParsedRow
from dossiermail.store.repo import StoreIndex, current_decision
from dossiermail.threading import RoutedParent, RoutingContext, route
from dossiermail.threading.context import Candidate, FiledMessage
from tests.conftest import migrate_back_and_forth
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


# --- quoted names without address (``On Mon, 3 Nov 2003, Linus Torvalds wrote:``) ------------------

JEROME = "jerome.dupre@example.net"
NAMESAKE = "jd@other.example"
BODY = "Le plombier passera jeudi matin pour la fuite\nIl faudra laisser l'accès à la cave ouvert\n"


def _by_name(dossier: str, building: str = "les-mimosas", days: int = 1, **fields: object) -> FiledMessage:
    values: dict[str, object] = {
        "message_id": f"{dossier}-{building}-{days}@example.net",
        "sender": JEROME,
        "date": WHEN - timedelta(days=days),
        "new_text": "Bonjour,\n" + BODY + "Cordialement",
    }
    values.update(fields)
    return _filed(dossier, building=building, **values)


def _named(*filed: FiledMessage) -> RoutingContext:
    index = MemoryIndex(sent=list(filed), names={JEROME: "Jérôme Dupré", NAMESAKE: "Jérôme Dupré"})
    return _context(index)


def _reply(
    attribution: str, subject: str = "RE: Devis fuite", quoted: str = BODY, to: str = MIMOSAS
) -> ParsedMessage:
    text = "Merci.\n\n" + attribution + "\n" + "".join(f"> {line}\n" for line in quoted.splitlines())
    return message(subject, sender="gestion@example.org", to=[to], text=text, date=WHEN)


def test_a_quoted_name_finds_its_message_whatever_the_case_and_accents() -> None:
    for attribution in ("On Mon, 2 Mar 2026, JEROME DUPRE wrote:", "Le 2 mars 2026, Dupré Jérôme a écrit :"):
        decision = route(_reply(attribution, quoted="Ci-joint le devis."), _named(_by_name("DDE-2026-001")))
        assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-001"), attribution
        assert "same sender name, date and subject" in decision.reason


def test_a_quoted_date_without_time_stands_for_the_whole_day() -> None:
    evening = _by_name("DDE-2026-001", days=0, date=datetime(2026, 3, 2, 21, 40, tzinfo=UTC))
    decision = route(_reply("On Mon, 2 Mar 2026, Jerome Dupre wrote:"), _named(evening))
    assert decision.dossier == "DDE-2026-001"
    next_week = _by_name("DDE-2026-001", days=0, date=datetime(2026, 2, 20, 9, 0, tzinfo=UTC))
    missed = route(_reply("On Mon, 2 Mar 2026, Jerome Dupre wrote:"), _named(next_week))
    assert missed.dossier is None
    assert _quoted(missed) == [(None, 0.0)]


def test_a_name_without_date_searches_a_bounded_window_before_the_reply() -> None:
    recent = route(_reply("Jérôme Dupré wrote:"), _named(_by_name("DDE-2026-001", days=10)))
    assert recent.dossier == "DDE-2026-001"
    far = route(_reply("Jérôme Dupré wrote:"), _named(_by_name("DDE-2026-001", days=400)))
    assert far.dossier is None
    assert _quoted(far) == [(None, 0.0)]
    later = route(_reply("Jérôme Dupré wrote:"), _named(_by_name("DDE-2026-001", days=-1)))
    assert later.dossier is None


def test_namesakes_in_two_buildings_send_the_reply_to_review() -> None:
    here = _by_name("DDE-2026-001", days=3)
    there = _by_name("DDE-2026-004", building="le-belvedere", days=3, sender=NAMESAKE)
    decision = route(_reply("Jérôme Dupré wrote:"), _named(here, there))
    assert _where(decision) == ("needs_review", None, None)
    assert decision.reason == "evidence for several buildings: le-belvedere, les-mimosas"
    tied = [e.detail for e in decision.evidence if e.kind == "quoted_header" and e.score]
    assert len(tied) == 2 and all("2 namesakes' messages tied" in detail for detail in tied)


def test_namesakes_in_two_dossiers_of_one_building_send_the_reply_to_review() -> None:
    first, second = _by_name("DDE-2026-001", days=3), _by_name("DDE-2026-002", days=5, sender=NAMESAKE)
    decision = route(_reply("Jérôme Dupré wrote:"), _named(first, second))
    assert _where(decision) == ("needs_review", "les-mimosas", None)
    assert decision.reason == "several dossiers equally likely: DDE-2026-001, DDE-2026-002"


def test_a_name_match_in_another_building_sends_the_reply_to_review() -> None:
    there = _by_name("DDE-2026-004", building="le-belvedere")
    decision = route(_reply("On Mon, 2 Mar 2026, Jérôme Dupré wrote:"), _named(there))
    assert _where(decision) == ("needs_review", None, None)
    assert "le-belvedere" in decision.reason and "les-mimosas" in decision.reason


def test_a_name_is_not_searched_when_nothing_else_allows_a_building() -> None:
    reply = _reply("Jérôme Dupré wrote:", to="dossiers@" + AZUR)
    decision = route(reply, _named(_by_name("DDE-2026-001")))
    assert decision.outcome == "needs_review"
    details = [e.detail for e in decision.evidence if e.kind == "quoted_header"]
    assert details == ["a quoted name is only looked up inside a building the rest allows"]


def test_a_single_word_or_lower_case_phrase_is_no_quoted_name() -> None:
    for attribution in ("Jérôme wrote:", "and then he wrote:"):
        decision = route(_reply(attribution, subject="Bien reçu"), _named(_by_name("DDE-2026-001")))
        assert decision.dossier is None
        assert not _quoted(decision) or _quoted(decision) == [(None, 0.0)]


# --- quoted text --------------------------------------------------------------------------------------


def test_the_quoted_text_identifies_the_message_when_the_subject_changed() -> None:
    decision = route(_reply("Jérôme Dupré wrote:", subject="Accès cave"), _named(_by_name("DDE-2026-001")))
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-001")
    assert "same sender name, date and quoted text" in decision.reason


def test_quoted_text_picks_the_quoted_message_among_the_senders_mail() -> None:
    quoted = _by_name("DDE-2026-001", days=3)
    other = _by_name("DDE-2026-002", days=1, new_text="Autre sujet : la facture du syndic est arrivée hier")
    decision = route(_reply("Jérôme Dupré wrote:", subject="Accès cave"), _named(quoted, other))
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-001")


def test_short_or_absent_quoted_text_does_not_count() -> None:
    for quoted in ("ok\nmerci", "Le plombier passera vendredi soir pour une autre fuite"):
        decision = route(
            _reply("Jérôme Dupré wrote:", subject="Accès cave", quoted=quoted),
            _named(_by_name("DDE-2026-001")),
        )
        assert decision.dossier is None, quoted


def test_quoted_text_does_not_cross_buildings_either() -> None:
    there = _by_name("DDE-2026-004", building="le-belvedere")
    decision = route(_reply("Jérôme Dupré wrote:", subject="Accès cave"), _named(there))
    assert _where(decision) == ("needs_review", None, None)


def test_the_store_finds_a_quoted_name_through_its_index(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    _eml(
        folder,
        "visit",
        f"From: Jérôme Dupré <{JEROME}>\nTo: {MIMOSAS}\nSubject: Passage plombier\n"
        "Date: Mon, 02 Mar 2026 09:30:00 +0100\n",
        BODY,
    )
    _eml(
        folder,
        "answer",
        f"From: gestion@example.org\nTo: {MIMOSAS}\nSubject: Accès cave\n"
        "Date: Tue, 03 Mar 2026 11:00:00 +0100\n",
        "Ce sera ouvert.\n\nJEROME DUPRE wrote:\n" + "".join(f"> {line}\n" for line in BODY.splitlines()),
    )
    run_import(store, [folder], ImportOptions(RouteOptions(rules()), auto_dossiers=True))
    with store.session() as session:
        keys = {row.message_id_norm: row for row in session.query(ParsedRow)}
        assert keys["visit@example.org"].from_name_key == "dupre jerome"
        found = StoreIndex(session).messages_named(
            "dupre jerome", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)
        )
        assert [(f.message_id, f.building) for f in found] == [("visit@example.org", "les-mimosas")]
        assert "Il faudra laisser" in found[0].new_text
        first = current_decision(session, keys["visit@example.org"].message_key)
        answer = current_decision(session, keys["answer@example.org"].message_key)
        assert first is not None and answer is not None
        assert answer.dossier_id == first.dossier_id
        assert answer.reason.startswith("quoted_header:")


def test_a_burst_from_a_second_address_joins_by_the_senders_name() -> None:
    first = _burst("devis fuite toiture", sender="p.durand@other.example")
    names = {"p.durand@other.example": "Pierre Durand", PLUMBER: "Pierre Durand"}
    burst = message("Photos fuite toiture", sender=PLUMBER, date=WHEN)
    burst = replace(burst, from_=replace(burst.from_, name="DURAND Pierre")) if burst.from_ else burst
    decision = route(burst, _context(MemoryIndex(sent=[first], names=names)))
    assert _where(decision) == ("assigned", "les-mimosas", "DDE-2026-001")
    assert decision.reason.startswith("participant_window: p.durand@other.example wrote")
    elsewhere = _burst("devis fuite toiture", sender="p.durand@other.example", building="le-belvedere")
    apart = route(burst, _context(MemoryIndex(sent=[elsewhere], names=names)))
    assert apart.dossier is None
    nameless = route(
        message("Photos fuite toiture", sender=PLUMBER, date=WHEN),
        _context(MemoryIndex(sent=[first], names=names)),
    )
    assert nameless.dossier is None


def test_the_same_text_sent_to_two_buildings_follows_the_building_the_reply_names() -> None:
    here = _by_name("DDE-2026-001", days=1)
    there = _by_name("DDE-2026-004", building="le-belvedere", days=1, message_id="copy@example.net")
    to_belvedere = route(
        _reply("Jérôme Dupré <jerome.dupre@example.net> wrote:", "Accès", to=BELVEDERE), _named(here, there)
    )
    assert _where(to_belvedere) == ("assigned", "le-belvedere", "DDE-2026-004")
    to_mimosas = route(_reply("Jérôme Dupré <jerome.dupre@example.net> wrote:", "Accès"), _named(here, there))
    assert _where(to_mimosas) == ("assigned", "les-mimosas", "DDE-2026-001")


def test_migration_0008_fills_the_name_key_of_stored_messages(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    _eml(folder, "visit", f"From: Jérôme DUPRÉ <{JEROME}>\nTo: {MIMOSAS}\nSubject: Passage\n", BODY)
    run_import(store, [folder], ImportOptions(RouteOptions(rules())))
    migrate_back_and_forth(store, "0007")
    with store.engine.connect() as connection:
        found = connection.execute(text("SELECT from_name_key FROM parsed_messages")).scalar_one()
    assert found == "dupre jerome"
