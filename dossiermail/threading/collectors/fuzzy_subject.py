"""Collector: a reply whose subject is close to one of an open dossier's, in an allowed building only.

Threads lose their headers (phones, Outlook ``TR :`` forwards); the subject usually survives. This
collector compares the normalized subject (rapidfuzz ``ratio``) with messages already filed in
non-closed dossiers that were active within ``fuzzy_window_days``. It never chooses a building: it searches
only when the other evidence (forced building, building address, a contact of exactly one building)
allows exactly one, so a fuzzy match can never file mail into another building's dossier. Replies
and forwards (a ``RE :``/``TR :``… prefix, or thread headers) are matched freely. A message without
prefix only joins a message with the very same normalized subject, written by someone else, sharing
a participant (another person answering "Fuite toiture" with a new mail rather than "Répondre"), and
a little lower (``FRESH_PENALTY``); the same sender reusing a subject starts a new conversation.
Losers are recorded at score 0 with their similarity and the threshold. Threshold and window come
from ``routing.yaml``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from rapidfuzz import fuzz

from dossiermail.domain import Evidence, ParsedMessage
from dossiermail.parse.subject import strip_accents
from dossiermail.threading.collectors.address_book import contact_buildings, participant_addresses
from dossiermail.threading.collectors.explicit_address import addressed_buildings
from dossiermail.threading.context import Candidate, RoutingContext, subject_block

NAME = "fuzzy_subject"
BASE_SCORE = 0.6
SPREAD = 0.15
OVERLAP_BONUS = 0.05
"""A shared participant (sender or recipient) adds this; scores stay below thread headers (0.85)."""
LOSERS_KEPT = 3
MORE_BONUS = 0.01
MORE_CAP = 0.04
"""Each further matching message of the same dossier adds ``MORE_BONUS`` (at most ``MORE_CAP``): of
two dossiers with the same subject, the one holding more of the conversation wins."""
FRESH_PENALTY = 0.1
"""A message without reply prefix or thread headers scores this much less (and needs an overlap)."""

_REPLY = re.compile(r"^\s*(?:\[[^\[\]]*\]\s*)*(?:re|tr|fwd?|fw|ref|aw|wg)\s*(?:\[\d+\]|\(\d+\))?\s*:")


def is_reply(message: ParsedMessage) -> bool:
    """A reply or forward: a reply/forward prefix in the subject, or thread headers."""
    prefixed = _REPLY.match(strip_accents(message.subject).lower()) is not None
    return prefixed or bool(message.thread_ids)


def allowed_buildings(message: ParsedMessage, context: RoutingContext) -> frozenset[str]:
    """Buildings the non-fuzzy evidence allows: forced, addressed, or a single-building contact."""
    forced = {context.forced_building} if context.forced_building else set()
    return frozenset(forced | addressed_buildings(message, context) | contact_buildings(message, context))


def _note(detail: str, context: RoutingContext) -> Evidence:
    return Evidence(NAME, None, None, 0.0, _rule(context), detail)


def _rule(context: RoutingContext) -> str:
    thresholds = context.rules.routing.thresholds
    return f"threshold {thresholds.fuzzy_ratio:.2f}, {thresholds.fuzzy_window_days} days"


def _window(message: ParsedMessage, context: RoutingContext) -> tuple[datetime | None, datetime | None]:
    """Dossier messages from ``fuzzy_window_days`` before this one to a day after (clock skew)."""
    if message.date is None:
        return None, None
    days = context.rules.routing.thresholds.fuzzy_window_days
    return message.date - timedelta(days=days), message.date + timedelta(days=1)


def _similarity(message: ParsedMessage, candidate: Candidate) -> float:
    return fuzz.ratio(message.normalized_subject, candidate.normalized_subject) / 100


def _score(similarity: float, overlap: bool, threshold: float) -> float:
    spread = SPREAD * (similarity - threshold) / (1 - threshold) if threshold < 1 else SPREAD
    return round(BASE_SCORE + spread + (OVERLAP_BONUS if overlap else 0.0), 4)


def _joins_fresh(message: ParsedMessage, candidate: Candidate, overlap: bool) -> bool:
    """A message without reply prefix: same subject exactly, another sender, a shared participant."""
    sender = message.from_.email.lower() if message.from_ and message.from_.email else None
    same = message.normalized_subject == candidate.normalized_subject
    return same and overlap and sender is not None and sender != candidate.sender


def _best_per_dossier(
    message: ParsedMessage, candidates: list[Candidate], reply: bool, threshold: float
) -> dict[tuple[str, str], tuple[float, bool, Candidate, int]]:
    """Per dossier: the best (similarity, overlap, candidate) and how many of its messages match."""
    people = set(participant_addresses(message))
    best: dict[tuple[str, str], tuple[float, bool, Candidate, int]] = {}
    for candidate in candidates:
        key = (candidate.building, candidate.dossier)
        overlap = bool(people & candidate.participants)
        if not reply and not _joins_fresh(message, candidate, overlap):
            overlap = False  # recorded as a loser below
        similarity = _similarity(message, candidate)
        matching = best[key][3] if key in best else 0
        matching += similarity >= threshold
        if key not in best or (similarity, overlap) > best[key][:2]:
            best[key] = (similarity, overlap, candidate, matching)
        else:
            best[key] = (*best[key][:3], matching)
    return best


def _evidence(
    similarity: float,
    overlap: bool,
    candidate: Candidate,
    matching: int,
    reply: bool,
    context: RoutingContext,
) -> Evidence:
    shared = ", shares a participant" if overlap else ""
    detail = f"'{candidate.normalized_subject}' similarity {similarity:.2f}{shared}"
    threshold = context.rules.routing.thresholds.fuzzy_ratio
    score = _score(similarity, overlap, threshold) if similarity >= threshold else 0.0
    if score and matching > 1:
        score = round(score + min(MORE_CAP, MORE_BONUS * (matching - 1)), 4)
        detail += f", {matching} matching messages"
    if score and not reply:
        score = round(score - FRESH_PENALTY, 4) if overlap else 0.0
        counted = (
            ""
            if overlap
            else " (counts only for the same subject by another sender, with a shared participant)"
        )
        detail += f"; no reply prefix{counted}"
    return Evidence(NAME, candidate.building, candidate.dossier, score, _rule(context), detail)


def _precondition(message: ParsedMessage, context: RoutingContext) -> Evidence | str:
    """The one building to search, or a note saying why fuzzy matching does not run."""
    if not subject_block(message.normalized_subject):
        return _note("empty subject", context)
    buildings = allowed_buildings(message, context)
    if len(buildings) != 1:
        named = ", ".join(sorted(buildings)) or "none"
        return _note(f"searches only when exactly one building is allowed (allowed: {named})", context)
    (building,) = buildings
    return building


def collect(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """The best match per open dossier of the one allowed building; winners and a few losers."""
    building = _precondition(message, context)
    if isinstance(building, Evidence):
        return (building,)
    since, until = _window(message, context)
    block = subject_block(message.normalized_subject)
    candidates = context.index.open_dossiers([building], block, since, until)
    found = [c for c in candidates if c.building == building]
    reply = is_reply(message)
    threshold = context.rules.routing.thresholds.fuzzy_ratio
    best = _best_per_dossier(message, found, reply, threshold)
    ranked = sorted(best.values(), key=lambda f: (f[0], f[1], f[3]), reverse=True)
    evidence = [_evidence(*f, reply, context) for f in ranked]
    winners = [e for e in evidence if e.score > 0]
    losers = [e for e in evidence if e.score == 0][:LOSERS_KEPT]
    if not evidence:
        days = context.rules.routing.thresholds.fuzzy_window_days
        return (_note(f"no open dossier of {building} with subject block '{block}' in {days} days", context),)
    return tuple(winners + losers)
