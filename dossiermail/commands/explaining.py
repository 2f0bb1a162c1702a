"""``dossiermail explain FILE|KEY``: the decision for one message and every clue.

For a file: routed now against the store, read-only, nothing stored. For a stored message (key or
key prefix): its current decision with its evidence, the superseded decisions, and the corrections.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from dossiermail.commands.common import CliError, load_rules_or_fail, out
from dossiermail.domain import Evidence, Outcome, RoutingDecision
from dossiermail.ingest.identity import content_key
from dossiermail.parse import ParseError, parse_message
from dossiermail.store import Store, StoreError, database_url, open_store
from dossiermail.store.models import CorrectionRow, DecisionRow, ParsedRow, RawMessage
from dossiermail.store.repo import StoreIndex
from dossiermail.threading import ACCEPT_SCORE, EmptyIndex, RoutingContext, RoutingIndex, route


def explain_command(target: str, rules_dir: Path | None, db: str | None, *, as_json: bool) -> None:
    """Explain a message file (routed now, stores nothing) or a stored message (its recorded decisions)."""
    file = Path(target)
    if file.is_file():
        explain_file(file, rules_dir, db, as_json=as_json)
    elif looks_like_key(target):
        explain_stored(target, db, as_json=as_json)
    else:
        raise CliError(f"{file}: no such file (nor a stored message key of 8+ hex characters)")


def looks_like_key(text: str) -> bool:
    """True for a message key or key prefix: 8 to 64 hex characters."""
    return 8 <= len(text) <= 64 and all(c in "0123456789abcdef" for c in text.lower())


def explain_file(file: Path, rules_dir: Path | None, db: str | None, *, as_json: bool) -> None:
    """Parse ``file``, route it against the store (read-only), print the decision."""
    raw = file.read_bytes()
    rules = load_rules_or_fail(rules_dir)
    try:
        message = parse_message(raw, content_key(raw))
    except ParseError as exc:
        raise CliError(f"{file}: would be quarantined: {exc}") from None
    url = database_url(db)
    store = None if missing_sqlite(url) else open_read_only(url)
    try:
        if store is None:
            decision = route(message, RoutingContext(rules, EmptyIndex()))
        else:
            with store.sessions() as session:
                index: RoutingIndex = StoreIndex(session)
                decision = route(message, RoutingContext(rules, index))
    finally:
        if store is not None:
            store.dispose()
    _print(file, message.subject, decision, as_json)


def missing_sqlite(url: str) -> bool:
    return url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()


def open_read_only(url: str) -> Store:
    try:
        return open_store(url, migrate=False)
    except StoreError as exc:
        raise CliError(str(exc)) from None


def _print(file: Path, subject: str, decision: RoutingDecision, as_json: bool) -> None:
    if as_json:
        data = asdict(decision)
        data["file"] = str(file)
        data["explained_at"] = datetime.now(UTC).isoformat()
        out.print(json.dumps(data, ensure_ascii=False), markup=False)
        return
    where = " / ".join(x for x in (decision.building, decision.dossier) if x) or "—"
    out.print(f"Message : {file}", markup=False)
    out.print(f"Objet : {subject}", markup=False)
    out.print(
        f"Décision : {decision.outcome} → {where} (confiance {decision.confidence:.2f})",
        markup=False,
    )
    out.print(f"Raison : {decision.reason}", markup=False)
    if decision.opens:
        reference = decision.opens.reference or "(numéro automatique)"
        out.print(f"Ouvre le dossier : {reference} « {decision.opens.title} »", markup=False)
    out.print(evidence_table(decision))
    out.print(f"Seuil de décision : {ACCEPT_SCORE:.2f} — version des règles : {decision.rules_version}")


def evidence_table(decision: RoutingDecision) -> Table:
    table = Table(title="Indices", title_justify="left")
    for column in ("", "indice", "immeuble", "dossier", "score", "règle", "détail"):
        table.add_column(column)
    for evidence in decision.evidence:
        mark = "✓" if evidence.score >= ACCEPT_SCORE else "·"
        table.add_row(
            mark, evidence.kind, evidence.building or "—", evidence.dossier or "—",
            f"{evidence.score:.2f}", evidence.rule, evidence.detail,
        )  # fmt: skip
    if not decision.evidence:
        table.add_row("·", "(aucun)", "—", "—", "—", "—", "aucun indice trouvé")
    return table


# --- a stored message ---------------------------------------------------------------------


@dataclass(frozen=True)
class Dated:
    """A stored decision with when it was made and, for history, when it was superseded."""

    decision: RoutingDecision
    decided_at: datetime
    superseded_at: datetime | None


@dataclass(frozen=True)
class Stored:
    """Everything ``explain KEY`` shows about a stored message."""

    key: str
    source: str
    subject: str
    decisions: list[Dated]
    corrections: list[dict[str, object]]


def explain_stored(prefix: str, db: str | None, *, as_json: bool) -> None:
    """Print a stored message's current decision, its evidence, its history and its corrections."""
    url = database_url(db)
    if missing_sqlite(url):
        raise CliError(f"unknown message {prefix!r} (no store at {url})")
    store = open_read_only(url)
    try:
        with store.sessions() as session:
            stored = _load(session, prefix)
    finally:
        store.dispose()
    if as_json:
        out.print(json.dumps(_stored_record(stored), ensure_ascii=False), markup=False)
    else:
        _print_stored(stored)


def _load(session: Session, prefix: str) -> Stored:
    from dossiermail.store.corrections import CorrectionError, decision_history, resolve_message

    try:
        key = resolve_message(session, prefix)
    except CorrectionError as exc:
        raise CliError(str(exc)) from None
    raw, parsed = session.get_one(RawMessage, key), session.get(ParsedRow, key)
    decisions = [Dated(_decision(r), r.decided_at, r.superseded_at) for r in decision_history(session, key)]
    query = select(CorrectionRow).where(CorrectionRow.message_key == key).order_by(CorrectionRow.id)
    corrections = [_correction(row) for row in session.scalars(query)]
    return Stored(key, raw.source, parsed.subject if parsed else "", decisions, corrections)


def _correction(row: CorrectionRow) -> dict[str, object]:
    return {"at": row.created_at, "actor": row.actor, "action": row.action, "reason": row.reason,
            "detail": row.detail}  # fmt: skip


def _decision(row: DecisionRow) -> RoutingDecision:
    evidence = tuple(Evidence(e.kind, e.building, e.dossier, e.score, e.rule, e.detail) for e in row.evidence)
    building = row.building.slug if row.building else None
    dossier = row.dossier.reference if row.dossier else None
    outcome = cast(Outcome, row.outcome)
    return RoutingDecision(outcome, building, dossier, row.confidence, evidence, row.rules_version,
                           row.reason, waiting_for=tuple(row.waiting_for))  # fmt: skip


def _dated_record(item: Dated) -> dict[str, object]:
    superseded = item.superseded_at.isoformat() if item.superseded_at else None
    return {**asdict(item.decision), "decided_at": item.decided_at.isoformat(), "superseded_at": superseded}


def _stored_record(stored: Stored) -> dict[str, object]:
    corrections = [{**c, "at": cast(datetime, c["at"]).isoformat()} for c in stored.corrections]
    return {
        "key": stored.key,
        "source": stored.source,
        "subject": stored.subject,
        "current": _dated_record(stored.decisions[-1]) if stored.decisions else None,
        "history": [_dated_record(d) for d in stored.decisions[:-1]],
        "corrections": corrections,
        "accept_score": ACCEPT_SCORE,
    }


def _print_stored(stored: Stored) -> None:
    out.print(f"Message : {stored.key} ({stored.source})", markup=False)
    out.print(f"Objet : {stored.subject}", markup=False)
    if not stored.decisions:
        out.print("Décision : aucune (pas encore routé, ou en quarantaine)", markup=False)
        return
    current = stored.decisions[-1]
    decision = current.decision
    out.print(f"Décision : {decision.outcome} → {_where(decision)} (confiance {decision.confidence:.2f}, "
              f"le {current.decided_at:%Y-%m-%d %H:%M} UTC)", markup=False)  # fmt: skip
    out.print(f"Raison : {decision.reason}", markup=False)
    out.print(evidence_table(decision))
    out.print(f"Seuil de décision : {ACCEPT_SCORE:.2f} — version des règles : {decision.rules_version}")
    for old in reversed(stored.decisions[:-1]):
        out.print(_superseded_line(old), markup=False)
    for fix in stored.corrections:
        when = cast(datetime, fix["at"])
        out.print(f"Correction : {fix['action']} par {fix['actor']} le {when:%Y-%m-%d %H:%M} UTC — "
                  f"{fix['reason'] or '—'}", markup=False)  # fmt: skip
    out.print(_hint(stored.key, decision), markup=False)


def _superseded_line(item: Dated) -> str:
    decision, until = item.decision, item.superseded_at or item.decided_at
    return (f"Remplacée : {decision.outcome} → {_where(decision)} ({decision.reason}), décidée le "
            f"{item.decided_at:%Y-%m-%d %H:%M}, remplacée le {until:%Y-%m-%d %H:%M} UTC")  # fmt: skip


def _where(decision: RoutingDecision) -> str:
    return " / ".join(x for x in (decision.building, decision.dossier) if x) or "—"


def _hint(key: str, decision: RoutingDecision) -> str:
    if decision.outcome == "assigned":
        return f"Pour le déplacer : dossiermail dossier move {key[:12]} DOSSIER --reason …"
    return f"Pour le classer : dossiermail review assign {key[:12]} DOSSIER --reason …"
