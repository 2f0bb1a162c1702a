"""Visibility as a specification: what makes a message internal, and replies inherit it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from dossiermail.domain import RoutingDecision
from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.rules.model import RoutingRules, VisibilityRules
from dossiermail.store import Store
from dossiermail.store.models import ParsedRow
from dossiermail.store.repo import current_decision
from dossiermail.threading import RoutedParent, RoutingContext, route
from dossiermail.threading.context import FiledMessage
from tests.factories import AZUR, PLUMBER, MemoryIndex, message, rules

MIMOSAS = f"mimosas@{AZUR}"
GESTIONNAIRE = f"claire.martin@{AZUR}"
OWNER = "paul.leroy@example.org"


def _context(index: MemoryIndex | None = None, **visibility: object) -> RoutingContext:
    routing = RoutingRules(visibility=replace(VisibilityRules(), **visibility))  # type: ignore[arg-type]
    return RoutingContext(replace(rules(), routing=routing), index or MemoryIndex())


def _why(decision: RoutingDecision) -> list[str]:
    return [e.detail for e in decision.evidence if e.kind == "visibility"]


def test_an_ordinary_message_is_public_without_visibility_evidence() -> None:
    decision = route(message("Fuite au plafond", to=[MIMOSAS]), _context())
    assert (decision.visibility, _why(decision)) == ("public", [])


def test_an_internal_subject_tag_makes_it_internal() -> None:
    decision = route(message("[interne] Point sur le contentieux", to=[MIMOSAS]), _context())
    assert decision.visibility == "internal"
    assert _why(decision) == ["internal: subject tag [INTERNE]"]


def test_the_internal_alias_makes_it_internal_and_still_names_the_building() -> None:
    alias = f"dossiers+les-mimosas+interne@{AZUR}"
    decision = route(message("Point contentieux", sender=GESTIONNAIRE, to=[alias]), _context())
    assert decision.visibility == "internal"
    assert decision.building == "les-mimosas"
    assert _why(decision) == [f"internal: sent to the internal alias {alias}"]


def test_a_gestionnaire_forward_to_a_supplier_is_internal_but_not_to_an_owner() -> None:
    to_supplier = message("TR : Fuite au plafond", sender=GESTIONNAIRE, to=[PLUMBER])
    to_owner = message("TR : Fuite au plafond", sender=GESTIONNAIRE, to=[PLUMBER], cc=[OWNER])
    by_owner = message("TR : Fuite au plafond", sender=OWNER, to=[PLUMBER])
    assert route(to_supplier, _context()).visibility == "internal"
    assert route(to_owner, _context()).visibility == "public"
    assert route(by_owner, _context()).visibility == "public"
    assert route(to_supplier, _context(internal_forwards=False)).visibility == "public"


def test_a_reply_inherits_the_visibility_of_its_parent() -> None:
    parent = RoutedParent("fwd@example.org", "assigned", "les-mimosas", "DDE-2026-001", visibility="internal")
    reply = message("RE: TR : Fuite", sender=PLUMBER, in_reply_to=["fwd@example.org"])
    decision = route(reply, _context(MemoryIndex(routed=[parent])))
    assert (decision.visibility, decision.dossier) == ("internal", "DDE-2026-001")
    assert _why(decision) == ["internal: replies to the internal message <fwd@example.org>"]
    public = replace(parent, visibility="public")
    assert route(reply, _context(MemoryIndex(routed=[public]))).visibility == "public"


def test_shared_references_pass_visibility_only_through_a_missing_parent() -> None:
    internal = RoutedParent(
        "ghost@example.org", "assigned", "les-mimosas", "DDE-2026-001", visibility="internal"
    )
    reply = message("RE: TR : Fuite", sender=PLUMBER, in_reply_to=["ghost@example.org"])
    decision = route(reply, _context(MemoryIndex(links=[internal])))
    assert _why(decision) == [
        "internal: answers the same missing message <ghost@example.org> as an internal one"
    ]
    # the parent is stored (and public): a sibling's internal forward does not make this reply internal
    root = RoutedParent("ghost@example.org", "assigned", "les-mimosas", "DDE-2026-001")
    owner_reply = message("RE: Fuite", sender=OWNER, in_reply_to=["ghost@example.org"])
    assert route(owner_reply, _context(MemoryIndex(routed=[root], links=[internal]))).visibility == "public"


def test_a_reply_without_headers_inherits_through_its_quoted_header() -> None:
    quoted = FiledMessage(
        "fwd@example.org",
        GESTIONNAIRE,
        datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
        "fuite",
        "assigned",
        "les-mimosas",
        "DDE-2026-001",
        visibility="internal",
    )
    text = (
        "Je passe jeudi.\n\nLe lun. 2 mars 2026 à 09:30, Claire Martin "
        f"<{GESTIONNAIRE}> a écrit :\n> Pouvez-vous passer ?\n"
    )
    reply = message("RE: TR : Fuite", sender=PLUMBER, text=text)
    decision = route(reply, _context(MemoryIndex(sent=[quoted])))
    assert decision.visibility == "internal"
    assert _why(decision) == ["internal: quotes the internal message <fwd@example.org>"]


def _eml(folder: Path, name: str, headers: str) -> None:
    (folder / f"{name}.eml").write_text(
        f"{headers}Message-ID: <{name}@example.org>\nContent-Type: text/plain; charset=utf-8\n\nBonjour.\n"
    )


def test_the_stored_decision_keeps_the_inherited_visibility(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    _eml(
        folder,
        "fwd",
        f"From: {GESTIONNAIRE}\nTo: {PLUMBER}\nCc: {MIMOSAS}\nSubject: TR : Fuite\n"
        "Date: Mon, 02 Mar 2026 09:30:00 +0100\n",
    )
    _eml(
        folder,
        "answer",
        f"From: {PLUMBER}\nTo: {GESTIONNAIRE}\nSubject: RE: TR : Fuite\n"
        "Date: Mon, 02 Mar 2026 11:00:00 +0100\nIn-Reply-To: <fwd@example.org>\n",
    )
    run_import(store, [folder], ImportOptions(RouteOptions(rules()), auto_dossiers=True))
    with store.session() as session:
        keys = {row.message_id_norm: row.message_key for row in session.query(ParsedRow)}
        forward = current_decision(session, keys["fwd@example.org"])
        answer = current_decision(session, keys["answer@example.org"])
        assert forward is not None and answer is not None
        assert (forward.visibility, answer.visibility) == ("internal", "internal")
        assert answer.dossier_id == forward.dossier_id
        assert [e.kind for e in answer.evidence][-1] == "visibility"
