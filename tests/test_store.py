"""The store on SQLite and PostgreSQL: migrations match the models, datetimes stay aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dossiermail.store import Store, StoreError, open_store
from dossiermail.store.models import Base, RawMessage


def test_migrations_create_exactly_the_models_schema(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_opening_twice_is_harmless(store_url: str) -> None:
    open_store(store_url).dispose()
    open_store(store_url).dispose()


def test_received_at_comes_back_aware_in_utc(store: Store) -> None:
    paris = timezone(timedelta(hours=2))
    with store.session() as session:
        session.add(
            RawMessage(
                key="k",
                raw=b"x",
                size=1,
                channel="import",
                source="t",
                received_at=datetime(2026, 7, 1, 12, 0, tzinfo=paris),
            )
        )
    with store.session() as session:
        row = session.get(RawMessage, "k")
        assert row is not None
        assert row.received_at == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
        assert row.received_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"), store.session() as session:
        session.add(
            RawMessage(
                key="n",
                raw=b"x",
                size=1,
                channel="import",
                source="t",
                received_at=datetime(2026, 7, 1, 12, 0),
            )
        )
        session.flush()


def test_unreachable_database_is_a_one_line_store_error() -> None:
    with pytest.raises(StoreError, match=r"cannot open database .*127\.0\.0\.1:1/"):
        open_store("postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2")
