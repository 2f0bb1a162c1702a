"""``dossiermail access grant|revoke|list`` and the grants behind them, on SQLite and PostgreSQL.

The CLI runs as a user runs it (a new process); the links it prints are checked against the store
with the same secret, the way the server checks them.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dossiermail.extranet.grants import (
    GrantError,
    NewGrant,
    create_grant,
    grant_for_link,
    link_for,
    list_grants,
    parse_duration,
    revoke_grant,
)
from dossiermail.extranet.secret import SECRET_ENV, SecretError, load_secret
from dossiermail.store import Store, open_store
from tests.test_extranet_site import add_buildings

SECRET = b"access-test-secret-0123456789abcdefgh"
LINK_PREFIX = "https://extranet.cabinet-azur.example.fr/acces/"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a new process, without a terminal and without an inherited secret or database."""
    environment = {**os.environ, "COLUMNS": "200", **(env or {})}
    for name in (SECRET_ENV, "DOSSIERMAIL_DB", "DOSSIERMAIL_BASE_URL"):
        if name not in (env or {}):
            environment.pop(name, None)
    command = [sys.executable, "-m", "dossiermail", *args]
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def office(tmp_path: Path) -> Path:
    """A working folder whose default store (var/dossiermail.db) knows the three buildings."""
    store = open_store(f"sqlite:///{tmp_path}/var/dossiermail.db")
    try:
        with store.session() as session:
            add_buildings(session)
    finally:
        store.dispose()
    return tmp_path


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dossiermail: error: ")
    for needle in needles:
        assert needle in lines[0]


def test_grant_prints_a_link_that_the_store_accepts(office: Path) -> None:
    result = run(
        "access", "grant", "les-mimosas", "--audience", "lot:12", "--expires", "30d",
        "--label", "M. Dupont lot 12", "--base-url", LINK_PREFIX.removesuffix("/acces/"), cwd=office,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith(LINK_PREFIX)
    assert "accès n°1" in result.stderr and "lot:12" in result.stderr
    secret_file = office / "var" / "secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    store = open_store(f"sqlite:///{office}/var/dossiermail.db")
    try:
        with store.sessions() as session:
            grant = grant_for_link(session, load_secret(secret_file), link.removeprefix(LINK_PREFIX))
            forged = grant_for_link(session, SECRET, link.removeprefix(LINK_PREFIX))
    finally:
        store.dispose()
    assert grant is not None and forged is None
    assert (grant.building, grant.audience.name, grant.label) == ("les-mimosas", "lot:12", "M. Dupont lot 12")
    assert timedelta(days=29) < grant.expires_at - datetime.now(UTC) <= timedelta(days=30)


def test_list_and_revoke(office: Path) -> None:
    for audience in ("syndic", "coproprietaires"):
        assert run("access", "grant", "le-belvedere", "--audience", audience, cwd=office).returncode == 0
    revoked = run("access", "revoke", "2", cwd=office)
    assert revoked.returncode == 0 and "révoqué" in revoked.stdout
    again = run("access", "revoke", "2", cwd=office)
    assert "déjà révoqué" in again.stdout
    listing = run("access", "list", "--json", cwd=office)
    records = [json.loads(line) for line in listing.stdout.splitlines()]
    assert [(r["id"], r["audience"], r["state"]) for r in records] == [
        (1, "syndic", "active"),
        (2, "coproprietaires", "révoquée"),
    ]
    table = run("access", "list", "--building", "le-belvedere", cwd=office)
    assert "coproprietaires" in table.stdout and "révoquée" in table.stdout
    assert run("access", "list", "--building", "les-mimosas", "--json", cwd=office).stdout == ""


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("grant", "nulle-part", "--audience", "syndic"), ("unknown building 'nulle-part'", "les-mimosas")),
        (("grant", "les-mimosas", "--audience", "gardien"), ("unknown audience 'gardien'",)),
        (("grant", "les-mimosas", "--audience", "lot:0"), ("unknown audience 'lot:0'",)),
        (("grant", "les-mimosas", "--audience", "syndic", "--expires", "3 mois"), ("bad duration '3 mois'",)),
        (("grant", "les-mimosas", "--audience", "syndic", "--expires", "99999w"), ("longer than ten years",)),
        (("grant", "les-mimosas", "--audience", "syndic", "--base-url", "ftp://x"), ("bad base URL",)),
        (("revoke", "42"), ("no access grant with id 42",)),
    ],
)
def test_mistakes_are_one_line(office: Path, args: tuple[str, ...], needles: tuple[str, ...]) -> None:
    one_line_error(run("access", *args, cwd=office), *needles)


def test_a_short_secret_is_refused(office: Path) -> None:
    result = run(
        "access", "grant", "les-mimosas", "--audience", "syndic", cwd=office, env={SECRET_ENV: "court"}
    )
    one_line_error(result, "too short")


def test_the_environment_secret_wins_over_the_file(office: Path) -> None:
    secret = "s" * 48
    result = run(
        "access", "grant", "les-mimosas", "--audience", "syndic", cwd=office, env={SECRET_ENV: secret}
    )
    token = result.stdout.strip().rsplit("/", 1)[1]
    assert not (office / "var" / "secret").exists()
    store = open_store(f"sqlite:///{office}/var/dossiermail.db")
    try:
        with store.sessions() as session:
            assert grant_for_link(session, secret.encode(), token) is not None
    finally:
        store.dispose()


def test_the_secret_file_is_created_once_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    path = tmp_path / "deep" / "secret"
    first = load_secret(path)
    assert load_secret(path) == first
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("trop court\n", encoding="ascii")
    with pytest.raises(SecretError, match="too short"):
        load_secret(path)


def test_grants_on_both_backends(store: Store) -> None:
    with store.session() as session:
        add_buildings(session)
        grant = create_grant(session, NewGrant("villa-carabacel", "lot-7", "2w", "Mme Roux"))
        other = create_grant(session, NewGrant("villa-carabacel", "conseil_syndical", "12h"))
    token = link_for(grant, SECRET)
    with store.sessions() as session:
        found = grant_for_link(session, SECRET, token)
        assert found is not None and found.audience.name == "lot:7"
        assert grant_for_link(session, SECRET, link_for(other, SECRET)) is not None
        later = datetime.now(UTC) + timedelta(days=15)
        assert grant_for_link(session, SECRET, token, now=later) is None
    with store.session() as session:
        revoked, newly = revoke_grant(session, grant.id)
    assert newly and revoked.revoked_at is not None
    with store.sessions() as session:
        assert grant_for_link(session, SECRET, token) is None
        states = {g.id: g.state(datetime.now(UTC)) for g in list_grants(session)}
    assert states == {grant.id: "révoquée", other.id: "active"}


@pytest.mark.parametrize(("text", "hours"), [("12h", 12), ("90d", 90 * 24), ("2w", 14 * 24), (" 1d ", 24)])
def test_durations(text: str, hours: int) -> None:
    assert parse_duration(text) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["", "0d", "90", "d", "-1d", "1.5d", "1y", "1 d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(GrantError, match="bad duration"):
        parse_duration(text)
