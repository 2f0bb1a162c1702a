"""Persistence: SQLAlchemy 2 models, the store handle and the queries the stages need."""

from dossiermail.store.db import DEFAULT_DB_URL, Store, StoreError, database_url, open_store

__all__ = ["DEFAULT_DB_URL", "Store", "StoreError", "database_url", "open_store"]
