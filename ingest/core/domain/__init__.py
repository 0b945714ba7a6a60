"""Concord's one domain model. Every package imports its types from here.

New tables go in a module of this package and are re-exported below, so that
``SQLModel.metadata`` (and Alembic) sees every table after ``import ingest.core.domain``.
"""

from ingest.core.domain._columns import UTCDateTime, content_hash, utcnow
from ingest.core.domain.agent_steps import AgentStep
from ingest.core.domain.bookkeeping import AuditEntry, IngestCursor, QuarantinedRecord
from ingest.core.domain.community import Author, Dao, Source
from ingest.core.domain.decisions import Proposal, ProposalLink, Vote
from ingest.core.domain.discussion import Post, Thread
from ingest.core.domain.enums import LinkMethod, Outcome, ProposalOrigin, SourceKind, VotingType
from ingest.core.domain.forecasts import ForecastRecord
from ingest.core.domain.governance import ActionSignature, GovernanceDraft, PendingAction
from ingest.core.domain.reports import ReportRecord

__all__ = [
    "ActionSignature",
    "AgentStep",
    "AuditEntry",
    "Author",
    "Dao",
    "ForecastRecord",
    "GovernanceDraft",
    "IngestCursor",
    "LinkMethod",
    "Outcome",
    "PendingAction",
    "Post",
    "Proposal",
    "ProposalLink",
    "ProposalOrigin",
    "QuarantinedRecord",
    "ReportRecord",
    "Source",
    "SourceKind",
    "Thread",
    "UTCDateTime",
    "Vote",
    "VotingType",
    "content_hash",
    "utcnow",
]
