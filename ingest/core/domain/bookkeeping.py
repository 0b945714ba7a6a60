"""The store's own records: ingestion cursors, the quarantine and the append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel, UniqueConstraint

from ingest.core.domain._columns import UTCDateTime, json_column, text_column, utcnow

__all__ = ["AuditEntry", "IngestCursor", "QuarantinedRecord"]


class IngestCursor(SQLModel, table=True):
    """Where a source's stream was read up to; a resumed run starts from here."""

    __tablename__ = "ingest_cursor"
    __table_args__ = (UniqueConstraint("source_id", "stream", name="uq_cursor_natural"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    stream: str = Field(max_length=100, description="e.g. 'topics', 'proposals', 'votes:<proposal>', 'logs'")
    value: str = Field(max_length=500)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class QuarantinedRecord(SQLModel, table=True):
    """A raw record that could not be stored, kept with the reason so nothing is silently dropped.

    ``key`` is the record's natural key (source, kind and reference, hashed): quarantining the same record
    again updates its row instead of adding one. ``status`` is ``open`` until a retry stores it
    (``resolved``) or it is given up after too many attempts (``given_up``).
    """

    __tablename__ = "quarantined_record"
    __table_args__ = (UniqueConstraint("key", name="uq_quarantine_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    key: str = Field(max_length=64)
    record_kind: str = Field(max_length=50)
    external_ref: str | None = Field(default=None, max_length=500)
    raw: str = Field(sa_column=text_column(nullable=False))
    error: str = Field(sa_column=text_column(nullable=False))
    status: str = Field(default="open", max_length=20, index=True)
    attempts: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """One action, hash-chained to the one before. Written only through ``governance.audit``."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100, index=True)
    subject: str = Field(default="", max_length=500)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64, unique=True)
