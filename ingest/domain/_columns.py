"""Column helpers shared by the domain tables."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text

__all__ = ["content_hash", "json_column", "text_column", "utcnow"]


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
