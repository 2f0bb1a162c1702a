"""Tie dossiers to lots by hand (``dossier open --lot``, ``dossier lots``), logged like every correction.

A dossier with lots set here is shown to exactly those ``lot:<n>`` audiences; one without is shown
to the lots of its co-owner participants (``dossiermail.publish.audiences``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dossiermail.store.corrections import CorrectionError, Who
from dossiermail.store.models import CorrectionRow, DossierLotRow, DossierRow, utcnow

MAX_LOT = 999_999


def dossier_lots(session: Session, dossier: DossierRow) -> tuple[int, ...]:
    """The lots set by hand on a dossier, in order."""
    query = (
        select(DossierLotRow.lot).where(DossierLotRow.dossier_id == dossier.id).order_by(DossierLotRow.lot)
    )
    return tuple(session.scalars(query))


def set_dossier_lots(session: Session, dossier: DossierRow, lots: Iterable[int], who: Who) -> tuple[int, ...]:
    """Replace the dossier's lots (none: back to its participants' lots); log who, when, why."""
    wanted = tuple(sorted(set(lots)))
    bad = [lot for lot in wanted if not 1 <= lot <= MAX_LOT]
    if bad:
        raise CorrectionError(f"invalid lot {bad[0]}: expected a whole number from 1 to {MAX_LOT}")
    before = dossier_lots(session, dossier)
    session.execute(delete(DossierLotRow).where(DossierLotRow.dossier_id == dossier.id))
    session.add_all(DossierLotRow(dossier_id=dossier.id, lot=lot, created_at=utcnow()) for lot in wanted)
    session.add(
        CorrectionRow(
            action="lots",
            dossier_id=dossier.id,
            actor=who.actor,
            reason=who.reason,
            detail={"from": list(before), "to": list(wanted)},
            created_at=utcnow(),
        )
    )
    session.flush()
    return wanted
