"""The routing decision: run the collectors in the configured order and weigh their evidence.

Precision first: evidence for two buildings, or two dossiers equally likely, sends the message to
review; so does the lack of a dossier (unless the import asked for new dossiers "à qualifier").
"""

from __future__ import annotations

import re

from dossiermail.domain import Evidence, NewDossier, ParsedMessage, RoutingDecision
from dossiermail.threading.collectors import COLLECTORS, import_building
from dossiermail.threading.collectors.subject_reference import NEW
from dossiermail.threading.collectors.thread_headers import missing_parents
from dossiermail.threading.context import RoutingContext

ACCEPT_SCORE = 0.5
"""Evidence below this score is recorded but never decides."""

_PREFIXES = re.compile(r"^\s*(?:(?:re|tr|fwd?|réf|ref|aw|wg)\s*:\s*)+", re.IGNORECASE)


def collect_evidence(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """Every collector's evidence, in the order of ``routing.yaml`` steps."""
    evidence = list(import_building.collect(message, context))
    for step in context.rules.routing.steps:
        evidence.extend(COLLECTORS[step](message, context))
    return tuple(evidence)


def dossier_title(subject: str, context: RoutingContext) -> str:
    """A dossier title from a subject: references and reply/forward prefixes removed."""
    title = context.reference_pattern.sub(" ", subject)
    title = " ".join(_PREFIXES.sub("", title).split())
    return title or "(sans objet)"


def route(message: ParsedMessage, context: RoutingContext) -> RoutingDecision:
    """Decide where ``message`` goes, keeping every piece of evidence."""
    evidence = collect_evidence(message, context)
    version = context.rules.version
    if message.auto_reply:
        reason = f"automatic or bulk mail: {message.auto_reply}"
        return RoutingDecision("ignored", None, None, 1.0, evidence, version, reason)
    strong = [e for e in evidence if e.score >= ACCEPT_SCORE]
    buildings = sorted({e.building for e in strong if e.building})
    if len(buildings) > 1:
        reason = f"evidence for several buildings: {', '.join(buildings)}"
        return RoutingDecision("needs_review", None, None, 0.0, evidence, version, reason)
    building = buildings[0] if buildings else None
    return _choose_dossier(message, context, evidence, strong, building)


def _choose_dossier(
    message: ParsedMessage,
    context: RoutingContext,
    evidence: tuple[Evidence, ...],
    strong: list[Evidence],
    building: str | None,
) -> RoutingDecision:
    version = context.rules.version
    candidates = sorted((e for e in strong if e.dossier), key=lambda e: -e.score)
    if candidates:
        top = candidates[0]
        rivals = {e.dossier for e in candidates if e.score == top.score}
        if len(rivals) > 1:
            reason = f"several dossiers equally likely: {', '.join(sorted(d for d in rivals if d))}"
            return RoutingDecision("needs_review", building, None, 0.0, evidence, version, reason)
        return _assign(message, context, evidence, top)
    if building and context.auto_dossiers:
        opens = NewDossier(building, None, dossier_title(message.subject, context), "a_qualifier")
        reason = "no dossier matched: new dossier à qualifier (--auto-dossiers)"
        return RoutingDecision("assigned", building, None, 0.5, evidence, version, reason, opens)
    waiting = missing_parents(message, context)
    reason = "no dossier matched" if building else "no building matched"
    return RoutingDecision(
        "needs_review", building, None, 0.0, evidence, version, reason, waiting_for=waiting
    )


def _assign(
    message: ParsedMessage, context: RoutingContext, evidence: tuple[Evidence, ...], top: Evidence
) -> RoutingDecision:
    version = context.rules.version
    assert top.building is not None  # strong dossier evidence always names its building
    if top.kind == NEW:
        title = dossier_title(message.subject, context)
        opens = NewDossier(top.building, top.dossier, title, "ouvert")
        reason = f"{top.kind}: {top.detail}"
        return RoutingDecision(
            "assigned", top.building, top.dossier, top.score, evidence, version, reason, opens
        )
    reason = f"{top.kind}: {top.detail}"
    return RoutingDecision("assigned", top.building, top.dossier, top.score, evidence, version, reason)
