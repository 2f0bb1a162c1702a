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
    questions (parents, linked messages, a sender's mail); each is asked of the store once.

    Two more ways to spare the store a question, both giving exactly the answer it would give
    (nothing is written while a message is routed):

    * ``linked`` for ids that are a subset of ids already asked (with the same ``exclude_key``) is
      that answer's links through one of those ids (the visibility rule's "ghost" parents are
      among the ids ``shared_references`` asked about);
    * after ``expect_threads``, the first of the two expected ``parents`` / ``linked`` questions
      asks both in one statement when the index can (``ThreadsIndex.parents_and_linked``); after
      ``expect_sender``, likewise ``messages_from`` and ``messages_named``
      (``SenderIndex.messages_from_and_named``).
    """

    def __init__(self, inner: RoutingIndex) -> None:
        self.inner = inner
        self._answers: dict[tuple[object, ...], Any] = {}
        self._expected: tuple[tuple[str, ...], tuple[str, ...], str] | None = None
        self._sender: tuple[tuple[tuple[str, ...], datetime, datetime], str] | None = None

    def _ask(self, name: str, *args: object) -> Any:
        key = (name, *args)
        if key not in self._answers:
            self._answers[key] = getattr(self.inner, name)(*args)
        return self._answers[key]

    def expect_threads(self, parent_ids: Sequence[str], link_ids: Sequence[str], exclude_key: str) -> None:
        """Routing will ask ``parents(parent_ids)`` and ``linked(link_ids, exclude_key)``."""
        self._expected = (tuple(parent_ids), tuple(link_ids), exclude_key)

    def _ask_expected(self) -> None:
        expected, self._expected = self._expected, None
        both = getattr(self.inner, "parents_and_linked", None)
        if expected is None or both is None:
            return
        parent_ids, link_ids, exclude = expected
        parents, linked = cast(ThreadsIndex, self.inner).parents_and_linked(parent_ids, link_ids, exclude)
        self._answers.setdefault(("parents", parent_ids), parents)
        self._answers.setdefault(("linked", link_ids, exclude), linked)

    def dossiers_with_reference(self, reference: str) -> Sequence[KnownDossier]:
        return cast(Sequence[KnownDossier], self._ask("dossiers_with_reference", reference))

    def parents(self, message_ids: Sequence[str]) -> Sequence[RoutedParent]:
        ids = tuple(message_ids)
        if self._expected is not None and self._expected[0] == ids:
            self._ask_expected()
        return cast(Sequence[RoutedParent], self._ask("parents", ids))

    def dossier_participants(self, building: str, reference: str) -> frozenset[str]:
        return cast(frozenset[str], self._ask("dossier_participants", building, reference))

    def linked(self, message_ids: Sequence[str], exclude_key: str) -> Sequence[RoutedParent]:
        ids = tuple(message_ids)
        if self._expected is not None and self._expected[1:] == (ids, exclude_key):
            self._ask_expected()
        key = ("linked", ids, exclude_key)
        if key not in self._answers:
            known = self._linked_through(ids, exclude_key)
            if known is not None:
                self._answers[key] = known
        return cast(Sequence[RoutedParent], self._ask("linked", ids, exclude_key))

    def known_links(self, message_id: str, exclude_key: str) -> list[RoutedParent] | None:
        """What ``linked([message_id], exclude_key)`` answers, when an answer already given holds it;
        None when it was not asked."""
        return self._linked_through((message_id,), exclude_key)

    def _linked_through(self, ids: tuple[str, ...], exclude_key: str) -> list[RoutedParent] | None:
        """The links through ``ids`` taken from an answer already given for more ids, if any."""
        wanted = set(ids)
        for key, answer in self._answers.items():
            if key[0] == "linked" and key[2] == exclude_key and wanted <= set(cast(tuple[str, ...], key[1])):
                return [link for link in cast(Sequence[RoutedParent], answer) if link.message_id in wanted]
        return None

    def open_dossiers(
        self, buildings: Collection[str], block: str, since: datetime | None, until: datetime | None = None
    ) -> Sequence[Candidate]:
        found = self._ask("open_dossiers", tuple(sorted(buildings)), block, since, until)
        return cast(Sequence[Candidate], found)

    def messages_from(
        self, senders: Sequence[str], since: datetime, until: datetime
    ) -> Sequence[FiledMessage]:
        if self._sender is not None and self._sender[0] == (tuple(senders), since, until):
            self._ask_sender()
        return cast(Sequence[FiledMessage], self._ask("messages_from", tuple(senders), since, until))

    def messages_named(self, name_key: str, since: datetime, until: datetime) -> Sequence[FiledMessage]:
        return cast(Sequence[FiledMessage], self._ask("messages_named", name_key, since, until))

    def expect_sender(self, sender: str, name_key: str, since: datetime, until: datetime) -> None:
        """Routing will ask ``messages_from([sender], since, until)`` and may then ask
        ``messages_named(name_key, since, until)``: the store answers both at the first."""
        self._sender = (((sender,), since, until), name_key)

    def _ask_sender(self) -> None:
        expected, self._sender = self._sender, None
        both = getattr(self.inner, "messages_from_and_named", None)
        if expected is None or both is None:
            return
        ((sender,), since, until), name_key = expected
        if ("messages_from", (sender,), since, until) in self._answers:
            return
        index = cast(SenderIndex, self.inner)
        sent, named = index.messages_from_and_named(sender, name_key, since, until)
        self._answers[("messages_from", (sender,), since, until)] = sent
        self._answers.setdefault(("messages_named", name_key, since, until), named)


class SenderIndex(RoutingIndex, Protocol):
    """An index that can answer ``messages_from`` and ``messages_named`` in one go (the store)."""

    def messages_from_and_named(
        self, sender: str, name_key: str, since: datetime, until: datetime
    ) -> tuple[Sequence[FiledMessage], Sequence[FiledMessage]]:
        """``(messages_from([sender], since, until), messages_named(name_key, since, until))``."""
        ...


class ThreadsIndex(RoutingIndex, Protocol):
    """An index that can answer ``parents`` and ``linked`` in one go (the store: one statement)."""

    def parents_and_linked(
        self, parent_ids: Sequence[str], link_ids: Sequence[str], exclude_key: str
    ) -> tuple[Sequence[RoutedParent], Sequence[RoutedParent]]:
        """``(parents(parent_ids), linked(link_ids, exclude_key))``."""
        ...


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
