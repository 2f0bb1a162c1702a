"""What routing may know besides the message: the rules, the import options and a read-only index.

The index is a protocol so that routing stays a pure function: the store implements it over SQL,
tests and ``explain`` can use an in-memory one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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


class EmptyIndex:
    """An index that knows nothing: for ``explain`` without a store."""

    def dossiers_with_reference(self, reference: str) -> Sequence[KnownDossier]:
        return ()

    def parents(self, message_ids: Sequence[str]) -> Sequence[RoutedParent]:
        return ()

    def dossier_participants(self, building: str, reference: str) -> frozenset[str]:
        return frozenset()


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
