"""Routing cost against the number of open dossiers: 1k versus 10k, generated straight into SQLite.

Each dossier holds one filed message whose subject comes from a French vocabulary, dated over two
years. The timed messages are replies without thread headers to a building address, so every one
runs the fuzzy-subject lookup (the only collector whose cost could grow with the dossier count).
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from dossiermail.domain import Address, ParsedMessage
from dossiermail.parse.subject import normalize_subject
from dossiermail.rules.model import Building, RoutingRules, Rules
from dossiermail.store import open_store
from dossiermail.store.models import BuildingRow, DecisionRow, DossierRow, ParsedRow, RawMessage
from dossiermail.store.repo import StoreIndex
from dossiermail.threading import RoutingContext, route
from dossiermail.threading.context import subject_block

TOPICS = (
    "fuite", "infiltration", "ascenseur", "devis", "facture", "ravalement", "toiture", "chauffage",
    "interphone", "portail", "nettoyage", "espaces verts", "elagage", "compteur", "assemblee",
    "travaux", "sinistre", "degat des eaux", "canalisation", "porte de garage",
)  # fmt: skip
PLACES = ("hall", "cave", "parking", "bat a", "bat b", "escalier", "local poubelles", "toit terrasse")
START = datetime(2024, 1, 1, tzinfo=UTC)
BUILDINGS = 20
TIMED = 300
ROUNDS = 3
SENDER = "someone@example.org"


def _subject(rng: random.Random) -> str:
    return f"{rng.choice(TOPICS)} {rng.choice(PLACES)} lot {rng.randint(1, 400)}"


def _fill(session: Session, count: int, rng: random.Random) -> list[str]:
    """``count`` open dossiers, each with one filed message; returns their subjects."""
    buildings = [_building(i) for i in range(BUILDINGS)]
    session.add_all(buildings)
    session.flush()
    subjects = []
    for number in range(count):
        subject = _subject(rng)
        subjects.append(subject)
        date = START + timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
        _filed(session, buildings[number % BUILDINGS], number, subject, date)
    session.flush()
    return subjects


def _building(number: int) -> BuildingRow:
    return BuildingRow(slug=f"b{number:02d}", name=f"b{number:02d}", address="", origin="bench")


def _filed(session: Session, building: BuildingRow, number: int, subject: str, date: datetime) -> None:
    key = f"bench-{number:08d}"
    reference = f"GEN-{number:06d}"
    dossier = DossierRow(building_id=building.id, reference=reference, title=subject, status="ouvert")
    raw = RawMessage(key=key, raw=b"", size=0, channel="import", source="bench", received_at=date)
    raw.state = "routed"
    session.add_all([raw, dossier])
    session.flush()
    normalized = normalize_subject(subject)
    parsed = ParsedRow(message_key=key, subject=subject, normalized_subject=normalized, date=date)
    parsed.subject_block, parsed.from_email, parsed.to, parsed.cc = subject_block(normalized), SENDER, [], []
    session.add(parsed)
    session.flush()
    decision = DecisionRow(
        message_key=key, outcome="assigned", building_id=building.id, dossier_id=dossier.id
    )
    decision.confidence, decision.reason, decision.rules_version = 0.9, "bench", "bench"
    decision.waiting_for, decision.decided_at = [], date
    decision.subject_block, decision.message_date = parsed.subject_block, date  # as save_decision does
    session.add(decision)


def _reply(subject: str, number: int, rng: random.Random) -> ParsedMessage:
    date = START + timedelta(days=rng.randint(0, 2 * 365))
    text = f"RE : {subject}"
    return ParsedMessage(
        f"timed-{number}", f"<timed-{number}@bench>", (), (), text, normalize_subject(text),
        Address("", "someone@example.org"), (Address("", f"b{number % BUILDINGS:02d}@bench.example"),),
        (), date, "", None, "", "", "", (), None, (),
    )  # fmt: skip


def _rules(steps: tuple[str, ...]) -> Rules:
    buildings = tuple(
        Building(f"b{i:02d}", f"b{i:02d}", "", (f"b{i:02d}@bench.example",)) for i in range(BUILDINGS)
    )
    return Rules("bench", "bench-timing", buildings=buildings, routing=RoutingRules(steps=steps))


def _timed(replies: list[ParsedMessage], context: RoutingContext) -> float:
    started = time.perf_counter()
    for reply in replies:
        route(reply, context)
    return time.perf_counter() - started


def time_routing(open_dossiers: int, steps: tuple[str, ...]) -> float:
    """Seconds to route one headerless reply with ``open_dossiers`` open dossiers in the store
    (best of ``ROUNDS`` rounds over the same replies: the machine is shared)."""
    rng = random.Random(open_dossiers)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/timing.db")
        try:
            with store.session() as session:
                subjects = _fill(session, open_dossiers, rng)
            replies = [_reply(rng.choice(subjects), n, rng) for n in range(TIMED)]
            with store.session() as session:
                context = RoutingContext(_rules(steps), StoreIndex(session))
                for reply in replies[:20]:
                    route(replace(reply, message_key="warm-" + reply.message_key), context)
                elapsed = min(_timed(replies, context) for _ in range(ROUNDS))
        finally:
            store.dispose()
    return elapsed / TIMED
