"""Collector: In-Reply-To / References pointing at a message already routed to a dossier.

The direct parent (In-Reply-To) weighs a little more than older References. A parent not yet in the
store leaves the message waiting; it is re-routed ("healed") when that parent arrives.

A parent that lost its own thread headers was filed alone in a new dossier "à qualifier"
(confidence 0.5, ``--auto-dossiers``); when an older referenced message sits in another dossier, the
parent counts less (``WEAK_PARENT_SCORE``) so the reply follows the conversation rather than the
stray: one lost header then misfiles one message, not its whole sub-thread.
"""

from __future__ import annotations

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.threading.context import RoutedParent, RoutingContext

NAME = "thread_headers"
PARENT_SCORE = 0.9
ANCESTOR_SCORE = 0.85
WEAK_PARENT_SCORE = 0.7
FRESH_CONFIDENCE = 0.5
"""Decision confidence of a message filed alone in a new dossier "à qualifier"."""


def is_fresh(parent: RoutedParent) -> bool:
    """The message was only filed into a new dossier "à qualifier" because nothing else matched."""
    return parent.confidence <= FRESH_CONFIDENCE


def _evidence(parent: RoutedParent, direct: bool, stray: bool = False) -> Evidence:
    header = "In-Reply-To" if direct else "References"
    if parent.outcome == "assigned" and parent.dossier:
        score = (WEAK_PARENT_SCORE if stray else PARENT_SCORE) if direct else ANCESTOR_SCORE
        detail = f"replies to <{parent.message_id}>"
        if stray:
            detail += " (filed alone in a new dossier; older messages of the thread are elsewhere)"
        return Evidence(NAME, parent.building, parent.dossier, score, header, detail)
    detail = f"<{parent.message_id}> is {parent.outcome}"
    return Evidence(NAME, None, None, 0.0, header, detail)


def missing_parents(message: ParsedMessage, context: RoutingContext) -> tuple[str, ...]:
    """Message-IDs this message points at that the store does not hold yet."""
    known = {p.message_id for p in context.index.parents(message.thread_ids)}
    return tuple(i for i in message.thread_ids if i not in known)


def collect(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """One piece of evidence per stored parent, plus one noting parents not yet received."""
    ids = message.thread_ids
    if not ids:
        return ()
    direct = set(message.in_reply_to)
    parents = context.index.parents(ids)
    elsewhere = {p.dossier for p in parents if p.message_id not in direct and p.outcome == "assigned"}
    evidence = [
        _evidence(p, p.message_id in direct, is_fresh(p) and bool(elsewhere - {p.dossier})) for p in parents
    ]
    missing = [i for i in ids if i not in {p.message_id for p in parents}]
    if missing:
        detail = f"{len(missing)} referenced message(s) not received yet, e.g. <{missing[0]}>"
        evidence.append(Evidence(NAME, None, None, 0.0, "References", detail))
    return tuple(evidence)
