"""Evidence collectors, one small module each, named as in ``rules/routing.yaml`` ``steps``.

Each collector is ``collect(message, context) -> tuple[Evidence, ...]`` and reports what it matched
*and* what it looked at without a match (score 0), so ``explain`` can show the losers too.
"""

from __future__ import annotations

from collections.abc import Callable

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.threading.collectors import (
    address_book,
    explicit_address,
    fuzzy_subject,
    import_building,
    participant_window,
    quoted_header,
    shared_references,
    subject_reference,
    thread_headers,
)
from dossiermail.threading.context import RoutingContext

Collector = Callable[[ParsedMessage, RoutingContext], tuple[Evidence, ...]]

COLLECTORS: dict[str, Collector] = {
    explicit_address.NAME: explicit_address.collect,
    subject_reference.NAME: subject_reference.collect,
    thread_headers.NAME: thread_headers.collect,
    address_book.NAME: address_book.collect,
    fuzzy_subject.NAME: fuzzy_subject.collect,
    participant_window.NAME: participant_window.collect,
    shared_references.NAME: shared_references.collect,
    quoted_header.NAME: quoted_header.collect,
}
"""Collectors an admin can order in ``routing.yaml``; ``import_building`` always runs first."""

__all__ = ["COLLECTORS", "Collector", "import_building"]
