"""Collector: messages already filed that point at this message, or at the same Message-IDs.

Completes ``thread_headers`` when the order of arrival is not the order of writing: a reply filed
before its parent pulls the parent into its dossier, and two replies to a parent never received
(a "ghost") end up together. The evidence names the building of the linked message, so a link
across buildings shows as two buildings and goes to review.
"""

from __future__ import annotations

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.threading.context import RoutedParent, RoutingContext, norm_message_id

NAME = "shared_references"
CHILD_SCORE = 0.85
SIBLING_SCORE = 0.8


def _evidence(link: RoutedParent, own_id: str | None) -> Evidence:
    child = link.message_id == own_id
    rule = "a reply already filed" if child else "shares a referenced message"
    if link.outcome == "assigned" and link.dossier:
        score = CHILD_SCORE if child else SIBLING_SCORE
        detail = "replies to this message" if child else f"also points at <{link.message_id}>"
        return Evidence(NAME, link.building, link.dossier, score, rule, detail)
    return Evidence(
        NAME, None, None, 0.0, rule, f"a message pointing at <{link.message_id}> is {link.outcome}"
    )


def linked_ids(message: ParsedMessage) -> tuple[str, ...]:
    """The ids whose links this collector asks for: the message's own id, then its thread ids."""
    own_id = norm_message_id(message.message_id) if message.message_id else None
    return ((own_id,) if own_id else ()) + message.thread_ids


def collect(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """The best link per dossier (children before siblings), plus unfiled links at score 0."""
    own_id = norm_message_id(message.message_id) if message.message_id else None
    ids = linked_ids(message)
    if not ids:
        return ()
    found = [_evidence(link, own_id) for link in context.index.linked(ids, message.message_key)]
    best: dict[tuple[str | None, str | None], Evidence] = {}
    for evidence in sorted(found, key=lambda e: -e.score):
        best.setdefault((evidence.building, evidence.dossier), evidence)
    return tuple(best.values())
