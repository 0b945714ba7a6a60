"""What the DAO decided: proposals, votes, and the links from discussion to proposals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel, UniqueConstraint

from ingest.core.domain._columns import UTCDateTime, json_column, text_column, utcnow

__all__ = ["Proposal", "ProposalLink", "Vote"]


class Proposal(SQLModel, table=True):
    """A Snapshot or Governor proposal. ``scores``, ``state``, ``outcome``, ``voter_count`` are labels, never features."""

    __tablename__ = "proposal"
    __table_args__ = (UniqueConstraint("dao_id", "external_id", name="uq_proposal_natural"),)

    id: int | None = Field(default=None, primary_key=True)
    dao_id: int = Field(foreign_key="dao.id", index=True)
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    origin: str = Field(max_length=20, description="A ProposalOrigin value")
    external_id: str = Field(max_length=200, description="Snapshot id, or Governor proposal id")
    title: str = Field(default="", max_length=1000)
    body: str = Field(default="", sa_column=text_column(nullable=False))
    author: str | None = Field(default=None, max_length=200)
    choices: list[str] = Field(default_factory=list, sa_column=json_column(nullable=False))
    voting_type: str = Field(default="basic", max_length=30, description="A VotingType value")
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    start: datetime | None = Field(default=None, index=True, sa_type=UTCDateTime)
    end: datetime | None = Field(default=None, index=True, sa_type=UTCDateTime)
    state: str | None = Field(default=None, max_length=100)
    outcome: str | None = Field(default=None, max_length=20, description="An Outcome value once closed")
    scores: list[float] | None = Field(default=None, sa_column=json_column())
    scores_total: float | None = None
    scores_state: str | None = Field(default=None, max_length=20)
    quorum: float | None = None
    voter_count: int | None = None
    discussion_url: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=1000)
    content_hash: str = Field(default="", max_length=64)
    extra: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Vote(SQLModel, table=True):
    """One voter's vote. ``choice`` keeps Snapshot's shape: an index, a list (approval, ranked) or a dict (weighted)."""

    __tablename__ = "vote"
    __table_args__ = (UniqueConstraint("proposal_id", "voter", name="uq_vote_natural"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    voter: str = Field(max_length=100, index=True)
    choice: Any = Field(default=None, sa_column=json_column())
    choice_label: str | None = Field(default=None, max_length=500)
    voting_power: float = 0.0
    reason: str | None = Field(default=None, sa_column=text_column())
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    external_id: str | None = Field(default=None, max_length=200)


class ProposalLink(SQLModel, table=True):
    """A thread (or a single post) that discusses a proposal, with how the link was made."""

    __tablename__ = "proposal_link"
    __table_args__ = (
        UniqueConstraint("proposal_id", "thread_id", "post_id", "method", name="uq_link_natural"),
    )

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    thread_id: int | None = Field(default=None, foreign_key="thread.id", index=True)
    post_id: int | None = Field(default=None, foreign_key="post.id", index=True)
    method: str = Field(max_length=30, description="A LinkMethod value")
    confidence: float = 1.0
    evidence: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
