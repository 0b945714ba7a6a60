"""The store: SQLite by default, PostgreSQL in production, one schema migrated by Alembic."""

from ingest.store.engine import open_engine
from ingest.store.migrate import upgrade
from ingest.store.store import Store

__all__ = ["Store", "open_engine", "upgrade"]
