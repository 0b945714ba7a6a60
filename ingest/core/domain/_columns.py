"""Column helpers shared by the domain tables."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Interval, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

# SQLite's DATETIME storage format (sqlalchemy.dialects.sqlite.DATETIME), the one the domain tables use.
_SQLITE_STORAGE = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
_ZERO = timedelta(0)

__all__ = ["UTCDateTime", "content_hash", "json_column", "text_column", "utcnow"]


class UTCDateTime(TypeDecorator[datetime]):
    """The one datetime column type of the domain tables: aware UTC in, aware UTC out.

    Writes refuse naive datetimes (a naive value has no knowable instant; guessing UTC
    hides the bug that produced it) and store aware ones converted to UTC. Reads come
    back aware in UTC on both backends: PostgreSQL returns ``timestamptz`` values with an
    offset, SQLite returns the stored UTC wall time without one, which is UTC by the rule
    above. The schema is a plain ``DateTime(timezone=True)``, so no migration follows.

    On SQLite an aware ``datetime`` is written by one function that makes the string SQLAlchemy's own two
    steps (this conversion, then the dialect's storage format) make; anything else takes those two steps.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        if isinstance(value, timedelta):
            return Interval()
        return self

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a datetime column takes a datetime, got {type(value).__name__} {value!r}")
        if value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} refused: the store keeps instants. "
                "Pass an aware value, e.g. datetime.now(UTC) or ingest.core.domain.utcnow()."
            )
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        stock = super().bind_processor(dialect)
        if (
            stock is None
            or dialect.name != "sqlite"
            or getattr(self.impl_instance, "_storage_format", None) != _SQLITE_STORAGE
        ):
            return stock

        def process(value: Any) -> Any:
            if type(value) is datetime:
                offset = value.utcoffset()
                if offset is not None:  # naive values take the stock path, which refuses them
                    if offset != _ZERO:
                        value = value.astimezone(UTC)
                    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - twice as fast as the f-string
                        value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond
                    )  # fmt: skip
            return stock(value)

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_column(nullable: bool = True) -> Any:
    """A JSON column that works on SQLite and PostgreSQL alike."""
    return Column(JSON, nullable=nullable)


def text_column(nullable: bool = True) -> Any:
    """An unbounded text column (post bodies can be megabytes)."""
    return Column(Text, nullable=nullable)


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (the store refuses naive datetimes)."""
    return datetime.now(UTC)


def content_hash(*parts: str | None) -> str:
    """SHA-256 over the given text parts, separated so that ('ab', 'c') != ('a', 'bc')."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()
