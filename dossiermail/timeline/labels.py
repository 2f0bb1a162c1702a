"""French labels for the domain's values, as co-owners read them on the extranet."""

from __future__ import annotations

ROLE_LABELS: dict[str, str] = {
    "gestionnaire": "Gestionnaire",
    "fournisseur": "Prestataire",
    "coproprietaire": "Copropriétaire",
    "conseil_syndical": "Conseil syndical",
}

STATUS_LABELS: dict[str, str] = {
    "ouvert": "Ouvert",
    "a_qualifier": "À qualifier",
    "clos": "Clos",
}

UNKNOWN_SENDER = "Correspondant"


def role_label(role: str | None) -> str | None:
    """The French label of a contact role; ``None`` when the role is unknown or missing."""
    if role is None:
        return None
    return ROLE_LABELS.get(role)


def status_label(status: str) -> str:
    """The French label of a dossier status; an unknown status is shown as written."""
    return STATUS_LABELS.get(status, status)
