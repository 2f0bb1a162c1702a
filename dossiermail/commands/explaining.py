"""``dossiermail explain FILE|KEY``: the decision for one message and every clue.

For a file: routed now against the store, read-only, nothing stored. For a stored message (key or
key prefix): its current decision with its evidence, the superseded decisions, and the corrections.
Both show the thresholds in force (``routing.yaml``), which evidence won, the margins to the
runner-up and to the decision threshold, and what would change the outcome
(``dossiermail.threading.outlook``).
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

from dossiermail.commands.common import DEFAULT_RULES, CliError, load_rules_or_fail, out
from dossiermail.domain import Evidence, Outcome, RoutingDecision, Visibility
from dossiermail.ingest.identity import content_key
from dossiermail.parse import ParseError, parse_message
from dossiermail.rules.model import RoutingThresholds
from dossiermail.store import Store, StoreError, database_url, open_store
from dossiermail.store.models import CorrectionRow, DecisionRow, ParsedRow, RawMessage
from dossiermail.store.repo import StoreIndex
from dossiermail.threading import EmptyIndex, RoutingContext, RoutingIndex, route
from dossiermail.threading.outlook import Outlook, outlook


def explain_command(target: str, rules_dir: Path | None, db: str | None, *, as_json: bool) -> None:
    """Explain a message file (routed now, stores nothing) or a stored message (its recorded decisions)."""
    file = Path(target)
    if file.is_file():
        explain_file(file, rules_dir, db, as_json=as_json)
    elif looks_like_key(target):
        explain_stored(target, db, as_json=as_json, rules_dir=rules_dir)
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
    view = outlook(decision, rules.routing.thresholds, message.message_key[:12])
    _print(file, message.subject, decision, view, as_json)


def missing_sqlite(url: str) -> bool:
    return url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()


def open_read_only(url: str) -> Store:
    try:
        return open_store(url, migrate=False)
    except StoreError as exc:
        raise CliError(str(exc)) from None


def _print(file: Path, subject: str, decision: RoutingDecision, view: Outlook, as_json: bool) -> None:
    if as_json:
        data = asdict(decision)
        data["file"] = str(file)
        data["explained_at"] = datetime.now(UTC).isoformat()
        data["accept_score"] = view.thresholds["accept_score"]
        data["outlook"] = view.record()
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
    _print_outlook(decision, view)


def _print_outlook(decision: RoutingDecision, view: Outlook) -> None:
    accept = view.thresholds["accept_score"]
    out.print(f"Visibilité : {decision.visibility}", markup=False)
    out.print(evidence_table(decision, accept))
    out.print(
        f"Seuil de décision : {accept:.2f} — version des règles : {decision.rules_version}", markup=False
    )
    others = ", ".join(
        f"{name} {value:g}" for name, value in view.thresholds.items() if name != "accept_score"
    )
    out.print(f"Autres seuils (routing.yaml) : {others}", markup=False)
    out.print("Ce qui changerait la décision :", markup=False)
    for line in view.changes:
        out.print(f"  - {line}", markup=False)


def evidence_table(decision: RoutingDecision, accept: float) -> Table:
    table = Table(title="Indices", title_justify="left")
    for column in ("", "indice", "immeuble", "dossier", "score", "règle", "détail"):
        table.add_column(column)
    for evidence in decision.evidence:
        mark = "✓" if evidence.score >= accept else "·"
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


def explain_stored(prefix: str, db: str | None, *, as_json: bool, rules_dir: Path | None = None) -> None:
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
    thresholds = _thresholds_in_force(rules_dir)
    if as_json:
        out.print(json.dumps(_stored_record(stored, thresholds), ensure_ascii=False), markup=False)
    else:
        _print_stored(stored, thresholds)


def _thresholds_in_force(rules_dir: Path | None) -> RoutingThresholds:
    """The current rules' thresholds (the defaults without a rules directory or with broken rules)."""
    from dossiermail.rules import RulesError, load_rules

    if rules_dir is None and not DEFAULT_RULES.is_dir():
        return RoutingThresholds()
    try:
        return load_rules(rules_dir or DEFAULT_RULES).routing.thresholds
    except RulesError:
        return RoutingThresholds()


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
    visibility: Visibility = "internal" if row.visibility == "internal" else "public"
    return RoutingDecision(outcome, building, dossier, row.confidence, evidence, row.rules_version,
                           row.reason, waiting_for=tuple(row.waiting_for), visibility=visibility)  # fmt: skip


def _dated_record(item: Dated) -> dict[str, object]:
    superseded = item.superseded_at.isoformat() if item.superseded_at else None
    return {**asdict(item.decision), "decided_at": item.decided_at.isoformat(), "superseded_at": superseded}


def _stored_record(stored: Stored, thresholds: RoutingThresholds) -> dict[str, object]:
    corrections = [{**c, "at": cast(datetime, c["at"]).isoformat()} for c in stored.corrections]
    current = stored.decisions[-1].decision if stored.decisions else None
    return {
        "key": stored.key,
        "source": stored.source,
        "subject": stored.subject,
        "current": _dated_record(stored.decisions[-1]) if stored.decisions else None,
        "history": [_dated_record(d) for d in stored.decisions[:-1]],
        "corrections": corrections,
        "accept_score": thresholds.accept_score,
        "outlook": outlook(current, thresholds, stored.key[:12]).record() if current else None,
    }


def _print_stored(stored: Stored, thresholds: RoutingThresholds) -> None:
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
    _print_outlook(decision, outlook(decision, thresholds, stored.key[:12]))
    for old in reversed(stored.decisions[:-1]):
        out.print(_superseded_line(old), markup=False)
    for fix in stored.corrections:
        when = cast(datetime, fix["at"])
        out.print(f"Correction : {fix['action']} par {fix['actor']} le {when:%Y-%m-%d %H:%M} UTC — "
                  f"{fix['reason'] or '—'}", markup=False)  # fmt: skip


def _superseded_line(item: Dated) -> str:
    decision, until = item.decision, item.superseded_at or item.decided_at
    return (f"Remplacée : {decision.outcome} → {_where(decision)} ({decision.reason}), décidée le "
            f"{item.decided_at:%Y-%m-%d %H:%M}, remplacée le {until:%Y-%m-%d %H:%M} UTC")  # fmt: skip


def _where(decision: RoutingDecision) -> str:
    return " / ".join(x for x in (decision.building, decision.dossier) if x) or "—"
