"""The frozen dataclasses that travel between pipeline stages.

Flow: ``accept(RawMail) -> parse -> ParsedMessage -> route -> RoutingDecision -> timeline -> publish``.
Every stage is a function over these types; only the edges (ingest, store, publish writer) do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Channel = Literal["smtp", "imap", "import"]
Outcome = Literal["assigned", "needs_review", "ignored", "quarantined"]
Visibility = Literal["public", "internal"]
"""``internal`` messages (internal notes, internal forwards and replies to them) never leave the syndic."""
Role = Literal["gestionnaire", "fournisseur", "coproprietaire", "conseil_syndical"]

ROLES: tuple[Role, ...] = ("gestionnaire", "fournisseur", "coproprietaire", "conseil_syndical")


@dataclass(frozen=True)
class RawMail:
    """Exactly the bytes we received, with where and when they came from. Never modified."""

    raw: bytes
    channel: Channel
    source: str
    received_at: datetime
    envelope_from: str | None = None
    envelope_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class AcceptResult:
    """A stored raw message; ``duplicate`` is a normal result, not an error."""

    message_key: str
    duplicate: bool


@dataclass(frozen=True)
class Address:
    """A mailbox: display name as written (decoded) and the lower-cased address."""

    name: str
    email: str


@dataclass(frozen=True)
class Attachment:
    """An attachment's metadata; the bytes stay in the raw message."""

    filename: str
    content_type: str
    size: int
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True)
class ParsedMessage:
    """What the parser extracted from one raw message. Nothing here is redacted."""

    message_key: str
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    normalized_subject: str
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    text: str
    html: str | None
    new_text: str
    quoted_text: str
    signature: str
    attachments: tuple[Attachment, ...]
    auto_reply: str | None
    defects: tuple[str, ...]
    envelope_to: tuple[str, ...] = ()
    delivered_to: tuple[str, ...] = ()

    @property
    def recipients(self) -> tuple[Address, ...]:
        """To and Cc together, in header order."""
        return self.to + self.cc

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Every Message-ID this message points at (In-Reply-To first), without duplicates."""
        seen: dict[str, None] = {}
        for mid in self.in_reply_to + tuple(reversed(self.references)):
            seen.setdefault(mid, None)
        return tuple(seen)


@dataclass(frozen=True)
class Evidence:
    """One clue about where a message belongs. Kept even when it lost."""

    kind: str
    building: str | None
    dossier: str | None
    score: float
    rule: str
    detail: str


@dataclass(frozen=True)
class NewDossier:
    """A dossier the decision asks the store to open (``reference`` None: the store numbers it)."""

    building: str
    reference: str | None
    title: str
    status: str


@dataclass(frozen=True)
class RoutingDecision:
    """Where a message goes, why, and every clue considered."""

    outcome: Outcome
    building: str | None
    dossier: str | None
    confidence: float
    evidence: tuple[Evidence, ...]
    rules_version: str
    reason: str
    opens: NewDossier | None = None
    waiting_for: tuple[str, ...] = field(default=())
    visibility: Visibility = "public"
