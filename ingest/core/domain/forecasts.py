"""Forecasts committed before a proposal's vote, and their scores once its outcome is known."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from ingest.core.domain._columns import UTCDateTime, json_column, text_column, utcnow

__all__ = ["ForecastRecord"]


class ForecastRecord(SQLModel, table=True):
    """One committed forecast per proposal. The committed fields never change; scoring only fills the outcome part.

    ``forecast_sha256`` is SHA-256 over the canonical JSON of the committed fields (``body``), signed (EIP-191)
    by the attestation key; ``statement`` is the one-line text to publish, carrying that hash.
    """

    __tablename__ = "forecast_record"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", unique=True, index=True)
    dao_id: int = Field(foreign_key="dao.id", index=True)
    committed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    voting_starts_at: datetime = Field(sa_type=UTCDateTime)
    p_pass: float
    shares: dict[str, float] | None = Field(default=None, sa_column=json_column())
    model_hash: str = Field(max_length=64)
    inputs_hash: str = Field(max_length=64)
    body: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    forecast_sha256: str = Field(max_length=64, index=True)
    signer: str = Field(max_length=42)
    signature: str = Field(max_length=140)
    statement: str = Field(default="", sa_column=text_column(nullable=False))
    audit_entry_id: int | None = Field(default=None, foreign_key="audit_entry.id")
    outcome: str | None = Field(default=None, max_length=20, description="passed or failed, once known")
    scored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
