"""``dossiermail access grant|revoke|list``: the signed links that open a building's extranet pages.

``grant`` prints the link alone on stdout (for scripts) and what it opens on stderr.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from dossiermail.commands.common import CliError, err, open_store_or_fail, out, print_listing
from dossiermail.extranet.grants import (
    Grant,
    GrantError,
    NewGrant,
    create_grant,
    link_for,
    list_grants,
    revoke_grant,
)
from dossiermail.extranet.secret import SecretError, load_secret
from dossiermail.publish.formatting import fr_datetime

BASE_URL_ENV = "DOSSIERMAIL_BASE_URL"
DEFAULT_BASE_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class GrantArgs:
    """The options of ``access grant``."""

    building: str
    audience: str
    expires: str
    label: str
    base_url: str | None
    secret_file: Path | None
    db: str | None


def grant_command(args: GrantArgs) -> None:
    """Store a grant and print its link."""
    base = base_url(args.base_url)
    secret = secret_or_fail(args.secret_file)
    request = NewGrant(args.building, args.audience, args.expires, args.label, os.environ.get("USER", ""))
    with _granting(args.db) as session:
        grant = create_grant(session, request)
    print(f"{base}/acces/{link_for(grant, secret)}")  # noqa: T201 - the link alone on stdout
    err.print(
        f"accès n°{grant.id} : {grant.building_name} ({grant.building}), audience {grant.audience.name}, "
        f"valable jusqu’au {fr_datetime(grant.expires_at)} — "
        f"pour le retirer : dossiermail access revoke {grant.id}",
        markup=False,
    )


def revoke_command(grant_id: int, db: str | None) -> None:
    """Revoke a grant: its link and every session opened with it stop working at once."""
    with _granting(db) as session:
        grant, newly = revoke_grant(session, grant_id)
    what = "révoqué" if newly else "était déjà révoqué"
    out.print(f"accès n°{grant.id} ({grant.building}, {grant.audience.name}) {what}", markup=False)


def list_command(building: str | None, db: str | None, *, as_json: bool) -> None:
    """Every grant with its state; tokens are never shown again."""
    now = datetime.now(UTC)
    with _granting(db) as session:
        grants = list_grants(session, building)
    print_listing(
        grants,
        as_json=as_json,
        record=lambda g: _record(g, now),
        title=f"Accès à l’extranet : {len(grants)}",
        columns=("n°", "immeuble", "audience", "libellé", "créé le", "expire le", "état"),
        cells=lambda g: (
            str(g.id),
            g.building,
            g.audience.name,
            g.label or "—",
            fr_datetime(g.created_at),
            fr_datetime(g.expires_at),
            g.state(now),
        ),
    )


def base_url(explicit: str | None) -> str:
    """``--base-url``, else ``$DOSSIERMAIL_BASE_URL``, else the local server; checked, without a final /."""
    value = (explicit or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise CliError(f"bad base URL {value!r}: expected http(s)://host[:port][/path]")
    return value


def secret_or_fail(secret_file: Path | None) -> bytes:
    """The server secret, or a one-line error."""
    try:
        return load_secret(secret_file)
    except SecretError as exc:
        raise CliError(str(exc)) from None


@contextmanager
def _granting(db: str | None) -> Iterator[Session]:
    store = open_store_or_fail(db)
    try:
        with store.session() as session:
            yield session
    except GrantError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.dispose()


def _record(grant: Grant, now: datetime) -> dict[str, object]:
    return {
        "id": grant.id,
        "building": grant.building,
        "audience": grant.audience.name,
        "label": grant.label,
        "created_by": grant.created_by,
        "created_at": grant.created_at.isoformat(),
        "expires_at": grant.expires_at.isoformat(),
        "revoked_at": grant.revoked_at.isoformat() if grant.revoked_at else None,
        "state": grant.state(now),
    }
