"""Access grants in the store: creating, revoking, listing, and checking them on every request.

A grant gives one building's pages for one audience until ``expires_at``; ``revoked_at`` ends it at
once because the server looks the grant up again on every request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dossiermail.audience import Audience, AudienceError, parse_audience
from dossiermail.extranet.tokens import link_mac_matches, link_token, new_token_id, split_token
from dossiermail.store.models import AccessGrantRow, BuildingRow

_DURATION = re.compile(r"(?P<count>[1-9]\d{0,4})(?P<unit>[hdw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_DURATION = timedelta(days=3660)


class GrantError(ValueError):
    """A grant that cannot be made or found; the message is one line for the user."""


@dataclass(frozen=True)
class Grant:
    """One access grant as the server and the CLI see it."""

    id: int
    token_id: str
    building: str
    building_name: str
    audience: Audience
    label: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        """« active », « expirée » or « révoquée »."""
        if self.revoked_at is not None:
            return "révoquée"
        return "active" if now < self.expires_at else "expirée"

    def is_active(self, now: datetime) -> bool:
        """Whether this grant opens its building's pages at ``now``."""
        return self.state(now) == "active"


@dataclass(frozen=True)
class NewGrant:
    """What ``access grant`` asks for."""

    building: str
    audience: str
    expires_in: str = "90d"
    label: str = ""
    created_by: str = ""


def parse_duration(text: str) -> timedelta:
    """``12h``, ``90d``, ``2w``: a link lifetime (at most ten years)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise GrantError(f"bad duration {text!r}: expected a number and h, d or w, e.g. 90d")
    duration = int(match["count"]) * _UNITS[match["unit"]]
    if duration > MAX_DURATION:
        raise GrantError(f"duration {text!r} is longer than ten years")
    return duration


def create_grant(session: Session, request: NewGrant, now: datetime | None = None) -> Grant:
    """Store a grant and return it (``link_for`` makes its token)."""
    audience = _audience(request.audience)
    lifetime = parse_duration(request.expires_in)
    building = session.scalars(select(BuildingRow).where(BuildingRow.slug == request.building)).first()
    if building is None:
        known = ", ".join(session.scalars(select(BuildingRow.slug).order_by(BuildingRow.slug))) or "none"
        raise GrantError(f"unknown building {request.building!r} (known: {known})")
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    row = AccessGrantRow(
        token_id=new_token_id(),
        building_id=building.id,
        audience=audience.name,
        label=request.label,
        created_by=request.created_by,
        created_at=created,
        expires_at=created + lifetime,
    )
    session.add(row)
    session.flush()
    return _grant(row, building)


def link_for(grant: Grant, secret: bytes) -> str:
    """The token to put after ``/acces/`` for ``grant``."""
    return link_token(secret, grant.token_id, grant.building, grant.audience.name, grant.expires_at)


def revoke_grant(session: Session, grant_id: int, now: datetime | None = None) -> tuple[Grant, bool]:
    """Revoke grant ``grant_id``; the flag says whether it was active until now."""
    row = session.get(AccessGrantRow, grant_id)
    if row is None:
        raise GrantError(f"no access grant with id {grant_id} (see 'dossiermail access list')")
    newly = row.revoked_at is None
    if newly:
        row.revoked_at = now or datetime.now(UTC)
        session.flush()
    return _grant(row, row.building), newly


def list_grants(session: Session, building: str | None = None) -> Sequence[Grant]:
    """Every grant (or one building's), oldest first."""
    query = select(AccessGrantRow, BuildingRow).join(BuildingRow).order_by(AccessGrantRow.id)
    if building is not None:
        query = query.where(BuildingRow.slug == building)
    return [_grant(row, building_row) for row, building_row in session.execute(query)]


def grant_by_token_id(session: Session, token_id: str) -> Grant | None:
    """The grant with this random id, whatever its state."""
    query = select(AccessGrantRow, BuildingRow).join(BuildingRow).where(AccessGrantRow.token_id == token_id)
    found = session.execute(query).first()
    return None if found is None else _grant(*found)


def active_grant(session: Session, token_id: str, now: datetime | None = None) -> Grant | None:
    """The grant ``token_id`` if it is neither expired nor revoked."""
    grant = grant_by_token_id(session, token_id)
    if grant is None or not grant.is_active(now or datetime.now(UTC)):
        return None
    return grant


def grant_for_link(session: Session, secret: bytes, token: str, now: datetime | None = None) -> Grant | None:
    """The active grant a link token was signed for; ``None`` for forged, expired or revoked tokens."""
    parts = split_token(token)
    if parts is None:
        return None
    token_id, mac = parts
    grant = active_grant(session, token_id, now)
    if grant is None:
        return None
    if not link_mac_matches(secret, token_id, mac, grant.building, grant.audience.name, grant.expires_at):
        return None
    return grant


def _audience(text: str) -> Audience:
    try:
        return parse_audience(text)
    except AudienceError as exc:
        raise GrantError(str(exc)) from None


def _grant(row: AccessGrantRow, building: BuildingRow) -> Grant:
    return Grant(
        id=row.id,
        token_id=row.token_id,
        building=building.slug,
        building_name=building.name,
        audience=parse_audience(row.audience),
        label=row.label,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
