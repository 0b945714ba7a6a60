"""The agent loop's own records: one row per step it took (or chose not to take) for a DAO and a proposal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel, UniqueConstraint

from ingest.core.domain._columns import UTCDateTime, json_column, utcnow

__all__ = ["AgentStep"]


class AgentStep(SQLModel, table=True):
    """A step key (``stage:proposal:version``) the agent has started, finished or skipped.

    ``status``: 'started' (its side effect may or may not have happened: reconcile before repeating),
    'done', 'skipped' (``detail['reason']`` says why) or 'failed' (retried on the next tick).
    """

    __tablename__ = "agent_step"
    __table_args__ = (UniqueConstraint("dao", "step_key", name="uq_agent_step_key"),)

    id: int | None = Field(default=None, primary_key=True)
    dao: str = Field(max_length=100, index=True)
    step_key: str = Field(max_length=300)
    stage: str = Field(max_length=40, index=True)
    proposal_ref: str = Field(default="", max_length=200)
    status: str = Field(default="started", max_length=20)
    attempts: int = 0
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
