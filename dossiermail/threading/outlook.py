"""What a decision hinged on and what would change it, for ``explain`` (pure, French sentences).

Reads a ``RoutingDecision`` and the thresholds in force: the winning evidence, the runner-up (the
best evidence for another dossier or building), the margins to the runner-up and to the decision
threshold, and the few actions that would change the outcome (a reference in the subject, a contact
in the address book, ``review assign``…).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from dossiermail.domain import Evidence, RoutingDecision
from dossiermail.rules.model import RoutingThresholds

ASSIGN = "dossiermail review assign {key} DOSSIER --reason …"
MOVE = "dossiermail dossier move {key} DOSSIER --reason …"


@dataclass(frozen=True)
class Outlook:
    """The decision's winner, its runner-up, the margins and what would change the outcome."""

    thresholds: dict[str, float]
    winner: Evidence | None
    runner_up: Evidence | None
    margin_to_runner_up: float | None
    margin_to_accept: float | None
    changes: tuple[str, ...]

    def record(self) -> dict[str, object]:
        """The same as JSON-ready data."""
        return asdict(self)


def _short(evidence: Evidence) -> str:
    target = evidence.dossier or evidence.building or "—"
    return f"{evidence.kind} → {target} {evidence.score:.2f}"


def _best_per_building(evidence: tuple[Evidence, ...], accept: float) -> dict[str, Evidence]:
    best: dict[str, Evidence] = {}
    for item in sorted(evidence, key=lambda e: -e.score):
        if item.building and item.score >= accept:
            best.setdefault(item.building, item)
    return best


def _winner(decision: RoutingDecision) -> Evidence | None:
    matching = [e for e in decision.evidence if e.dossier == decision.dossier and decision.dossier]
    if not matching:
        matching = [e for e in decision.evidence if e.building == decision.building and e.building]
    return max(matching, key=lambda e: e.score, default=None)


def _runner_up(decision: RoutingDecision, winner: Evidence | None) -> Evidence | None:
    others = [
        e
        for e in decision.evidence
        if e.score > 0
        and e is not winner
        and (e.dossier or e.building)
        and (e.dossier != decision.dossier if e.dossier else e.building != decision.building)
    ]
    return max(others, key=lambda e: e.score, default=None)


def _several_buildings(decision: RoutingDecision, accept: float, key: str) -> list[str]:
    best = _best_per_building(decision.evidence, accept)
    named = " et ".join(f"{b} ({e.kind} {e.score:.2f})" for b, e in best.items())
    return [
        f"à vérifier car plusieurs immeubles : {named}",
        "ajoutez la référence [REF] du dossier à l'objet, retirez l'adresse de l'autre immeuble, "
        f"ou lancez `{ASSIGN.format(key=key)}`",
    ]


def _tied(decision: RoutingDecision, key: str) -> list[str]:
    top = max((e.score for e in decision.evidence if e.dossier), default=0.0)
    tied = sorted(
        {f"{e.dossier} ({e.kind} {e.score:.2f})" for e in decision.evidence if e.dossier and e.score == top}
    )
    return [
        f"à vérifier car plusieurs dossiers à égalité : {', '.join(tied)}",
        "un indice plus fort pour l'un d'eux (référence [REF] dans l'objet) le départagerait, "
        f"ou `{ASSIGN.format(key=key)}`",
    ]


def _unfiled(decision: RoutingDecision, accept: float, key: str) -> list[str]:
    lines: list[str] = []
    if decision.waiting_for:
        lines.append(f"attend le message <{decision.waiting_for[0]}> : il sera reclassé à son arrivée")
    if decision.building is None:
        lines.append(
            f"aucun indice d'immeuble ≥ {accept:.2f} : écrivez à l'adresse de l'immeuble, ou ajoutez "
            "l'expéditeur à contacts.yaml avec un seul immeuble"
        )
    else:
        lines.append(
            f"immeuble {decision.building} trouvé mais aucun dossier : ajoutez la référence [REF] à "
            "l'objet, ou importez avec --auto-dossiers (dossier « à qualifier »)"
        )
    lines.append(f"ou classez-le : `{ASSIGN.format(key=key)}`")
    return lines


def _assigned(
    decision: RoutingDecision, winner: Evidence | None, runner: Evidence | None, accept: float, key: str
) -> list[str]:
    lines: list[str] = []
    if decision.opens is not None and decision.opens.reference is None:
        lines.append(
            "aucun dossier existant ne correspond : nouveau dossier « à qualifier » (--auto-dossiers)"
        )
    if winner is not None:
        margin = winner.score - accept
        lines.append(f"classé par {_short(winner)} : {margin:.2f} au-dessus du seuil {accept:.2f}")
    if runner is not None and winner is not None:
        lines.append(
            f"suivant : {_short(runner)} (écart {winner.score - runner.score:.2f}) ; un indice plus fort "
            "pour lui changerait le dossier"
        )
    lines.append(f"un indice ≥ {accept:.2f} pour un autre immeuble enverrait le message « à vérifier »")
    lines.append(f"pour le déplacer : `{MOVE.format(key=key)}`")
    return lines


def _changes(
    decision: RoutingDecision, winner: Evidence | None, runner: Evidence | None, accept: float, key: str
) -> list[str]:
    if decision.outcome == "ignored":
        return [f"ignoré : {decision.reason}", f"pour le classer quand même : `{ASSIGN.format(key=key)}`"]
    if decision.outcome == "assigned":
        return _assigned(decision, winner, runner, accept, key)
    if decision.reason.startswith("evidence for several buildings"):
        return _several_buildings(decision, accept, key)
    if decision.reason.startswith("several dossiers equally likely"):
        return _tied(decision, key)
    return _unfiled(decision, accept, key)


def outlook(decision: RoutingDecision, thresholds: RoutingThresholds, key: str = "CLE") -> Outlook:
    """The winner, the runner-up, the margins and what would change ``decision``."""
    accept = thresholds.accept_score
    winner = _winner(decision) if decision.outcome == "assigned" else None
    runner = _runner_up(decision, winner)
    to_runner = round(winner.score - runner.score, 4) if winner and runner else None
    to_accept = round(winner.score - accept, 4) if winner else None
    changes = tuple(_changes(decision, winner, runner, accept, key))
    values = {name: float(value) for name, value in asdict(thresholds).items()}
    return Outlook(values, winner, runner, to_runner, to_accept, changes)
