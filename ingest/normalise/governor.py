"""Decoded Governor events (ProposalCreated + tallies + lifecycle, VoteCast) to proposal and vote records."""

from __future__ import annotations

from typing import Any

from ingest.core.domain import ProposalOrigin, VotingType
from ingest.core.errors import InputError
from ingest.normalise.outcome_rule import outcome_from_state
from ingest.normalise.payload import clean_text, optional_str, require
from ingest.normalise.timeparse import parse_time
from ingest.records import ProposalRecord, VoteRecord

__all__ = ["SUPPORT_LABELS", "governor_proposal", "governor_vote", "title_from_description"]

SUPPORT_LABELS = {0: "Against", 1: "For", 2: "Abstain"}


def title_from_description(description: str) -> str:
    """Governor proposals carry no title: by convention it is the description's first line."""
    for line in description.splitlines():
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped[:1000]
    return ""


def governor_proposal(item: Any) -> ProposalRecord:
    raw_id = require(item, "proposalId", (int, str), "Governor proposal")
    where = f"Governor proposal {raw_id}"
    description = str(item.get("description") or "")
    tallies = [item.get("againstVotes"), item.get("forVotes"), item.get("abstainVotes")]
    has_scores = any(t is not None for t in tallies)
    state = (optional_str(item, "state") or None) and str(item["state"])[:100]
    outcome, outcome_source = optional_str(item, "outcome"), "given by the source payload"
    if outcome is None:
        derived = outcome_from_state(state)
        outcome, outcome_source = derived.outcome, derived.source
    return ProposalRecord(
        origin=ProposalOrigin.GOVERNOR,
        external_id=str(raw_id),
        title=title_from_description(description),
        body=clean_text(description, where),
        author=optional_str(item, "proposer"),
        choices=["Against", "For", "Abstain"],
        voting_type=VotingType.BASIC,
        created_at=parse_time(item.get("createdTime"), f"{where} createdTime"),
        start=parse_time(item.get("startTime"), f"{where} startTime"),
        end=parse_time(item.get("endTime"), f"{where} endTime"),
        state=state,
        outcome=outcome,
        scores=[float(t or 0.0) for t in tallies] if has_scores else None,
        scores_total=sum(float(t or 0.0) for t in tallies) if has_scores else None,
        scores_state="final" if has_scores and outcome else None,
        quorum=float(item["quorum"]) if item.get("quorum") is not None else None,
        voter_count=item.get("voters") if isinstance(item.get("voters"), int) else None,
        discussion_url=optional_str(item, "discussion"),
        url=optional_str(item, "link"),
        extra=_extra(item) | {"outcome_source": outcome_source},
    )


def _extra(item: dict[str, Any]) -> dict[str, Any]:
    """Vote window (block numbers or timestamps, as the Governor's clock counts), eta and actions when known."""
    extra: dict[str, Any] = {"vote_start": item.get("voteStart"), "vote_end": item.get("voteEnd")}
    if item.get("eta") is not None:
        extra["eta"] = int(item["eta"])  # seconds since the epoch from ProposalQueued
    if item.get("estimatedTimes"):
        extra["estimated_times"] = list(item["estimatedTimes"])  # startTime/endTime estimated from the block rate
    if isinstance(item.get("actions"), list):
        extra["actions"] = item["actions"]  # [{target, value, signature, calldata}] from ProposalCreated
    return extra


def governor_vote(item: Any) -> VoteRecord:
    voter = require(item, "voter", str, "Governor vote")
    where = f"Governor vote by {voter}"
    support = require(item, "support", int, where)
    if support not in SUPPORT_LABELS:
        raise InputError(f"{where}: support must be 0 (Against), 1 (For) or 2 (Abstain), got {support}")
    return VoteRecord(
        proposal_external_id=str(require(item, "proposalId", (int, str), where)),
        voter=voter,
        choice=support,
        choice_label=SUPPORT_LABELS[support],
        voting_power=float(item.get("votes") or 0.0),
        reason=str(item.get("reason")) if item.get("reason") else None,
        created_at=parse_time(item.get("time"), f"{where} time"),
        external_id=optional_str(item, "transactionHash"),
    )
