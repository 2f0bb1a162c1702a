"""Small builders for tests: parsed messages, rules and an in-memory routing index."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dossiermail.domain import Address, ParsedMessage
from dossiermail.parse import quoted_headers
from dossiermail.parse.subject import normalize_subject
from dossiermail.rules.model import Building, Contact, Rules
from dossiermail.threading import KnownDossier, RoutedParent
from dossiermail.threading.context import Candidate, FiledMessage, subject_block

AZUR = "cabinet-azur.example.fr"
PLUMBER = "devis@plomberie-durand.example.com"
BOTH = ("les-mimosas", "le-belvedere")


def rules() -> Rules:
    """Two buildings, a gestionnaire, a plumber of one building, an owner with lots in both."""
    return Rules(
        directory="test",
        version="test-rules",
        dossier_address=f"dossiers@{AZUR}",
        buildings=(
            Building("les-mimosas", "Résidence Les Mimosas", "12 av. des Fleurs", (f"mimosas@{AZUR}",)),
            Building("le-belvedere", "Le Belvédère", "3 rue Haute", (f"belvedere@{AZUR}",)),
        ),
        contacts=(
            Contact(f"claire.martin@{AZUR}", "Claire Martin", "gestionnaire", BOTH),
            Contact(PLUMBER, "Plomberie Durand", "fournisseur", ("les-mimosas",)),
            Contact("paul.leroy@example.org", "Paul Leroy", "coproprietaire", BOTH, (12, 40)),
        ),
    )  # fmt: skip


def message(  # noqa: PLR0917 - keyword-style builder
    subject: str = "Fuite au plafond",
    sender: str = "paul.leroy@example.org",
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    message_id: str = "m1@example.org",
    in_reply_to: Sequence[str] = (),
    references: Sequence[str] = (),
    auto_reply: str | None = None,
    text: str = "Bonjour",
    date: datetime | None = datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
) -> ParsedMessage:
    """A parsed message with just what routing reads."""
    return ParsedMessage(
        message_key=f"key-{message_id}",
        message_id=f"<{message_id}>",
        in_reply_to=tuple(in_reply_to),
        references=tuple(references),
        subject=subject,
        normalized_subject=normalize_subject(subject),
        from_=Address("", sender),
        to=tuple(Address("", a) for a in to),
        cc=tuple(Address("", a) for a in cc),
        date=date,
        text=text,
        html=None,
        new_text="Bonjour",
        quoted_text="",
        signature="",
        attachments=(),
        auto_reply=auto_reply,
        defects=(),
    )


@dataclass
class MemoryIndex:
    """A routing index held in memory."""

    dossiers: list[KnownDossier] = field(default_factory=list)
    routed: list[RoutedParent] = field(default_factory=list)
    participants: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    filed: list[Candidate] = field(default_factory=list)
    closed: set[tuple[str, str]] = field(default_factory=set)
    links: list[RoutedParent] = field(default_factory=list)
    """Routed messages pointing at ``message_id`` (as ``linked`` returns them)."""
    sent: list[FiledMessage] = field(default_factory=list)
    """Filed messages by sender and date (as ``messages_from`` returns them)."""
    names: dict[str, str] = field(default_factory=dict)
    """Display name of a sender address of ``sent`` (for ``messages_named``)."""

    def dossiers_with_reference(self, reference: str) -> Sequence[KnownDossier]:
        return [d for d in self.dossiers if d.reference == reference]

    def parents(self, message_ids: Sequence[str]) -> Sequence[RoutedParent]:
        return [p for p in self.routed if p.message_id in message_ids]

    def dossier_participants(self, building: str, reference: str) -> frozenset[str]:
        return self.participants.get((building, reference), frozenset())

    def linked(self, message_ids: Sequence[str], exclude_key: str) -> Sequence[RoutedParent]:
        return [link for link in self.links if link.message_id in message_ids]

    def open_dossiers(
        self, buildings: Collection[str], block: str, since: datetime | None, until: datetime | None = None
    ) -> Sequence[Candidate]:
        found = [
            c
            for c in self.filed
            if c.building in buildings
            and (c.building, c.dossier) not in self.closed
            and subject_block(c.normalized_subject) == block
            and (since is None or (c.date is not None and c.date >= since))
            and (until is None or (c.date is not None and c.date <= until))
        ]
        return sorted(found, key=lambda c: c.date or datetime.min.replace(tzinfo=UTC), reverse=True)

    def messages_from(
        self, senders: Sequence[str], since: datetime, until: datetime
    ) -> Sequence[FiledMessage]:
        wanted = {s.lower() for s in senders}
        found = [
            f for f in self.sent if f.sender in wanted and f.date is not None and since <= f.date <= until
        ]
        return sorted(found, key=lambda f: f.date or since)

    def messages_named(self, name_key: str, since: datetime, until: datetime) -> Sequence[FiledMessage]:
        found = [
            f
            for f in self.sent
            if quoted_headers.name_key(self.names.get(f.sender, "")) == name_key
            and f.date is not None
            and since <= f.date <= until
        ]
        return sorted(found, key=lambda f: f.date or since)
