"""The routing decision: run the collectors in the configured order and weigh their evidence.

Precision first: evidence for two buildings, or two dossiers equally likely (same top score, same
number of strong clues), sends the message to review; so does the lack of a dossier (unless the
import asked for new dossiers "à qualifier"). The threshold is ``accept_score`` from routing.yaml.
Every decision then gets its visibility (``dossiermail.threading.visibility``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from dossiermail.domain import Evidence, NewDossier, ParsedMessage, RoutingDecision
from dossiermail.rules.model import RoutingThresholds
from dossiermail.threading.collectors import COLLECTORS, import_building, shared_references
from dossiermail.threading.collectors.subject_reference import NEW
from dossiermail.threading.collectors.thread_headers import missing_parents
from dossiermail.threading.context import MemoIndex, RoutingContext
from dossiermail.threading.visibility import visibility

ACCEPT_SCORE = RoutingThresholds().accept_score
"""The default decision threshold; the one in force is ``rules.routing.thresholds.accept_score``."""

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
    """Decide where ``message`` goes and who may see it, keeping every piece of evidence."""
    if not isinstance(context.index, MemoIndex):
        context = replace(context, index=memo_index(message, context))
    decision = _route(message, context)
    seen_by, why = visibility(message, context)
    if why is None:
        return decision
    return replace(decision, visibility=seen_by, evidence=(*decision.evidence, why))


def memo_index(message: ParsedMessage, context: RoutingContext) -> MemoIndex:
    """The index wrapped for this message; with thread headers and the ``shared_references`` step,
    told that both ``parents`` and ``linked`` will be asked (the store answers them together)."""
    memo = MemoIndex(context.index)
    if message.thread_ids and shared_references.NAME in context.rules.routing.steps:
        link_ids = shared_references.linked_ids(message)
        memo.expect_threads(message.thread_ids, link_ids, message.message_key)
    return memo


def _route(message: ParsedMessage, context: RoutingContext) -> RoutingDecision:
    evidence = collect_evidence(message, context)
    version = context.rules.version
    if message.auto_reply:
        reason = f"automatic or bulk mail: {message.auto_reply}"
        return RoutingDecision("ignored", None, None, 1.0, evidence, version, reason)
    strong = [e for e in evidence if e.score >= context.rules.routing.thresholds.accept_score]
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
        rivals = _best_supported({e.dossier for e in candidates if e.score == top.score}, candidates)
        top = next(e for e in candidates if e.dossier in rivals)
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


def _best_supported(rivals: set[str | None], candidates: list[Evidence]) -> set[str | None]:
    """Of dossiers tied at the top score, those backed by the most pieces of strong evidence.

    Only one building is in play here; a reply whose References reach two dossiers goes where most
    of the conversation is. Still tied: several dossiers, and the message goes to review.
    """
    support = Counter(e.dossier for e in candidates if e.dossier in rivals)
    most = max(support.values())
    return {dossier for dossier, count in support.items() if count == most}


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
