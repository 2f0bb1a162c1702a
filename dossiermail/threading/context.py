"""What routing may know besides the message: the rules, the import options and a read-only index.

The index is a protocol so that routing stays a pure function: the store implements it over SQL,
tests and ``explain`` can use an in-memory one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from dossiermail.rules.model import Rules


@dataclass(frozen=True)
class KnownDossier:
    """A dossier already in the store."""

    building: str
    reference: str
    status: str


@dataclass(frozen=True)
class RoutedParent:
    """A stored message another one points at, and where it went."""

    message_id: str
    outcome: str
    building: str | None
    dossier: str | None
    confidence: float = 1.0
    """The score of the parent's own decision: 0.5 for a new dossier "à qualifier" opened for it."""
    visibility: str = "public"


@dataclass(frozen=True)
class FiledMessage:
    """A stored message a quoted header may designate, with its current decision."""

    message_id: str | None
    sender: str
    date: datetime | None
    normalized_subject: str
    outcome: str
    building: str | None
    dossier: str | None
    confidence: float = 1.0
    visibility: str = "public"
    new_text: str = ""
    """The message's own text (without its quotes), for the quoted-body match."""


@dataclass(frozen=True)
class Candidate:
    """A message already filed in an open dossier, offered to fuzzy-subject matching."""

    building: str
    dossier: str
    normalized_subject: str
    date: datetime | None
    participants: frozenset[str]
    sender: str | None = None


BLOCK_LENGTH = 32
"""Longest blocking key stored (``parsed_messages.subject_block``)."""


def subject_block(normalized_subject: str) -> str:
    """The blocking key of a normalized subject: its first word of 3+ characters (or first word).

    Candidate lookup only compares subjects sharing this key, so it stays an indexed lookup.
    """
    words = normalized_subject.split()
    long_words = [w for w in words if len(w) >= 3]
    first = long_words[0] if long_words else (words[0] if words else "")
    return first[:BLOCK_LENGTH]


class RoutingIndex(Protocol):
    """Read-only lookups routing needs; implemented by the store."""

    def dossiers_with_reference(self, reference: str) -> Sequence[KnownDossier]:
        """Every dossier carrying this reference (normally one)."""
        ...

    def parents(self, message_ids: Sequence[str]) -> Sequence[RoutedParent]:
        """Stored messages whose Message-ID is one of ``message_ids``, with their current outcome."""
        ...

    def dossier_participants(self, building: str, reference: str) -> frozenset[str]:
        """Lower-cased addresses that sent or received mail of this dossier."""
        ...

    def linked(self, message_ids: Sequence[str], exclude_key: str) -> Sequence[RoutedParent]:
        """Stored messages (other than ``exclude_key``) whose In-Reply-To/References point at one of
        ``message_ids``, with their current outcome; ``message_id`` is the linking id."""
        ...

    def open_dossiers(
        self, buildings: Collection[str], block: str, since: datetime | None, until: datetime | None = None
    ) -> Sequence[Candidate]:
        """Messages filed in non-closed dossiers of ``buildings`` whose subject block is ``block``,
        dated from ``since`` to ``until`` (open-ended when None); newest first."""
        ...

    def messages_from(
        self, senders: Sequence[str], since: datetime, until: datetime
    ) -> Sequence[FiledMessage]:
        """Stored messages sent by one of ``senders`` (lower-case addresses) dated from ``since`` to
        ``until``, with their current decision (indexed on the sender address)."""
        ...

    def messages_named(self, name_key: str, since: datetime, until: datetime) -> Sequence[FiledMessage]:
        """Stored messages whose sender's display name folds to ``name_key``
        (``dossiermail.parse.quoted_headers.name_key``) dated from ``since`` to ``until``, with their
        current decision (indexed on the folded name)."""
        ...


class EmptyIndex:
    """An index that knows nothing: for ``explain`` without a store."""

    def dossiers_with_reference(self, reference: str) -> Sequence[KnownDossier]:
        return ()

    def parents(self, message_ids: Sequence[str]) -> Sequence[RoutedParent]:
        return ()

    def dossier_participants(self, building: str, reference: str) -> frozenset[str]:
        return frozenset()

    def linked(self, message_ids: Sequence[str], exclude_key: str) -> Sequence[RoutedParent]:
        return ()

    def open_dossiers(
        self, buildings: Collection[str], block: str, since: datetime | None, until: datetime | None = None
    ) -> Sequence[Candidate]:
        return ()

    def messages_from(
        self, senders: Sequence[str], since: datetime, until: datetime
    ) -> Sequence[FiledMessage]:
        return ()

    def messages_named(self, name_key: str, since: datetime, until: datetime) -> Sequence[FiledMessage]:
        return ()


class MemoIndex:
    """Wraps an index for one routing decision: collectors and the visibility rule ask the same
    questions (parents, linked messages, a sender's mail); each is asked of the store once."""

    def __init__(self, inner: RoutingIndex) -> None:
        self.inner = inner
        self._answers: dict[tuple[object, ...], Any] = {}

    def _ask(self, name: str, *args: object) -> Any:
        key = (name, *args)
        if key not in self._answers:
            self._answers[key] = getattr(self.inner, name)(*args)
        return self._answers[key]

    def dossiers_with_reference(self, reference: str) -> Sequence[KnownDossier]:
        return cast(Sequence[KnownDossier], self._ask("dossiers_with_reference", reference))

    def parents(self, message_ids: Sequence[str]) -> Sequence[RoutedParent]:
        return cast(Sequence[RoutedParent], self._ask("parents", tuple(message_ids)))

    def dossier_participants(self, building: str, reference: str) -> frozenset[str]:
        return cast(frozenset[str], self._ask("dossier_participants", building, reference))

    def linked(self, message_ids: Sequence[str], exclude_key: str) -> Sequence[RoutedParent]:
        return cast(Sequence[RoutedParent], self._ask("linked", tuple(message_ids), exclude_key))

    def open_dossiers(
        self, buildings: Collection[str], block: str, since: datetime | None, until: datetime | None = None
    ) -> Sequence[Candidate]:
        found = self._ask("open_dossiers", tuple(sorted(buildings)), block, since, until)
        return cast(Sequence[Candidate], found)

    def messages_from(
        self, senders: Sequence[str], since: datetime, until: datetime
    ) -> Sequence[FiledMessage]:
        return cast(Sequence[FiledMessage], self._ask("messages_from", tuple(senders), since, until))

    def messages_named(self, name_key: str, since: datetime, until: datetime) -> Sequence[FiledMessage]:
        return cast(Sequence[FiledMessage], self._ask("messages_named", name_key, since, until))


@dataclass(frozen=True)
class RoutingContext:
    """Everything a routing decision may use besides the message itself."""

    rules: Rules
    index: RoutingIndex
    forced_building: str | None = None
    auto_dossiers: bool = False

    @property
    def reference_pattern(self) -> re.Pattern[str]:
        """The compiled dossier-reference regex (group ``ref``)."""
        return self.rules.routing.reference_pattern


def norm_message_id(value: str) -> str:
    """A Message-ID without angle brackets or surrounding blanks, for lookups."""
    return value.strip().strip("<>").strip()
