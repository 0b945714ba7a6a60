"""Stored consensus reports: what a report was built from, so a changed input marks it stale."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from ingest.core.domain._columns import UTCDateTime, json_column, utcnow

__all__ = ["ReportRecord"]


class ReportRecord(SQLModel, table=True):
    """One generated consensus report for one proposal.

    ``inputs_hash`` is SHA-256 over the proposal's content hash and every input post's id and content
    hash; when the store's current inputs hash differs, the report is stale and is never served as current.
    """

    __tablename__ = "report_record"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    schema_version: str = Field(max_length=20)
    inputs_hash: str = Field(max_length=64, index=True)
    report_sha256: str = Field(max_length=64, index=True)
    signer: str | None = Field(default=None, max_length=42)
    path: str | None = Field(default=None, max_length=1000, description="The JSON export on disk")
    post_ids: list[int] = Field(default_factory=list, sa_column=json_column(nullable=False))
    manifest: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
