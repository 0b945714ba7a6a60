"""The store: SQLite by default, PostgreSQL in production, one schema migrated by Alembic."""

from ingest.core.store.engine import open_engine
from ingest.core.store.migrate import upgrade
from ingest.core.store.store import Store

__all__ = ["Store", "open_engine", "upgrade"]
