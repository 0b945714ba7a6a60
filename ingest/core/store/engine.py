"""Opening a database: SQLite by default, PostgreSQL in production, same models."""

from __future__ import annotations

import math
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.pool import StaticPool

from ingest.core.errors import ConfigError, StoreError
from ingest.core.store.watchdog import install_watchdog

__all__ = ["database_error_reason", "open_engine"]


def database_error_reason(exc: DBAPIError) -> str:
    """The driver's own first line (e.g. 'connection timeout expired'), without SQL or traceback."""
    text = str(exc.orig).strip() if exc.orig is not None else str(exc)
    return (text.splitlines() or ["no answer"])[0]


def _postgres_args(connect_timeout_s: float, statement_timeout_s: float) -> dict[str, object]:
    args: dict[str, object] = {"connect_timeout": max(1, math.ceil(connect_timeout_s))}
    if statement_timeout_s > 0:
        args["options"] = f"-c statement_timeout={int(statement_timeout_s * 1000)}"
    return args


def _enable_sqlite_foreign_keys(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_engine(
    url: str, *, check: bool = True, connect_timeout_s: float = 10.0, statement_timeout_s: float = 60.0
) -> Engine:
    """Create an engine for ``url`` and, with ``check``, make sure the database answers.

    On PostgreSQL a connection attempt is abandoned after ``connect_timeout_s`` and a statement after
    ``statement_timeout_s`` (0 disables it), so a lost or frozen server is an error, not a hang.
    On SQLite a writer waits up to ``connect_timeout_s`` for another writer's lock.
    Raises ConfigError naming the URL (password hidden) and how to fix it, StoreError if it does not answer.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"CONCORD_DATABASE_URL {url!r} is not a database URL. "
            "Use sqlite:///path/to/concord.db or postgresql+psycopg://user@host:5432/dbname."
        ) from exc
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"Database {shown} uses {backend!r}; Concord supports sqlite and postgresql. "
            "Set CONCORD_DATABASE_URL to sqlite:///... or postgresql+psycopg://..."
        )
    if backend == "sqlite":
        database = parsed.database or ""
        if database in {"", ":memory:"}:
            engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": max(connect_timeout_s, 1.0)}
            )
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    else:
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            engine = create_engine(parsed, connect_args=_postgres_args(connect_timeout_s, statement_timeout_s))
        except ModuleNotFoundError as exc:
            raise ConfigError(f"No driver for {shown}: pip install 'psycopg[binary]'.") from exc
        # Checkout pings (instead of pool_pre_ping) and statements are bounded on the client side too.
        install_watchdog(engine, (statement_timeout_s or 600.0) + connect_timeout_s)
    if check:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except (OperationalError, InterfaceError) as exc:
            reason = database_error_reason(exc)
            engine.dispose()
            raise StoreError(
                f"Cannot connect to the database {shown}: {reason}. "
                "Check CONCORD_DATABASE_URL (host, port, user, database name) and that the server is running."
            ) from exc
    return engine
