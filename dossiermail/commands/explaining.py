"""``dossiermail explain FILE``: the decision for one message and every clue, without storing it."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table

from dossiermail.commands.common import CliError, load_rules_or_fail, out
from dossiermail.domain import RoutingDecision
from dossiermail.ingest.identity import content_key
from dossiermail.parse import ParseError, parse_message
from dossiermail.store import Store, StoreError, database_url, open_store
from dossiermail.store.repo import StoreIndex
from dossiermail.threading import ACCEPT_SCORE, EmptyIndex, RoutingContext, RoutingIndex, route


def explain_command(file: Path, rules_dir: Path | None, db: str | None, *, as_json: bool) -> None:
    """Parse ``file``, route it against the store (read-only), print the decision."""
    if not file.is_file():
        raise CliError(f"{file}: no such file")
    raw = file.read_bytes()
    rules = load_rules_or_fail(rules_dir)
    try:
        message = parse_message(raw, content_key(raw))
    except ParseError as exc:
        raise CliError(f"{file}: would be quarantined: {exc}") from None
    url = database_url(db)
    store = None if _missing_sqlite(url) else _open_read_only(url)
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


def _missing_sqlite(url: str) -> bool:
    return url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()


def _open_read_only(url: str) -> Store:
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
    out.print(_evidence_table(decision))
    out.print(f"Seuil de décision : {ACCEPT_SCORE:.2f} — version des règles : {decision.rules_version}")


def _evidence_table(decision: RoutingDecision) -> Table:
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
