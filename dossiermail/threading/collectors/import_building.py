"""Collector for ``import --building SLUG``: the admin says the whole archive is this building's."""

from __future__ import annotations

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.threading.context import RoutingContext

NAME = "import_building"


def collect(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """Full-confidence building evidence when the import named a building, else nothing."""
    if context.forced_building is None:
        return ()
    return (
        Evidence(
            kind=NAME,
            building=context.forced_building,
            dossier=None,
            score=1.0,
            rule="import --building",
            detail=f"archive imported for building {context.forced_building}",
        ),
    )
