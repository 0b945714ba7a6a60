"""What people wrote: threads and posts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from ingest.core.domain._columns import UTCDateTime, text_column, utcnow

__all__ = ["Post", "Thread"]


class Thread(SQLModel, table=True):
    """A forum topic or a chat channel."""

    __tablename__ = "thread"
    __table_args__ = (UniqueConstraint("source_id", "external_id", name="uq_thread_natural"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    external_id: str = Field(max_length=100)
    title: str = Field(default="", max_length=500)
    url: str | None = Field(default=None, max_length=1000)
    category: str | None = Field(default=None, max_length=200)
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bumped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_post_number: int | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Post(SQLModel, table=True):
    """One message. ``text`` is clean text (quotes marked with ``> ``); ``html`` is the original."""

    __tablename__ = "post"
    __table_args__ = (UniqueConstraint("source_id", "external_id", name="uq_post_natural"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    thread_id: int = Field(foreign_key="thread.id", index=True)
    external_id: str = Field(max_length=100)
    author_id: int | None = Field(default=None, foreign_key="author.id", index=True)
    number: int | None = Field(default=None, description="Position in its thread (Discourse post_number)")
    reply_to_number: int | None = None
    text: str = Field(sa_column=text_column(nullable=False))
    html: str | None = Field(default=None, sa_column=text_column())
    url: str | None = Field(default=None, max_length=1000)
    created_at: datetime | None = Field(default=None, index=True, sa_type=UTCDateTime)
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted: bool = False
    content_hash: str = Field(max_length=64, index=True)
    ingested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
