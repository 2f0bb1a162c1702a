"""What a dossier looks like once its mail is gathered: frozen dataclasses publishing renders.

These are the internal view (nothing redacted); ``dossiermail.publish`` decides what is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class TimelineLookupError(LookupError):
    """A building or dossier asked for does not exist; the message is one line for the user."""


@dataclass(frozen=True)
class TimelineAttachment:
    """An attachment of a message, by name only (its bytes stay in the raw message)."""

    filename: str
    content_type: str
    size: int
    position: int = 0
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True)
class TimelineEntry:
    """One message of a dossier, ready to be shown in order.

    ``date`` is the sender's ``Date`` rebuilt with the sender's own offset, or ``None`` when the
    header was missing or unreadable; ``received_at`` (UTC) is when we got the message, and stands
    in for the date when ordering and displaying such a message. ``visibility`` is the routing
    decision's (``internal`` never leaves the syndic audience); ``participants`` are the lower-cased
    From/To/Cc addresses; ``html`` is the HTML body as received, if any.
    """

    message_key: str
    date: datetime | None
    sender_name: str
    sender_role: str | None
    subject: str
    text: str
    quoted_text: str
    signature: str
    attachments: tuple[TimelineAttachment, ...]
    received_at: datetime | None = None
    visibility: str = "public"
    participants: tuple[str, ...] = ()
    html: str | None = None

    @property
    def when(self) -> datetime | None:
        """The best known moment of this message: its date, else when we received it."""
        return self.date if self.date is not None else self.received_at


@dataclass(frozen=True)
class Timeline:
    """A dossier and its messages in chronological order; ``lots`` are those an admin tied to it."""

    building_slug: str
    building_name: str
    dossier_id: int
    reference: str
    title: str
    status: str
    category: str | None
    entries: tuple[TimelineEntry, ...]
    lots: tuple[int, ...] = ()

    @property
    def last_activity(self) -> datetime | None:
        """The moment of the latest message, or ``None`` for a dossier without mail."""
        moments = [entry.when for entry in self.entries if entry.when is not None]
        return max(moments) if moments else None

    @property
    def message_count(self) -> int:
        """How many messages the dossier holds."""
        return len(self.entries)


@dataclass(frozen=True)
class DossierSummary:
    """One line of a building's list of dossiers."""

    reference: str
    title: str
    status: str
    last_activity: datetime | None
    message_count: int
    dossier_id: int


@dataclass(frozen=True)
class BuildingOverview:
    """A building and its dossiers, most recent activity first (dossiers without mail last)."""

    slug: str
    name: str
    address: str
    dossiers: tuple[DossierSummary, ...]


@dataclass(frozen=True)
class DossierHead:
    """A dossier without its mail: what its row says, and ``source``, a cheap fingerprint of its mail.

    ``source`` changes whenever the dossier's current decisions (count, sum and latest of their ids,
    latest decision time), its corrections, its row or its admin lots change: publishing compares it
    with the last publication's before loading any message.
    """

    dossier_id: int
    reference: str
    title: str
    status: str
    category: str | None
    lots: tuple[int, ...]
    source: str
