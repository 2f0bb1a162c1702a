"""Collector: a reply whose subject is close to one of an open dossier's, in an allowed building only.

Threads lose their headers (phones, Outlook ``TR :`` forwards); the subject usually survives. This
collector compares the normalized subject (rapidfuzz ``ratio``) with messages already filed in
non-closed dossiers that were active within ``WINDOW_DAYS``. It never chooses a building: it searches
only when the other evidence (forced building, building address, a contact of exactly one building)
allows exactly one, so a fuzzy match can never file mail into another building's dossier. Only
replies and forwards (a ``RE :``/``TR :``… prefix, or thread headers) are matched: a fresh subject
starts a conversation. Losers are recorded at score 0 with their similarity and the threshold.
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
THRESHOLD = 0.9
"""Minimum ``ratio`` similarity of the normalized subjects."""
WINDOW_DAYS = 120
BASE_SCORE = 0.6
SPREAD = 0.15
OVERLAP_BONUS = 0.05
"""A shared participant (sender or recipient) adds this; scores stay below thread headers (0.85)."""
LOSERS_KEPT = 3

_REPLY = re.compile(r"^\s*(?:\[[^\[\]]*\]\s*)*(?:re|tr|fwd?|fw|ref|aw|wg)\s*(?:\[\d+\]|\(\d+\))?\s*:")


def is_reply(message: ParsedMessage) -> bool:
    """A reply or forward: a reply/forward prefix in the subject, or thread headers."""
    prefixed = _REPLY.match(strip_accents(message.subject).lower()) is not None
    return prefixed or bool(message.thread_ids)


def allowed_buildings(message: ParsedMessage, context: RoutingContext) -> frozenset[str]:
    """Buildings the non-fuzzy evidence allows: forced, addressed, or a single-building contact."""
    forced = {context.forced_building} if context.forced_building else set()
    return frozenset(forced | addressed_buildings(message, context) | contact_buildings(message, context))


def _note(detail: str) -> Evidence:
    return Evidence(NAME, None, None, 0.0, f"threshold {THRESHOLD:.2f}", detail)


def _window(message: ParsedMessage) -> tuple[datetime | None, datetime | None]:
    """Dossier messages from ``WINDOW_DAYS`` before this one to a day after (clock skew)."""
    if message.date is None:
        return None, None
    return message.date - timedelta(days=WINDOW_DAYS), message.date + timedelta(days=1)


def _similarity(message: ParsedMessage, candidate: Candidate) -> float:
    return fuzz.ratio(message.normalized_subject, candidate.normalized_subject) / 100


def _score(similarity: float, overlap: bool) -> float:
    scaled = BASE_SCORE + SPREAD * (similarity - THRESHOLD) / (1 - THRESHOLD)
    return round(scaled + (OVERLAP_BONUS if overlap else 0.0), 4)


def _best_per_dossier(
    message: ParsedMessage, candidates: list[Candidate]
) -> dict[tuple[str, str], tuple[float, bool, Candidate]]:
    people = set(participant_addresses(message))
    best: dict[tuple[str, str], tuple[float, bool, Candidate]] = {}
    for candidate in candidates:
        key = (candidate.building, candidate.dossier)
        found = (_similarity(message, candidate), bool(people & candidate.participants), candidate)
        if key not in best or found[:2] > best[key][:2]:
            best[key] = found
    return best


def _evidence(similarity: float, overlap: bool, candidate: Candidate) -> Evidence:
    shared = ", shares a participant" if overlap else ""
    detail = f"'{candidate.normalized_subject}' similarity {similarity:.2f}{shared}"
    rule = f"threshold {THRESHOLD:.2f}, {WINDOW_DAYS} days"
    score = _score(similarity, overlap) if similarity >= THRESHOLD else 0.0
    return Evidence(NAME, candidate.building, candidate.dossier, score, rule, detail)


def _precondition(message: ParsedMessage, context: RoutingContext) -> Evidence | str:
    """The one building to search, or a note saying why fuzzy matching does not run."""
    if not is_reply(message):
        return _note("not a reply or forward: a new subject starts a conversation")
    if not subject_block(message.normalized_subject):
        return _note("empty subject")
    buildings = allowed_buildings(message, context)
    if len(buildings) != 1:
        named = ", ".join(sorted(buildings)) or "none"
        return _note(f"searches only when exactly one building is allowed (allowed: {named})")
    (building,) = buildings
    return building


def collect(message: ParsedMessage, context: RoutingContext) -> tuple[Evidence, ...]:
    """The best match per open dossier of the one allowed building; winners and a few losers."""
    building = _precondition(message, context)
    if isinstance(building, Evidence):
        return (building,)
    since, until = _window(message)
    block = subject_block(message.normalized_subject)
    candidates = context.index.open_dossiers([building], block, since, until)
    found = [c for c in candidates if c.building == building]
    ranked = sorted(_best_per_dossier(message, found).values(), key=lambda f: f[:2], reverse=True)
    evidence = [_evidence(*f) for f in ranked]
    winners = [e for e in evidence if e.score > 0]
    losers = [e for e in evidence if e.score == 0][:LOSERS_KEPT]
    if not evidence:
        return (_note(f"no open dossier of {building} with subject block '{block}' in {WINDOW_DAYS} days"),)
    return tuple(winners + losers)
