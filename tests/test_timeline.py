"""Specification of dossier timelines and building overviews, read from a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, update

from dossiermail.store.models import DecisionRow
from dossiermail.timeline import (
    TimelineLookupError,
    build_timeline,
    building_overview,
    building_slugs,
    building_timelines,
    dossier_heads,
)
from tests.conftest_publish import Mail, Mailroom, open_mailroom

PARIS_WINTER = timezone(timedelta(hours=1))
NEW_YORK_WINTER = timezone(timedelta(hours=-5))


def at(day: int, hour: int, minute: int = 0, tz: timezone = PARIS_WINTER) -> datetime:
    """A moment in March 2026 at the given offset."""
    return datetime(2026, 3, day, hour, minute, tzinfo=tz)


@pytest.fixture
def mailroom(store_url: str) -> Iterator[Mailroom]:
    """A fresh store on SQLite and, with the ``postgres`` mark, on PostgreSQL."""
    with open_mailroom(store_url) as room:
        yield room


def test_messages_are_chronological_even_when_stored_out_of_order(mailroom: Mailroom) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    third = mailroom.message(dossier, Mail(date=at(5, 9)))
    first = mailroom.message(dossier, Mail(date=at(3, 10, 12)))
    second = mailroom.message(dossier, Mail(date=at(4, 16, 30, NEW_YORK_WINTER)))

    timeline = build_timeline(mailroom.session, dossier.id)

    assert [entry.message_key for entry in timeline.entries] == [first, second, third]
    assert timeline.message_count == 3
    assert timeline.last_activity == at(5, 9)


def test_a_message_without_date_is_placed_by_its_reception_time(mailroom: Mailroom) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    late = mailroom.message(dossier, Mail(date=at(6, 9)))
    undated = mailroom.message(dossier, Mail(date=None, received_at=at(4, 12)))
    early = mailroom.message(dossier, Mail(date=at(2, 9)))

    entries = build_timeline(mailroom.session, dossier.id).entries

    assert [entry.message_key for entry in entries] == [early, undated, late]
    assert entries[1].date is None
    assert entries[1].when == at(4, 12)


def test_messages_of_the_same_moment_are_ordered_by_message_key(mailroom: Mailroom) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    for key in ("c", "a", "b"):
        mailroom.message(dossier, Mail(date=at(3, 10), key=key))

    entries = build_timeline(mailroom.session, dossier.id).entries

    assert [entry.message_key for entry in entries] == ["a", "b", "c"]


def test_the_date_is_shown_at_the_senders_own_offset(mailroom: Mailroom) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.message(dossier, Mail(date=at(3, 4, 12, NEW_YORK_WINTER)))

    (entry,) = build_timeline(mailroom.session, dossier.id).entries

    assert entry.date == datetime(2026, 3, 3, 9, 12, tzinfo=UTC)
    assert entry.date is not None
    assert entry.date.utcoffset() == timedelta(hours=-5)


def test_only_current_assignments_to_this_dossier_belong_to_it(mailroom: Mailroom) -> None:
    building = mailroom.building("tilleuls")
    dossier = mailroom.dossier(building, "DDE-2026-014")
    other = mailroom.dossier(building, "DDE-2026-015")
    kept = mailroom.message(dossier, Mail(date=at(3, 10)))
    mailroom.message(dossier, Mail(date=at(3, 11), superseded=True))
    mailroom.message(dossier, Mail(date=at(3, 12), outcome="needs_review"))
    mailroom.message(other, Mail(date=at(3, 13)))

    entries = build_timeline(mailroom.session, dossier.id).entries

    assert [entry.message_key for entry in entries] == [kept]


def test_a_rerouted_message_appears_only_in_its_new_dossier(mailroom: Mailroom) -> None:
    building = mailroom.building("tilleuls")
    old = mailroom.dossier(building, "DDE-2026-014")
    new = mailroom.dossier(building, "DDE-2026-015")
    key = mailroom.message(old, Mail(date=at(3, 10), superseded=True))
    mailroom.decide(key, new)

    assert build_timeline(mailroom.session, old.id).entries == ()
    assert [e.message_key for e in build_timeline(mailroom.session, new.id).entries] == [key]


@pytest.mark.parametrize(
    ("from_name", "contact", "expected_name"),
    [
        ("Jean Dupont", ("Jean-Marc Dupont", "coproprietaire"), "Jean Dupont"),
        ("", ("Plomberie Martin", "fournisseur"), "Plomberie Martin"),
        ("  ", ("", "gestionnaire"), "Gestionnaire"),
        ("", None, "Correspondant"),
        ("jean.dupont@example.fr", None, "Correspondant"),
        ('"jean.dupont@example.fr"', ("Jean Dupont", "conseil_syndical"), "Jean Dupont"),
        ("", ("compta@example.fr", "fournisseur"), "Prestataire"),
    ],
)
def test_sender_name_falls_back_to_contact_then_role_then_correspondant_never_an_address(
    mailroom: Mailroom,
    from_name: str,
    contact: tuple[str, str] | None,
    expected_name: str,
) -> None:
    if contact is not None:
        mailroom.contact("Jean.Dupont@Example.fr", *contact)
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.message(dossier, Mail(date=at(3, 10), from_name=from_name, from_email="jean.dupont@example.fr"))

    (entry,) = build_timeline(mailroom.session, dossier.id).entries

    assert entry.sender_name == expected_name
    assert entry.sender_role == (contact[1] if contact else None)


def test_a_sender_without_address_is_a_correspondant(mailroom: Mailroom) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.message(dossier, Mail(date=at(3, 10), from_name="", from_email=None))

    (entry,) = build_timeline(mailroom.session, dossier.id).entries

    assert (entry.sender_name, entry.sender_role) == ("Correspondant", None)


def test_text_is_the_new_part_or_the_whole_body_when_nothing_was_split(
    mailroom: Mailroom,
) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.message(
        dossier,
        Mail(date=at(3, 10), text="Réponse\n> ancien", new_text="Réponse", quoted_text="ancien"),
    )
    mailroom.message(dossier, Mail(date=at(3, 11), text="Tout le corps", new_text=""))

    first, second = build_timeline(mailroom.session, dossier.id).entries

    assert (first.text, first.quoted_text) == ("Réponse", "ancien")
    assert second.text == "Tout le corps"


def test_attachments_are_listed_in_message_order(mailroom: Mailroom) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.message(
        dossier,
        Mail(
            date=at(3, 10),
            attachments=[("devis.pdf", "application/pdf", 86016), ("photo.jpg", "image/jpeg", 10)],
        ),
    )

    (entry,) = build_timeline(mailroom.session, dossier.id).entries

    assert [(a.filename, a.content_type, a.size) for a in entry.attachments] == [
        ("devis.pdf", "application/pdf", 86016),
        ("photo.jpg", "image/jpeg", 10),
    ]


def test_timeline_names_its_building_and_dossier(mailroom: Mailroom) -> None:
    building = mailroom.building("tilleuls", name="Résidence Les Tilleuls")
    dossier = mailroom.dossier(
        building, "DDE-2026-014", title="Fuite", status="a_qualifier", category="sinistre"
    )

    timeline = build_timeline(mailroom.session, dossier.id)

    assert (timeline.building_slug, timeline.building_name) == (
        "tilleuls",
        "Résidence Les Tilleuls",
    )
    assert (timeline.reference, timeline.title, timeline.status, timeline.category) == (
        "DDE-2026-014",
        "Fuite",
        "a_qualifier",
        "sinistre",
    )
    assert (timeline.entries, timeline.last_activity, timeline.message_count) == ((), None, 0)


def test_an_unknown_dossier_is_a_lookup_error(mailroom: Mailroom) -> None:
    with pytest.raises(TimelineLookupError, match="unknown dossier id 404"):
        build_timeline(mailroom.session, 404)


def test_overview_counts_messages_and_lists_latest_activity_first(mailroom: Mailroom) -> None:
    building = mailroom.building("tilleuls", address="12 rue des Tilleuls, Lyon")
    quiet = mailroom.dossier(building, "DDE-2026-001", title="Ascenseur")
    busy = mailroom.dossier(building, "DDE-2026-002", title="Toiture")
    empty = mailroom.dossier(building, "DDE-2026-003", title="Sans mail")
    mailroom.message(quiet, Mail(date=at(2, 9)))
    mailroom.message(busy, Mail(date=at(3, 9)))
    mailroom.message(busy, Mail(date=None, received_at=at(8, 18)))
    mailroom.message(busy, Mail(date=at(4, 9), superseded=True))

    overview = building_overview(mailroom.session, "tilleuls")

    assert (overview.slug, overview.address) == ("tilleuls", "12 rue des Tilleuls, Lyon")
    assert [(d.dossier_id, d.message_count, d.last_activity) for d in overview.dossiers] == [
        (busy.id, 2, at(8, 18)),
        (quiet.id, 1, at(2, 9)),
        (empty.id, 0, None),
    ]


def test_overview_never_shows_another_buildings_dossiers(mailroom: Mailroom) -> None:
    tilleuls = mailroom.building("tilleuls")
    platanes = mailroom.building("platanes")
    ours = mailroom.dossier(tilleuls, "DDE-2026-001")
    theirs = mailroom.dossier(platanes, "DDE-2026-002")
    mailroom.message(theirs, Mail(date=at(3, 9)))

    overview = building_overview(mailroom.session, "tilleuls")

    assert [d.dossier_id for d in overview.dossiers] == [ours.id]


def test_overview_runs_the_same_number_of_queries_for_many_dossiers(mailroom: Mailroom) -> None:
    small = mailroom.building("petit")
    large = mailroom.building("grand")
    mailroom.message(mailroom.dossier(small, "A-1"), Mail(date=at(3, 9)))
    for number in range(12):
        mailroom.message(mailroom.dossier(large, f"B-{number}"), Mail(date=at(3, 9)))

    assert 1 <= count_queries(mailroom, "grand") == count_queries(mailroom, "petit") <= 3


def test_an_unknown_building_is_a_lookup_error(mailroom: Mailroom) -> None:
    with pytest.raises(TimelineLookupError, match="unknown building 'nulle-part'"):
        building_overview(mailroom.session, "nulle-part")


def test_building_slugs_are_sorted(mailroom: Mailroom) -> None:
    for slug in ("tilleuls", "acacias", "platanes"):
        mailroom.building(slug)

    assert building_slugs(mailroom.session) == ["acacias", "platanes", "tilleuls"]


def count_queries(mailroom: Mailroom, slug: str) -> int:
    """How many SQL statements ``building_overview`` sends for ``slug``."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    engine = mailroom.session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        mailroom.session.expire_all()
        building_overview(mailroom.session, slug)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def test_building_timelines_gather_every_dossier_with_visibility_participants_and_lots(
    mailroom: Mailroom,
) -> None:
    tilleuls = mailroom.building("tilleuls")
    leak = mailroom.dossier(tilleuls, "DDE-2026-014")
    works = mailroom.dossier(tilleuls, "TRV-2026-002")
    mailroom.dossier(mailroom.building("platanes"), "DDE-2026-099")
    mailroom.message(leak, Mail(date=at(3, 9), from_email="Jean@Example.fr", to=["syndic@example.fr"]))
    mailroom.message(leak, Mail(date=at(4, 9), visibility="internal"))
    mailroom.lots(works, 17, 12)

    timelines = building_timelines(mailroom.session, "tilleuls")

    assert [t.reference for t in timelines] == ["DDE-2026-014", "TRV-2026-002"]
    first, second = timelines[0].entries
    assert first.participants == ("jean@example.fr", "syndic@example.fr")
    assert [first.visibility, second.visibility] == ["public", "internal"]
    assert timelines[1].lots == (12, 17)
    assert timelines[1].entries == ()
    with pytest.raises(TimelineLookupError, match="unknown building 'nulle-part'"):
        building_timelines(mailroom.session, "nulle-part")


def test_dossier_heads_fingerprint_each_dossier_without_reading_its_mail(mailroom: Mailroom) -> None:
    tilleuls = mailroom.building("tilleuls")
    leak = mailroom.dossier(tilleuls, "DDE-2026-014", "Fuite")
    works = mailroom.dossier(tilleuls, "TRV-2026-002", "Ravalement")
    mailroom.dossier(mailroom.building("platanes"), "DDE-2026-001", "Toiture")
    key = mailroom.message(leak, Mail(date=at(2, 9)))
    mailroom.lots(works, 12, 4)

    def sources() -> dict[str, str]:
        return {head.reference: head.source for head in dossier_heads(mailroom.session, "tilleuls")}

    heads = dossier_heads(mailroom.session, "tilleuls")
    assert [(h.reference, h.title, h.status, h.lots) for h in heads] == [
        ("DDE-2026-014", "Fuite", "ouvert", ()),
        ("TRV-2026-002", "Ravalement", "ouvert", (4, 12)),
    ]
    first = sources()
    assert dossier_heads(mailroom.session, "tilleuls") == heads

    mailroom.message(leak, Mail(date=at(3, 9), visibility="internal"))
    after_message = sources()
    mailroom.session.execute(
        update(DecisionRow)
        .where(DecisionRow.message_key == key, DecisionRow.dossier_id == leak.id)
        .values(superseded_at=at(4, 9))
    )
    mailroom.decide(key, works)
    after_move = sources()
    mailroom.lots(works, 7)
    after_lots = sources()
    works.status = "clos"
    mailroom.session.flush()
    after_close = sources()

    assert after_message["DDE-2026-014"] != first["DDE-2026-014"]
    assert after_message["TRV-2026-002"] == first["TRV-2026-002"]
    assert after_move["DDE-2026-014"] != after_message["DDE-2026-014"]
    assert after_move["TRV-2026-002"] != after_message["TRV-2026-002"]
    assert after_lots["TRV-2026-002"] != after_move["TRV-2026-002"]
    assert after_close["TRV-2026-002"] != after_lots["TRV-2026-002"]
    assert after_close["DDE-2026-014"] == after_move["DDE-2026-014"]
    with pytest.raises(TimelineLookupError):
        dossier_heads(mailroom.session, "nulle-part")


def test_building_timelines_can_load_only_some_dossiers(mailroom: Mailroom) -> None:
    tilleuls = mailroom.building("tilleuls")
    leak = mailroom.dossier(tilleuls, "DDE-2026-014")
    works = mailroom.dossier(tilleuls, "TRV-2026-002")
    mailroom.message(leak, Mail(date=at(2, 9)))
    mailroom.message(works, Mail(date=at(3, 9)))

    only = building_timelines(mailroom.session, "tilleuls", [works.id])

    assert [(t.reference, t.message_count) for t in only] == [("TRV-2026-002", 1)]
    assert building_timelines(mailroom.session, "tilleuls", []) == ()
