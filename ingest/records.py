"""Source-independent records: what every normaliser produces and the writer stores.

A source fetches raw payloads in its own API's shape; a normaliser turns each payload into
these records (or raises InputError, which sends the payload to the quarantine).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["PostRecord", "PresentPostsRecord", "ProposalRecord", "Record", "ThreadRecord", "VoteRecord"]


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    external_id: str
    title: str = ""
    url: str | None = None
    category: str | None = None
    created_at: datetime | None = None
    bumped_at: datetime | None = None
    last_post_number: int | None = None


@dataclass(frozen=True, slots=True)
class PostRecord:
    thread_external_id: str
    external_id: str
    text: str
    author_handle: str | None = None
    author_external_id: str | None = None
    author_display_name: str | None = None
    number: int | None = None
    reply_to_number: int | None = None
    html: str | None = None
    url: str | None = None
    created_at: datetime | None = None
    edited_at: datetime | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    origin: str
    external_id: str
    title: str = ""
    body: str = ""
    author: str | None = None
    choices: list[str] = field(default_factory=list)
    voting_type: str = "basic"
    created_at: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    state: str | None = None
    outcome: str | None = None
    scores: list[float] | None = None
    scores_total: float | None = None
    scores_state: str | None = None
    quorum: float | None = None
    voter_count: int | None = None
    discussion_url: str | None = None
    url: str | None = None
    extra: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class VoteRecord:
    proposal_external_id: str
    voter: str
    choice: Any
    voting_power: float = 0.0
    choice_label: str | None = None
    reason: str | None = None
    created_at: datetime | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class PresentPostsRecord:
    """Every post a thread has now at its source (Discourse's ``post_stream.stream``).

    Stored posts of the thread missing from it were deleted there: the writer flags them deleted and
    blanks their text, as it does for Discord deletions.
    """

    thread_external_id: str
    post_external_ids: frozenset[str]


Record = ThreadRecord | PostRecord | ProposalRecord | VoteRecord | PresentPostsRecord
