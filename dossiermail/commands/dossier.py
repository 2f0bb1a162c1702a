"""``dossiermail dossier open | merge | close | lots | list | history``: dossiers corrected by hand.

``dossier move`` shares ``review assign``'s body (``dossiermail.commands.review.file_command``).
Every correction is logged with who, when and why and shown by ``dossier history``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dossiermail.commands.common import out, print_listing
from dossiermail.commands.review import correcting, heal, paris
from dossiermail.store.corrections import (
    DossierSummary,
    Who,
    close_dossier,
    dossier_history,
    dossier_summaries,
    label,
    merge_dossiers,
    open_dossier,
    resolve_dossier,
)
from dossiermail.store.models import CorrectionRow


def open_command(  # noqa: PLR0913, PLR0917 - one parameter per CLI argument or option
    building: str,
    reference: str,
    title: str,
    category: str | None,
    author: Who,
    db: str | None,
    rules_dir: Path | None,
    lots: Sequence[int] = (),
) -> None:
    """Open a dossier (tied to ``lots`` if given); re-route the messages in review carrying its reference."""
    from dossiermail.publish.lots import set_dossier_lots
    from dossiermail.store.repo import review_keys_mentioning

    with correcting(db) as session:
        dossier = open_dossier(session, building, reference, title, author, category)
        if lots:
            set_dossier_lots(session, dossier, lots, author)
        name = label(dossier)
        healed = heal(session, review_keys_mentioning(session, reference), rules_dir)
    suffix = f"; {healed} message(s) from review filed in it" if healed else ""
    out.print(f"opened {name} « {title.strip()} » by {author.actor}{suffix}", markup=False)


def merge_command(source: str, target: str, author: Who, db: str | None) -> None:
    """Merge dossier ``source`` into ``target`` (same building)."""
    with correcting(db) as session:
        old, new = resolve_dossier(session, source), resolve_dossier(session, target)
        moved = merge_dossiers(session, old, new, author)
        names = label(old), label(new)
    out.print(f"merged {names[0]} into {names[1]}: {len(moved)} message(s) moved", markup=False)


def lots_command(reference: str, lots: Sequence[int], author: Who, db: str | None, *, clear: bool) -> None:
    """Show, set (replacing) or clear the lots a dossier concerns on the extranet."""
    from dossiermail.publish.lots import dossier_lots, set_dossier_lots

    with correcting(db) as session:
        dossier = resolve_dossier(session, reference)
        name = label(dossier)
        if not lots and not clear:
            shown = ", ".join(map(str, dossier_lots(session, dossier)))
            out.print(f"{name}: {shown or 'no lot set (lots of its co-owner participants)'}", markup=False)
            return
        now = set_dossier_lots(session, dossier, lots, author)
    shown = ", ".join(map(str, now)) or "none (lots of its co-owner participants)"
    out.print(f"lots of {name} set to {shown} by {author.actor}", markup=False)


def close_command(reference: str, author: Who, db: str | None) -> None:
    """Close a dossier."""
    with correcting(db) as session:
        dossier = resolve_dossier(session, reference)
        close_dossier(session, dossier, author)
        name = label(dossier)
    out.print(f"closed {name} by {author.actor}", markup=False)


def list_command(building: str | None, db: str | None, *, as_json: bool) -> None:
    """Print every dossier (of one building) with its status and number of messages."""
    with correcting(db) as session:
        rows = dossier_summaries(session, building)
    print_listing(
        rows,
        as_json=as_json,
        record=_summary_record,
        title=f"Dossiers : {len(rows)}",
        columns=("immeuble", "référence", "titre", "statut", "catégorie", "messages", "ouvert le"),
        cells=lambda r: (
            r.building,
            r.reference,
            r.title,
            r.status,
            r.category or "—",
            str(r.messages),
            paris(r.opened_at),
        ),
    )


def _summary_record(row: DossierSummary) -> dict[str, object]:
    return {
        "building": row.building,
        "reference": row.reference,
        "title": row.title,
        "status": row.status,
        "category": row.category,
        "messages": row.messages,
        "opened_at": row.opened_at.isoformat(),
    }


def history_command(reference: str, db: str | None, *, as_json: bool) -> None:
    """Print the corrections of a dossier and of the messages filed in it: who, when, why, what."""
    with correcting(db) as session:
        dossier = resolve_dossier(session, reference)
        name = label(dossier)
        rows = dossier_history(session, dossier)
    print_listing(
        rows,
        as_json=as_json,
        record=correction_record,
        title=f"Historique de {name} : {len(rows)} correction(s)",
        columns=("quand", "qui", "action", "message", "détail", "pourquoi"),
        cells=lambda r: (
            paris(r.created_at),
            r.actor,
            r.action,
            (r.message_key or "—")[:12],
            _detail(r.detail),
            r.reason or "—",
        ),
    )


def correction_record(row: CorrectionRow) -> dict[str, object]:
    """A correction as plain data."""
    return {
        "at": row.created_at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "message": row.message_key,
        "reason": row.reason,
        "detail": row.detail,
    }


def _detail(detail: dict[str, object]) -> str:
    shown = {k: v for k, v in detail.items() if k != "messages" and v not in (None, False)}
    text = ", ".join(f"{k}: {v}" for k, v in shown.items())
    messages = detail.get("messages")
    if isinstance(messages, list):
        text += f"{', ' if text else ''}{len(messages)} message(s)"
    return text or "—"
