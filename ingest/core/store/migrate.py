"""Schema migrations (Alembic), run programmatically by ``concord init`` and on store open.

A migration is all or nothing. PostgreSQL runs DDL inside the transaction anyway; Python's sqlite3 module
commits each DDL statement on its own, so on SQLite the migration runs on a connection that issues a real
``BEGIN IMMEDIATE`` — a run killed midway leaves the schema as it was. A database left half-created by a
version of Concord that lacked this (tables but no recorded revision, every table empty) is repaired by
dropping those empty tables and migrating again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from ingest.core.errors import StoreError
from ingest.core.store.engine import database_error_reason

__all__ = ["alembic_config", "current_revisions", "head_revisions", "repair_partial_schema", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_CREATE_TABLE = re.compile(r"create_table\(\s*[\"'](\w+)[\"']")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _is_file_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and (engine.url.database or ":memory:") != ":memory:"


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """One connection in one real transaction, DDL included."""
    if not _is_file_sqlite(engine):
        with engine.begin() as connection:
            yield connection
        return
    timeout = float(engine.dialect.create_connect_args(engine.url)[1].get("timeout", 30))
    migrating = create_engine(
        engine.url, poolclass=NullPool, connect_args={"check_same_thread": False, "timeout": timeout}
    )

    @event.listens_for(migrating, "connect")
    def _manual_transactions(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # no implicit commits around DDL

    @event.listens_for(migrating, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with migrating.begin() as connection:
            yield connection
    finally:
        migrating.dispose()


def upgrade(engine: Engine) -> None:
    """Bring the schema to every head (branches added by separate packages are all applied), atomically."""
    shown = engine.url.render_as_string(hide_password=True)
    try:
        repair_partial_schema(engine)
        config = alembic_config()
        with _migration_connection(engine) as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
    except (OperationalError, InterfaceError) as exc:
        raise StoreError(
            f"Could not migrate the database {shown} ({database_error_reason(exc)}). "
            "Nothing was half-applied; check the database is reachable and writable, then run `concord init`."
        ) from exc


def repair_partial_schema(engine: Engine) -> list[str]:
    """Drop the tables of a first migration that never recorded its revision; returns the tables dropped.

    Only when no revision is recorded and every table present is one of Concord's and empty: anything else
    is someone's data, and the error says so instead of touching it.
    """
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        if not tables - {"alembic_version"}:
            return []
        if MigrationContext.configure(connection).get_current_heads():
            return []
        ours = _migration_tables()
        shown = engine.url.render_as_string(hide_password=True)
        foreign = sorted(tables - ours - {"alembic_version"})
        if foreign:
            raise StoreError(
                f"The database {shown} holds tables Concord did not create ({', '.join(foreign[:5])}) and no "
                "Concord schema version. Point CONCORD_DATABASE_URL at an empty database."
            )
        filled = [name for name in sorted(tables & ours) if connection.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first()]
        if filled:
            raise StoreError(
                f"The database {shown} has Concord tables with rows ({', '.join(filled[:5])}) but no recorded "
                "schema version, so it cannot be migrated safely. Restore it from a backup or use an empty database."
            )
    dropped = sorted(tables & ours)
    cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
    with _migration_connection(engine) as connection:  # SQLite: foreign keys off on this connection
        for name in dropped:
            connection.execute(text(f'DROP TABLE IF EXISTS "{name}"{cascade}'))
        if "alembic_version" in tables:
            connection.execute(text('DROP TABLE IF EXISTS "alembic_version"'))
    return dropped


def _migration_tables() -> set[str]:
    """Every table a Concord migration creates (read from the revision files) or a model declares."""
    created = set(SQLModel.metadata.tables)
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        created.update(_CREATE_TABLE.findall(script.read_text(encoding="utf-8")))
    return created


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())
