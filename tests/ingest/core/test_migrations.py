"""The Alembic migrations create exactly the schema the SQLModel models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import ingest.core.domain  # noqa: F401 - registers every table
from ingest.core.store import Store


def test_migrated_schema_matches_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], f"models and migrations disagree; add an Alembic revision: {diff}"


def test_the_migrations_have_one_head() -> None:
    """Every branch of the schema is merged: a new migration has exactly one parent to name."""
    from ingest.core.store.migrate import head_revisions

    assert head_revisions() == {"0004_merge_heads"}, "merge the new heads with a revision that names them all"
