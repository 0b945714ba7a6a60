"""Closed vocabularies used across the domain."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["LinkMethod", "Outcome", "ProposalOrigin", "SourceKind", "VotingType"]


class SourceKind(StrEnum):
    DISCOURSE = "discourse"
    DISCORD = "discord"
    SNAPSHOT = "snapshot"
    GOVERNOR = "governor"


class ProposalOrigin(StrEnum):
    SNAPSHOT = "snapshot"
    GOVERNOR = "governor"


class VotingType(StrEnum):
    """Snapshot's voting types; on-chain Governor votes are ``basic`` (For/Against/Abstain)."""

    SINGLE_CHOICE = "single-choice"
    APPROVAL = "approval"
    WEIGHTED = "weighted"
    RANKED_CHOICE = "ranked-choice"
    QUADRATIC = "quadratic"
    BASIC = "basic"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class LinkMethod(StrEnum):
    """How a thread or post was tied to a proposal, strongest first."""

    DISCUSSION_FIELD = "discussion-field"
    URL_IN_PROPOSAL = "url-in-proposal"
    URL_IN_POST = "url-in-post"
    TITLE_MATCH = "title-match"
    SIMILARITY = "similarity"
    CURATED = "curated"
