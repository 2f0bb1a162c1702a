"""Opening the store: database URL resolution, engine set-up and migrations to the latest schema.

The embedded default is ``sqlite:///var/dossiermail.db`` relative to the working directory; the
``DOSSIERMAIL_DB`` environment variable or ``--db`` selects another URL (PostgreSQL via psycopg 3).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DB_URL = "sqlite:///var/dossiermail.db"
MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x646D6967  # PostgreSQL advisory lock key held while migrating ("dmig")


class StoreError(Exception):
    """The store cannot be opened or used; the message is one line for the user."""


def database_url(explicit: str | None = None) -> str:
    """The URL to use: ``--db`` first, then ``DOSSIERMAIL_DB``, then the embedded SQLite file."""
    return explicit or os.environ.get("DOSSIERMAIL_DB") or DEFAULT_DB_URL


@dataclass(frozen=True)
class Store:
    """An open database: the engine and a session factory."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling never emits BEGIN before a SAVEPOINT, so every
    # savepoint became its own committed (fsynced) transaction; SQLAlchemy emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        timeouts = _pg_timeouts(parsed.query) if parsed.get_backend_name() == "postgresql" else {}
        return create_engine(url, pool_pre_ping=True, connect_args=timeouts)
    except Exception as exc:  # unknown dialect or missing driver
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from None


# A database that stops answering must not hold a caller forever: connecting gives up after 10 s, a
# dead peer is noticed by TCP keepalives, and unacknowledged writes abort after 30 s. Values given in
# the URL's query string win.
PG_TIMEOUTS: dict[str, int] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def _pg_timeouts(query: Mapping[str, object]) -> dict[str, int]:
    return {name: value for name, value in PG_TIMEOUTS.items() if name not in query}


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open (and by default migrate to the latest schema) the store at ``url``."""
    resolved = database_url(url)
    engine = _engine(resolved)
    if migrate:
        try:
            upgrade(engine)
        except OperationalError as exc:
            engine.dispose()
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(f"cannot open database {_safe(resolved)}: {first}") from None
    return Store(resolved, engine, sessionmaker(engine, expire_on_commit=False))


def upgrade(engine: Engine) -> None:
    """Run the alembic migrations up to head on this engine."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # processes starting together migrate one at a time
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _safe(url: str) -> str:
    """The URL with any password hidden, for error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
