"""``dossiermail jobs failed|retry|sweep``: the dead-letter list, replaying it, and a sweep for cron."""

from __future__ import annotations

from dossiermail.commands.common import CliError, open_store_or_fail, out, print_listing
from dossiermail.commands.worker import check_broker_or_fail, settings_or_fail
from dossiermail.jobs.broker import JobQueue, make_broker
from dossiermail.jobs.outbox import failed_steps, revive
from dossiermail.jobs.settings import broker_url
from dossiermail.store import Store
from dossiermail.store.models import JobStep


def failed_command(db: str | None, *, as_json: bool) -> None:
    """List the dead-lettered steps, oldest failure first."""
    store = open_store_or_fail(db)
    try:
        with store.sessions() as session:
            rows = failed_steps(session)
    finally:
        store.dispose()
    print_listing(
        rows,
        as_json=as_json,
        record=_record,
        title=f"Étapes en échec : {len(rows)}",
        columns=("id", "étape", "sujet", "essais", "depuis", "dernière erreur"),
        cells=lambda r: (
            str(r.id),
            r.step,
            r.subject[:40],
            str(r.attempts),
            r.finished_at.strftime("%Y-%m-%d %H:%M") if r.finished_at else "",
            r.last_error or "",
        ),
    )


def _record(row: JobStep) -> dict[str, object]:
    return {
        "id": row.id,
        "step": row.step,
        "subject": row.subject,
        "attempts": row.attempts,
        "failed_at": row.finished_at.isoformat() if row.finished_at else None,
        "error": row.last_error,
    }


def retry_command(step_id: int | None, db: str | None, *, every: bool) -> None:
    """Put one dead-lettered step (or all of them) back in the queue with fresh attempts."""
    if (step_id is None) == (not every):
        raise CliError("give one step ID or --all (see 'dossiermail jobs failed')")
    store = open_store_or_fail(db)
    try:
        with store.session() as session:
            if step_id is not None and session.get(JobStep, step_id) is None:
                raise CliError(f"no step {step_id} (see 'dossiermail jobs failed')")
            sends = revive(session, None if every else [step_id] if step_id is not None else [])
        if step_id is not None and not sends:
            raise CliError(f"step {step_id} is not in the dead-letter list")
        sent = _send_now(store, [send.id for send in sends])
    finally:
        store.dispose()
    where = "sent to the workers" if sent else "pending; the worker's sweeper will send it"
    out.print(f"{len(sends)} step(s) revived, {where}", markup=False)


def _send_now(store: Store, ids: list[int]) -> int:
    url = broker_url()
    if url is None or not ids:
        return 0
    settings = settings_or_fail()
    queue = JobQueue(make_broker(url, settings), settings)
    try:
        return queue.send_unsent(store, ids)
    finally:
        queue.close()


def sweep_command(db: str | None, *, as_json: bool) -> None:
    """One sweep (for cron): free expired leases, re-send lost and unsent steps."""
    import json

    from dossiermail.jobs.sweeper import sweep

    url = broker_url()
    if url is None:
        raise CliError("no broker: set DOSSIERMAIL_BROKER=redis://… or amqp://…")
    settings = settings_or_fail()
    check_broker_or_fail(url, settings)
    store = open_store_or_fail(db)
    queue = JobQueue(make_broker(url, settings), settings)
    try:
        counts = sweep(store, queue)
    finally:
        queue.close()
        store.dispose()
    data = {"expired": counts.expired, "resent": counts.lost, "adopted": counts.adopted, "dead": counts.dead}
    if as_json:
        out.print(json.dumps(data), markup=False)
        return
    out.print(
        f"{counts.expired} bail(s) expiré(s), {counts.lost} étape(s) renvoyée(s), "
        f"{counts.adopted} message(s) repris, {counts.dead} en échec définitif",
        markup=False,
    )
