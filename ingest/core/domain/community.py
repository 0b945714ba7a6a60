"""Who speaks where: DAOs, their sources, authors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel, UniqueConstraint

from ingest.core.domain._columns import UTCDateTime, json_column, utcnow

__all__ = ["Author", "Dao", "Source"]


class Dao(SQLModel, table=True):
    """A DAO (or Snapshot space). ``slug`` is the name users type: ``concord report --dao arbitrum``."""

    __tablename__ = "dao"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True, unique=True, max_length=100)
    name: str = Field(max_length=200)
    snapshot_space: str | None = Field(default=None, max_length=200)
    forum_url: str | None = Field(default=None, max_length=500)
    chain_id: int | None = None
    governor_address: str | None = Field(default=None, max_length=42)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Source(SQLModel, table=True):
    """One place a DAO speaks or decides: a forum, a Discord channel, a Snapshot space, a Governor."""

    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("dao_id", "kind", "locator", name="uq_source_natural"),)

    id: int | None = Field(default=None, primary_key=True)
    dao_id: int = Field(foreign_key="dao.id", index=True)
    kind: str = Field(max_length=30, description="A SourceKind value")
    locator: str = Field(max_length=500, description="Base URL, channel id, space id or chain:address")
    name: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Author(SQLModel, table=True):
    """A pseudonymous handle on one source, with an address only when the evidence says so."""

    __tablename__ = "author"
    __table_args__ = (UniqueConstraint("source_id", "handle", name="uq_author_natural"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    handle: str = Field(max_length=200)
    external_id: str | None = Field(default=None, max_length=100)
    display_name: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, index=True, max_length=42)
    address_evidence: dict[str, Any] | None = Field(default=None, sa_column=json_column())
