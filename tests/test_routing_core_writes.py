"""Routing's Core reads and writes (SQLite and PostgreSQL) keep the session's loaded rows in step."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text

from dossiermail.domain import RoutingDecision
from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions, decide
from dossiermail.parse.quoted_headers import quoted_headers
from dossiermail.store import Store
from dossiermail.store.models import ParsedRow, RawMessage
from dossiermail.store.repo import current_decision, save_decision
from tests.factories import AZUR, rules

OWNER = "marie.dupont@example.org"


def _imported(store: Store, tmp_path: Path) -> str:
    """One message imported and routed; its key."""
    (tmp_path / "a.eml").write_text(
        f"From: {OWNER}\nTo: mimosas@{AZUR}\nSubject: Fuite toiture\nMessage-ID: <a@example.org>\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0100\nContent-Type: text/plain; charset=utf-8\n\nBonjour.\n"
    )
    run_import(store, [tmp_path], ImportOptions(RouteOptions(rules()), auto_dossiers=True))
    with store.session() as session:
        key: str | None = session.scalar(select(ParsedRow.message_key))
    assert key is not None
    return key


def test_a_decision_held_in_the_session_sees_itself_superseded(store: Store, tmp_path: Path) -> None:
    key = _imported(store, tmp_path)
    with store.session() as session:
        held = current_decision(session, key)
        assert held is not None and held.superseded_at is None
        manual = RoutingDecision("needs_review", None, None, 0.0, (), "test", "re-examined")
        new_id = save_decision(session, key, manual)
        assert held.superseded_at is not None
        current = current_decision(session, key)
        assert current is not None and current.id == new_id and current.reason == "re-examined"


def test_routing_marks_the_loaded_raw_row_and_the_stored_one(store: Store, tmp_path: Path) -> None:
    key = _imported(store, tmp_path)
    with store.session() as session:
        raw = session.get(RawMessage, key)
        assert raw is not None
        raw.state = "parsed"
        session.flush()
        assert decide(session, key, RouteOptions(rules())) is not None
        assert raw.state == "routed"
        stored = session.execute(text("SELECT state FROM raw_messages WHERE key = :k"), {"k": key})
        assert stored.scalar_one() == "routed"
    with store.session() as session:
        assert session.scalars(select(RawMessage.state).where(RawMessage.key == key)).one() == "routed"


def test_attributions_are_found_on_one_line_or_wrapped_over_two() -> None:
    text_ = (
        "Merci.\n\n"
        "Le lun. 2 mars 2026 à 10:00, Marie Dupont <marie.dupont@example.org>\na écrit :  \n"
        "> Bonjour, la toiture fuit encore au-dessus du lot 12.\n\n"
        "On Mon, Mar 1, 2026 at 9:00 AM, Bob <bob@example.org> wrote:\n> Earlier text.\n"
    )
    found = quoted_headers(text_)
    assert [h.sender for h in found] == ["marie.dupont@example.org", "bob@example.org"]
    assert quoted_headers("No colon anywhere\n> quoted line\n") == ()
