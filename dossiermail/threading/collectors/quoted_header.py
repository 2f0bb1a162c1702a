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
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

from rapidfuzz import fuzz

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.parse.quoted_headers import QuotedHeader, fold_text, name_key, quoted_headers
from dossiermail.parse.subject import normalize_subject, strip_accents
from dossiermail.threading.collectors.fuzzy_subject import allowed_buildings
from dossiermail.threading.context import FiledMessage, RoutingContext, norm_message_id

NAME = "quoted_header"
EXACT_MINUTES = 5
"""Tolerance on a quoted date that carries its UTC offset (quotes often drop the seconds)."""
EXACT_ONLY_PENALTY = 0.05
OLDER_PENALTY = 0.02
NAME_WORDS = 2
"""A quoted name without address is looked up when it has at least this many words."""
BODY_CHARS = 40
"""The quoted lines must total this many folded characters to count as the quoted message's text."""
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
        day = timedelta(days=1) if _day_only(header) else timedelta(0)
        return local - margin, local + day + margin
    until = message.date or datetime.now(UTC)
    return until - timedelta(days=thresholds.fuzzy_window_days), until


def _day_only(header: QuotedHeader) -> bool:
    """``On Mon, 3 Nov 2003, Name wrote:``: a local date without time of day."""
    date = header.date
    return date is not None and date.tzinfo is None and date.time() == time(0)


def _similarity(header: QuotedHeader, found: FiledMessage, message: ParsedMessage) -> float:
    subject = normalize_subject(header.subject) if header.subject else message.normalized_subject
    if not subject or not found.normalized_subject:
        return 0.0
    return fuzz.ratio(subject, found.normalized_subject) / 100


def _quotes_body(header: QuotedHeader, found: FiledMessage) -> bool:
    """Every quoted line below the header is in the filed message's own text."""
    if not header.quoted or sum(len(line) for line in header.quoted) < BODY_CHARS:
        return False
    text = _folded(found.new_text)
    return all(line in text for line in header.quoted)


_folded = lru_cache(maxsize=256)(fold_text)
"""``fold_text`` remembered: a sender's filed messages are candidates for many quoted headers."""


def _weigh(header: QuotedHeader, similarity: float, body: bool, ctx: RoutingContext) -> float:
    thresholds = ctx.rules.routing.thresholds
    if body or similarity >= thresholds.fuzzy_ratio:
        return thresholds.quoted_header_score
    exact = header.date is not None and header.date.tzinfo is not None
    return round(thresholds.quoted_header_score - EXACT_ONLY_PENALTY, 4) if exact else 0.0


def _distance(header: QuotedHeader, found: FiledMessage) -> float:
    if header.date is None or found.date is None or _day_only(header):
        return 0.0
    quoted = header.date if header.date.tzinfo else header.date.replace(tzinfo=UTC)
    return round(abs((found.date - quoted).total_seconds()) / 60)


def _name_key(name: str) -> tuple[str, ...]:
    return tuple(sorted(strip_accents(name).lower().replace(",", " ").split()))


def _sender(header: QuotedHeader, context: RoutingContext) -> str | None:
    """The quoted address, else the address of the one contact carrying the quoted name."""
    if header.sender is not None:
        return header.sender
    wanted = _name_key(header.name)
    found = {c.email.lower() for c in context.rules.contacts if wanted and _name_key(c.name) == wanted}
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class _Lookup:
    """The filed messages a quoted header may designate, and how they were looked up."""

    found: tuple[FiledMessage, ...]
    by_name: bool
    why: str
    """Why nothing could be looked up (empty when the lookup ran)."""


def _lookup(header: QuotedHeader, message: ParsedMessage, context: RoutingContext) -> _Lookup:
    since, until = _window(header, message, context)
    sender = _sender(header, context)
    if sender is not None:
        found = context.index.messages_from([sender], since, until)
    else:
        key = name_key(header.name)
        if len(key.split()) < NAME_WORDS:
            return _Lookup((), False, "no address in the quoted header, nor a contact or full name")
        if not allowed_buildings(message, context):
            return _Lookup((), True, "a quoted name is only looked up inside a building the rest allows")
        found = context.index.messages_named(key, since, until)
    own = norm_message_id(message.message_id) if message.message_id else None
    kept = tuple(
        f
        for f in found
        if f.message_id != own and (message.date is None or f.date is None or f.date <= message.date)
    )
    return _Lookup(kept, sender is None, "")


def _why(score: float, body: bool, by_name: bool) -> str:
    who = "same sender name" if by_name else "same sender"
    if body:
        return f"{who}, date and quoted text"
    return f"{who}, date and subject" if score else f"{who} and date, another subject"


def _match(header: QuotedHeader, message: ParsedMessage, context: RoutingContext) -> tuple[QuotedMatch, ...]:
    """The filed message the header designates; by name, every dossier tied at the top (-> review).

    Of one address's messages matching equally well but for the date distance (the same text sent
    to several buildings at once), those of the buildings the other evidence allows are preferred;
    a better match elsewhere still names its own building, and the decision sends the reply to
    review. Not so for a name: namesakes tied in two buildings both give evidence (review).
    """
    lookup = _lookup(header, message, context)
    if lookup.why:
        return (QuotedMatch(header, None, 0.0, lookup.why),)
    ranked: list[tuple[float, bool, float, float, FiledMessage]] = []
    for f in lookup.found:
        body = _quotes_body(header, f)
        ratio = _similarity(header, f, message)
        ranked.append((_weigh(header, ratio, body, context), body, ratio, -_distance(header, f), f))
    ranked.sort(key=lambda item: item[:4], reverse=True)
    if not ranked:
        who = f'"{header.name}"' if lookup.by_name else (header.sender or header.name)
        return (QuotedMatch(header, None, 0.0, f"no stored message from {who} at that date"),)
    group = [r for r in ranked if r[:3] == ranked[0][:3]]
    if not lookup.by_name:
        allowed = allowed_buildings(message, context)
        group = [r for r in group if r[4].building in allowed] or group
    top = group[0]
    tied = [r for r in group if r[:4] == top[:4]] if lookup.by_name else [top]
    places = {(r[4].building, r[4].dossier): r for r in tied}
    why = _why(top[0], top[1], lookup.by_name)
    if len(places) > 1:
        why = f"{why}; {len(places)} namesakes' messages tied"
    return tuple(QuotedMatch(header, r[4], r[0], why) for r in places.values())


def matches(message: ParsedMessage, context: RoutingContext) -> tuple[QuotedMatch, ...]:
    """Each quoted header of the message with the filed message(s) it designates."""
    return tuple(m for h in quoted_headers(message.text) for m in _match(h, message, context))


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
    """Evidence per quoted header (at most three), matched or not; tied namesakes each give one."""
    found: list[Evidence] = []
    position, previous = -1, None
    for match in matches(message, context):
        if match.header is not previous:
            position, previous = position + 1, match.header
        found.append(_evidence(position, match))
    return tuple(found)
