"""A generated multi-building week: the traps that would show one co-owner another building's mail.

Three buildings. The same plumber works in two of them the same week; "Fuite toiture" is opened in
two buildings; an owner has lots in two buildings; replies come with and without thread headers and
often without the building address. Each message is labelled with its true building, or None when
nothing in the message can tell which building it is about (it must then go to review).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from dossiermail.ingest.identity import content_key
from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.rules.model import Building, Contact, RoutingRules, Rules
from dossiermail.store import open_store
from dossiermail.store.models import BuildingRow, DecisionRow

DOMAIN = "cabinet-azur.example.fr"
PLUMBER = "devis@plomberie-durand.example.com"
OWNER_AC = "paul.leroy@example.org"
COUNCIL_B = "cs.belvedere@example.org"
ROOFER_A = "contact@toitures-sud.example.com"
SLUGS = ("les-mimosas", "le-belvedere", "les-tilleuls")


@dataclass(frozen=True)
class Mail:
    """One generated message and the building it truly belongs to (None: undecidable)."""

    name: str
    subject: str
    sender: str
    to: tuple[str, ...]
    day: int
    truth: str | None
    reply_to: str | None = None


@dataclass(frozen=True)
class ScenarioResult:
    """What the scenario prints."""

    messages: int
    wrong_building: int
    ambiguous: int
    ambiguous_in_review: int
    assigned_right: int


def scenario_rules(steps: tuple[str, ...]) -> Rules:
    """Three buildings; a plumber of two, an owner of two, a council member and a roofer of one."""
    return Rules(
        directory="bench",
        version="bench-scenario",
        dossier_address=f"dossiers@{DOMAIN}",
        buildings=tuple(Building(s, s, "", (f"{s}@{DOMAIN}",)) for s in SLUGS),
        contacts=(
            Contact(PLUMBER, "Plomberie Durand", "fournisseur", ("les-mimosas", "le-belvedere")),
            Contact(OWNER_AC, "Paul Leroy", "coproprietaire", ("les-mimosas", "les-tilleuls"), (12, 40)),
            Contact(COUNCIL_B, "Conseil syndical", "conseil_syndical", ("le-belvedere",)),
            Contact(ROOFER_A, "Toitures du Sud", "fournisseur", ("les-mimosas",)),
        ),
        routing=RoutingRules(steps=steps),
    )


def _address(slug: str) -> str:
    return f"{slug}@{DOMAIN}"


def _week(week: int) -> list[Mail]:
    """One week of traffic; ``week`` varies the days so weeks do not collide."""
    d, w = week * 7, f"w{week}"
    a, b, c = SLUGS
    return [
        Mail(f"{w}-a1", "Fuite toiture", "lot3@example.net", (_address(a),), d + 1, a),
        Mail(f"{w}-b1", "Fuite toiture", "lot7@example.net", (_address(b),), d + 1, b),
        Mail(f"{w}-a2", "RE : Fuite toiture", PLUMBER, ("gestion@example.net",), d + 2, None),
        Mail(f"{w}-b2", "RE : Fuite toiture", PLUMBER, (_address(b),), d + 2, b, reply_to=f"{w}-b1"),
        Mail(f"{w}-a3", "TR : Fuite toiture", ROOFER_A, ("gestion@example.net",), d + 3, a),
        Mail(f"{w}-b3", "RE : Fuite toiture bât B", COUNCIL_B, ("gestion@example.net",), d + 3, b),
        Mail(f"{w}-a4", "RE : Fuite toiture", PLUMBER, ("gestion@example.net",), d + 3, a, f"{w}-a1"),
        Mail(f"{w}-x1", "Question sur mes charges", OWNER_AC, ("gestion@example.net",), d + 4, None),
        Mail(f"{w}-c1", "Question sur mes charges", OWNER_AC, (_address(c),), d + 4, c),
        Mail(f"{w}-c2", "RE : Question sur mes charges", OWNER_AC, ("gestion@example.net",), d + 5, None),
        Mail(f"{w}-ab", "RE : Fuite toiture", PLUMBER, (_address(a), _address(b)), d + 5, None),
        Mail(f"{w}-b4", "Réf : Fuite toiture", COUNCIL_B, ("gestion@example.net",), d + 6, b),
    ]


def _eml(mail: Mail) -> bytes:
    day = 1 + mail.day % 28
    month = 1 + mail.day // 28
    lines = [
        f"From: {mail.sender}",
        f"To: {', '.join(mail.to)}",
        f"Subject: {mail.subject}",
        f"Message-ID: <{mail.name}@bench.example>",
        f"Date: {day:02d} {('Jan', 'Feb', 'Mar', 'Apr')[month - 1]} 2026 10:00:00 +0100",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if mail.reply_to:
        lines.append(f"In-Reply-To: <{mail.reply_to}@bench.example>")
    return ("\n".join(lines) + "\n\nBonjour,\ncordialement.\n").encode()


def run_scenario(steps: tuple[str, ...], weeks: int = 4) -> ScenarioResult:
    """Import the generated weeks (``--auto-dossiers``) and count wrong buildings and reviews."""
    mails = [m for week in range(weeks) for m in _week(week)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "mail"
        folder.mkdir()
        for mail in mails:
            (folder / f"{mail.name}.eml").write_bytes(_eml(mail))
        store = open_store(f"sqlite:///{tmp}/scenario.db")
        try:
            options = ImportOptions(RouteOptions(scenario_rules(steps)), auto_dossiers=True)
            run_import(store, [folder], options)
            with store.session() as session:
                query = (
                    select(DecisionRow.message_key, DecisionRow.outcome, BuildingRow.slug)
                    .outerjoin(BuildingRow, BuildingRow.id == DecisionRow.building_id)
                    .where(DecisionRow.superseded_at.is_(None))
                )
                routed = {k: (o, s) for k, o, s in session.execute(query)}
        finally:
            store.dispose()
    return _count(mails, routed)


def _count(mails: list[Mail], routed: Mapping[str, tuple[str, str | None]]) -> ScenarioResult:
    wrong = ambiguous = in_review = right = 0
    for mail in mails:
        outcome, slug = routed[content_key(_eml(mail))]
        assigned = outcome == "assigned"
        wrong += assigned and slug != mail.truth
        right += assigned and slug == mail.truth
        ambiguous += mail.truth is None
        in_review += mail.truth is None and outcome == "needs_review"
    return ScenarioResult(len(mails), wrong, ambiguous, in_review, right)
