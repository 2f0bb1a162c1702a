"""``dossiermail review list`` and ``review assign``: the review queue and filing a message by hand.

Also the pieces ``dossier`` commands share: the correction session (one transaction, one-line errors),
who made the correction, and healing the replies a correction unblocks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dossiermail.commands.common import CliError, load_rules_or_fail, open_store_or_fail, out, print_listing
from dossiermail.store.corrections import (
    Assignment,
    CorrectionError,
    ReviewItem,
    Who,
    assign,
    move,
    resolve_dossier,
    resolve_message,
    review_queue,
)

PARIS = ZoneInfo("Europe/Paris")


def who(by: str | None, reason: str | None) -> Who:
    """The actor (``--by``, else ``$USER``, else ``admin``) and the reason of a correction."""
    return Who(by or os.environ.get("USER") or "admin", reason or "")


def paris(value: datetime | None) -> str:
    """A date as shown to gestionnaires: Europe/Paris, to the minute."""
    return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") if value else "—"


@contextmanager
def correcting(db: str | None) -> Iterator[Session]:
    """One committed transaction over the store; correction mistakes become one-line errors."""
    store = open_store_or_fail(db)
    try:
        with store.session() as session:
            yield session
    except CorrectionError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.dispose()


def heal(session: Session, keys: Iterable[str], rules_dir: Path | None) -> int:
    """Re-route messages in review that a correction unblocked; how many got assigned."""
    pending = list(dict.fromkeys(keys))
    if not pending:
        return 0
    from dossiermail.jobs.pipeline import RouteOptions, route_message
    from dossiermail.store.repo import current_decision

    options = RouteOptions(load_rules_or_fail(rules_dir))
    healed = 0
    for key in pending:
        route_message(session, key, options)
        decision = current_decision(session, key)
        healed += decision is not None and decision.outcome == "assigned"
    return healed


# --- review list --------------------------------------------------------------------------


def review_list_command(building: str | None, db: str | None, *, as_json: bool) -> None:
    """Print the messages waiting for review, oldest first."""
    with correcting(db) as session:
        items = review_queue(session, building)
    print_listing(
        items,
        as_json=as_json,
        record=_record,
        title=f"À revoir : {len(items)} message(s)",
        columns=("clé", "date", "expéditeur", "objet", "immeuble", "raison"),
        cells=lambda i: (i.key[:12], paris(i.date), i.sender, i.subject, i.building or "—", i.reason),
    )


def _record(item: ReviewItem) -> dict[str, object]:
    return {
        "key": item.key,
        "date": item.date.astimezone(PARIS).isoformat() if item.date else None,
        "sender": item.sender,
        "subject": item.subject,
        "building": item.building,
        "reason": item.reason,
    }


# --- review assign / dossier move ---------------------------------------------------------


def file_command(
    message: str,
    dossier: str,
    author: Who,
    db: str | None,
    rules_dir: Path | None,
    *,
    force: bool,
    moving: bool = False,
) -> None:
    """Assign (or move) a message into a dossier by hand, then heal the replies waiting for it."""
    with correcting(db) as session:
        key = resolve_message(session, message)
        target = resolve_dossier(session, dossier)
        action = move if moving else assign
        done: Assignment = action(session, key, target, author, force=force)
        healed = heal(session, done.heal, rules_dir)
    verb = "moved into" if moving else "assigned to"
    followed = f"; {healed} waiting repl{'y' if healed == 1 else 'ies'} followed" if healed else ""
    out.print(f"{done.key[:12]} {verb} {done.dossier} by {author.actor}{followed}", markup=False)
