"""``dossiermail status``: the pipeline's figures; a non-zero exit with one line when something is stuck."""

from __future__ import annotations

import json
from datetime import datetime

from dossiermail.commands.common import CliError, open_store_or_fail, out
from dossiermail.jobs.status import PipelineStatus, pipeline_status, problems
from dossiermail.store.models import utcnow

STEP_LABELS = {"parse": "analyse", "route": "classement", "publish": "publication"}
STATES = ("pending", "running", "done", "failed")


def status_command(db: str | None, *, max_age: float, as_json: bool) -> None:
    """Print the figures; fail with the first reason when steps are dead or waiting too long."""
    if max_age <= 0:
        raise CliError(f"--max-age must be a positive number of seconds (got {max_age})")
    store = open_store_or_fail(db)
    try:
        with store.sessions() as session:
            status = pipeline_status(session)
    finally:
        store.dispose()
    now = utcnow()
    found = problems(status, now, max_age)
    if as_json:
        data = status.as_dict(now) | {"ok": not found, "problems": found}
        out.print(json.dumps(data, ensure_ascii=False), markup=False)
    else:
        _print(status, now)
    if found:
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        raise CliError(f"pipeline stuck: {found[0]}{more}")


def _print(status: PipelineStatus, now: datetime) -> None:
    out.print("Étapes (en attente / en cours / faites / en échec) :", markup=False)
    for step, label in STEP_LABELS.items():
        states = status.steps.get(step, {})
        figures = " / ".join(str(states.get(state, 0)) for state in STATES)
        out.print(f"  {label:<12} {figures}", markup=False)
    data = status.as_dict(now)
    out.print(f"Plus ancienne étape en attente : {_age(data['oldest_pending_step_age_s'])}", markup=False)
    out.print(
        f"Messages pas encore traités : {status.waiting_messages} "
        f"(le plus ancien : {_age(data['oldest_waiting_message_age_s'])})",
        markup=False,
    )
    out.print(f"En quarantaine : {status.quarantined}   À revoir : {status.review}", markup=False)
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(status.outcomes.items())) or "aucun"
    out.print(f"Messages par résultat : {outcomes}", markup=False)
    last = status.last_accepted_at.isoformat(timespec="seconds") if status.last_accepted_at else "jamais"
    out.print(f"Dernier message reçu : {last}", markup=False)


def _age(seconds: object) -> str:
    return "—" if seconds is None else f"{float(str(seconds)):.0f} s"
