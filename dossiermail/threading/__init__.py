"""The classifier: evidence collectors and the decision that files a message into a dossier."""

from dossiermail.threading.context import (
    EmptyIndex,
    KnownDossier,
    RoutedParent,
    RoutingContext,
    RoutingIndex,
    norm_message_id,
)
from dossiermail.threading.decide import ACCEPT_SCORE, collect_evidence, dossier_title, route

__all__ = [
    "ACCEPT_SCORE",
    "EmptyIndex",
    "KnownDossier",
    "RoutedParent",
    "RoutingContext",
    "RoutingIndex",
    "collect_evidence",
    "dossier_title",
    "norm_message_id",
    "route",
]
