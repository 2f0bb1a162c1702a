"""Collector: the same sender wrote, minutes earlier, a message already filed in the allowed building.

People send a conversation in bursts: a supplier mails the quote, then the photos two minutes later
without "RE :"; a patch series arrives as ten messages in a minute. When the sender (not a
gestionnaire: they write about every dossier in turn; found by address or by a display name of two
words or more, for someone writing from two addresses) sent a message within ``burst_minutes`` that
is filed in an open dossier of the one building the other evidence allows, and both subjects share
a significant word (so a second, unrelated matter sent in the same minute stays apart) without
being identical (the same sender reusing a subject starts a new conversation, as in
``fuzzy_subject``), that dossier gets weak evidence (``burst_score``, just above the decision
threshold, below every other dossier evidence).
Several dossiers in the window name none of them. Like ``fuzzy_subject``, it never chooses a
building: it searches only when exactly one is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.parse.quoted_headers import name_key
from dossiermail.threading.collectors.fuzzy_subject import allowed_buildings
from dossiermail.threading.context import FiledMessage, MemoIndex, RoutingContext, norm_message_id

NAME = "participant_window"
NAME_WORDS = 2
MIN_WORD = 3
COMMON_WORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "from",
        "your",
        "you",
        "are",
        "not",
        "les",
        "des",
        "une",
        "pour",
        "par",
        "sur",
        "dans",
        "avec",
        "vos",
        "votre",
        "est",
        "pas",
    ]
)
"""Words too common to tie two subjects together."""


def _words(normalized_subject: str) -> frozenset[str]:
    return frozenset(w for w in normalized_subject.split() if len(w) >= MIN_WORD) - COMMON_WORDS


def _rule(context: RoutingContext) -> str:
    return f"same sender within {context.rules.routing.thresholds.burst_minutes} min"


def _sender(message: ParsedMessage, context: RoutingContext) -> str | None:
    sender = message.from_.email.lower() if message.from_ and message.from_.email else None
    if sender is None:
        return None
    contact = context.rules.contact(sender)
    return None if contact is not None and contact.role == "gestionnaire" else sender


def _sent(
    message: ParsedMessage, context: RoutingContext, sender: str, since: datetime
) -> list[FiledMessage]:
    """The sender's mail in the window by address; when none of it counts, by display name
    (someone writing from two addresses, e.g. a list archive's rewritten one), of ``NAME_WORDS``+ words."""
    assert message.date is not None
    key = name_key(message.from_.name) if message.from_ else ""
    if len(key.split()) >= NAME_WORDS and isinstance(context.index, MemoIndex):
        context.index.expect_sender(sender, key, since, message.date)
    found = _kept(message, context.index.messages_from([sender], since, message.date))
    if found or len(key.split()) < NAME_WORDS:
        return found
    return _kept(message, context.index.messages_named(key, since, message.date))


def _kept(message: ParsedMessage, sent: Sequence[FiledMessage]) -> list[FiledMessage]:
    """Filed messages of another dossier-worthy subject: assigned, sharing a significant word."""
    own = norm_message_id(message.message_id) if message.message_id else None
    words = _words(message.normalized_subject)
    return [
        f
        for f in sent
        if f.message_id != own
        and f.outcome == "assigned"
        and f.dossier
        and f.normalized_subject != message.normalized_subject
        and words & _words(f.normalized_subject)
    ]


def _filed(message: ParsedMessage, context: RoutingContext, sender: str, building: str) -> list[FiledMessage]:
    assert message.date is not None
    since = message.date - timedelta(minutes=context.rules.routing.thresholds.burst_minutes)
    return [f for f in _sent(message, context, sender, since) if f.building == building]


def collect(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """Weak evidence for the one dossier the sender wrote to just before, else a note or nothing."""
    sender = _sender(message, context)
    buildings = allowed_buildings(message, context)
    if sender is None or message.date is None or len(buildings) != 1:
        return ()
    (building,) = buildings
    found = _filed(message, context, sender, building)
    dossiers = sorted({f.dossier for f in found if f.dossier})
    if not dossiers:
        return ()
    if len(dossiers) > 1:
        detail = f"{sender} wrote to several dossiers just before: {', '.join(dossiers)}"
        return (Evidence(NAME, None, None, 0.0, _rule(context), detail),)
    latest = found[-1]
    score = context.rules.routing.thresholds.burst_score
    detail = f"{latest.sender or sender} wrote <{latest.message_id}> to this dossier just before"
    return (Evidence(NAME, building, dossiers[0], score, _rule(context), detail),)
