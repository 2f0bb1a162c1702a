"""Collector: a quoted header (``De : … Envoyé : … Objet :``, ``Le … a écrit :``) names a filed message.

Replies sent from phones or forwarded by Outlook lose In-Reply-To/References but still quote their
parent. The quoted sender address and date (and subject, when the block has one) are looked up
through ``RoutingIndex.messages_from`` (indexed on the sender address, within a date window). A
match with the same subject scores ``quoted_header_score`` (0.8, below thread headers); an exact
quoted time (with offset) without subject agreement scores a little less. A header with a name but
no address (Outlook's ``De : Claire Martin``) is looked up in the address book by name (either
word order); a name no contact carries is only recorded. The evidence names the matched message's
building: when it differs from what the other evidence allows, the decision sees two buildings and
sends the message to review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rapidfuzz import fuzz

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.parse.quoted_headers import QuotedHeader, quoted_headers
from dossiermail.parse.subject import normalize_subject, strip_accents
from dossiermail.threading.context import FiledMessage, RoutingContext, norm_message_id

NAME = "quoted_header"
EXACT_MINUTES = 5
"""Tolerance on a quoted date that carries its UTC offset (quotes often drop the seconds)."""
EXACT_ONLY_PENALTY = 0.05
OLDER_PENALTY = 0.02
"""Headers quoted further down (older messages of the thread) weigh a little less."""


@dataclass(frozen=True)
class QuotedMatch:
    """A quoted header, the filed message it designates (if any) and how much that counts."""

    header: QuotedHeader
    found: FiledMessage | None
    score: float
    why: str


def _window(
    header: QuotedHeader, message: ParsedMessage, context: RoutingContext
) -> tuple[datetime, datetime]:
    thresholds = context.rules.routing.thresholds
    if header.date is not None and header.date.tzinfo is not None:
        margin = timedelta(minutes=EXACT_MINUTES)
        return header.date - margin, header.date + margin
    if header.date is not None:
        local = header.date.replace(tzinfo=UTC)
        margin = timedelta(hours=thresholds.quoted_window_hours)
        return local - margin, local + margin
    until = message.date or datetime.now(UTC)
    return until - timedelta(days=thresholds.fuzzy_window_days), until


def _similarity(header: QuotedHeader, found: FiledMessage, message: ParsedMessage) -> float:
    subject = normalize_subject(header.subject) if header.subject else message.normalized_subject
    if not subject or not found.normalized_subject:
        return 0.0
    return fuzz.ratio(subject, found.normalized_subject) / 100


def _weigh(header: QuotedHeader, similarity: float, ctx: RoutingContext) -> float:
    thresholds = ctx.rules.routing.thresholds
    if similarity >= thresholds.fuzzy_ratio:
        return thresholds.quoted_header_score
    exact = header.date is not None and header.date.tzinfo is not None
    return round(thresholds.quoted_header_score - EXACT_ONLY_PENALTY, 4) if exact else 0.0


def _distance(header: QuotedHeader, found: FiledMessage) -> float:
    if header.date is None or found.date is None:
        return 0.0
    quoted = header.date if header.date.tzinfo else header.date.replace(tzinfo=UTC)
    return abs((found.date - quoted).total_seconds())


def _name_key(name: str) -> tuple[str, ...]:
    return tuple(sorted(strip_accents(name).lower().replace(",", " ").split()))


def _sender(header: QuotedHeader, context: RoutingContext) -> str | None:
    """The quoted address, else the address of the one contact carrying the quoted name."""
    if header.sender is not None:
        return header.sender
    wanted = _name_key(header.name)
    found = {c.email.lower() for c in context.rules.contacts if wanted and _name_key(c.name) == wanted}
    return found.pop() if len(found) == 1 else None


def _match(header: QuotedHeader, message: ParsedMessage, context: RoutingContext) -> QuotedMatch:
    sender = _sender(header, context)
    if sender is None:
        return QuotedMatch(header, None, 0.0, "no address in the quoted header, nor a contact of that name")
    since, until = _window(header, message, context)
    own = norm_message_id(message.message_id) if message.message_id else None
    found = [
        f
        for f in context.index.messages_from([sender], since, until)
        if f.message_id != own and (message.date is None or f.date is None or f.date <= message.date)
    ]
    similar = [(_similarity(header, f, message), f) for f in found]
    weighed = sorted(
        ((_weigh(header, ratio, context), ratio, -_distance(header, f), f) for ratio, f in similar),
        key=lambda item: item[:3],
        reverse=True,
    )
    if not weighed:
        return QuotedMatch(header, None, 0.0, f"no stored message from {sender} at that date")
    score, _, _, best = weighed[0]
    why = "same sender, date and subject" if score else "same sender and date, another subject"
    return QuotedMatch(header, best, score, why)


def matches(message: ParsedMessage, context: RoutingContext) -> tuple[QuotedMatch, ...]:
    """Each quoted header of the message with the filed message it designates."""
    return tuple(_match(h, message, context) for h in quoted_headers(message.text))


def _evidence(position: int, match: QuotedMatch) -> Evidence:
    header, found = match.header, match.found
    when = header.date.strftime("%Y-%m-%d %H:%M") if header.date else "no date"
    rule = f"quoted header #{position + 1}: {header.sender or header.name or '?'}, {when}"
    if found is None:
        return Evidence(NAME, None, None, 0.0, rule, match.why)
    if found.outcome != "assigned" or not found.dossier:
        return Evidence(NAME, None, None, 0.0, rule, f"quotes <{found.message_id}>, which is {found.outcome}")
    score = max(0.0, round(match.score - OLDER_PENALTY * position, 4)) if match.score else 0.0
    detail = f"quotes <{found.message_id}> ({match.why})"
    return Evidence(NAME, found.building, found.dossier, score, rule, detail)


def collect(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """One piece of evidence per quoted header (at most three), matched or not."""
    return tuple(_evidence(i, m) for i, m in enumerate(matches(message, context)))
