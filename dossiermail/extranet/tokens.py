"""Signing access-link tokens and session cookies with HMAC-SHA256.

A link token is ``<id>.<mac>``: a random id and an HMAC over (id, building, audience, expiry), so a
token only verifies against the grant it was made for. A session cookie is ``<id>.<mac>`` with a
MAC of its own (another purpose string), so a cookie is not a link and a link is not a cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

_TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{22}")
_MAC = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token_id() -> str:
    """A random grant id: 16 bytes, URL-safe base64 without padding (22 characters)."""
    return _b64(secrets.token_bytes(16))


def link_token(secret: bytes, token_id: str, building: str, audience: str, expires_at: datetime) -> str:
    """The token of an access link for this grant."""
    return f"{token_id}.{_link_mac(secret, token_id, building, audience, expires_at)}"


def split_token(token: str) -> tuple[str, str] | None:
    """``(id, mac)`` when ``token`` has the shape of a token, else ``None``."""
    token_id, dot, mac = token.partition(".")
    if not dot or not _TOKEN_ID.fullmatch(token_id) or not _MAC.fullmatch(mac):
        return None
    return token_id, mac


def link_mac_matches(
    secret: bytes, token_id: str, mac: str, building: str, audience: str, expires_at: datetime
) -> bool:
    """Whether ``mac`` was made with ``secret`` for exactly this grant (constant-time comparison)."""
    expected = _link_mac(secret, token_id, building, audience, expires_at)
    return hmac.compare_digest(expected, mac)


def session_value(secret: bytes, token_id: str) -> str:
    """The session cookie value naming the grant ``token_id``."""
    return f"{token_id}.{_mac(secret, 'session', token_id)}"


def session_token_id(secret: bytes, value: str) -> str | None:
    """The grant id a session cookie carries, or ``None`` when it is malformed or forged."""
    parts = split_token(value)
    if parts is None:
        return None
    token_id, mac = parts
    return token_id if hmac.compare_digest(_mac(secret, "session", token_id), mac) else None


def _link_mac(secret: bytes, token_id: str, building: str, audience: str, expires_at: datetime) -> str:
    expiry = expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _mac(secret, "access-link", token_id, building, audience, expiry)


def _mac(secret: bytes, purpose: str, *fields: str) -> str:
    message = "\x00".join((purpose, *fields)).encode("utf-8")
    return _b64(hmac.new(secret, message, hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
