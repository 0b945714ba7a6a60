"""Snapshot hub GraphQL objects (``proposals``, ``votes``) to proposal and vote records."""

from __future__ import annotations

from typing import Any

from ingest.core.domain import ProposalOrigin, VotingType
from ingest.core.errors import InputError
from ingest.normalise.outcome_rule import DerivedOutcome, outcome_from_scores
from ingest.normalise.payload import clean_text, optional_str, require
from ingest.normalise.timeparse import parse_time
from ingest.records import ProposalRecord, VoteRecord

__all__ = ["choice_label", "snapshot_outcome", "snapshot_proposal", "snapshot_vote"]

_VOTING_TYPES = {t.value for t in VotingType}


def snapshot_outcome(state: str | None, choices: list[str], scores: list[float] | None, quorum: float) -> str | None:
    """Passed/failed for a closed For/Against-style proposal with final scores; None when it cannot be told.

    The rule is :func:`ingest.normalise.outcome_rule.outcome_from_scores` (stated there).
    """
    return _derived_outcome(state, choices, scores, quorum).outcome


def _derived_outcome(state: str | None, choices: list[str], scores: list[float] | None, quorum: float) -> DerivedOutcome:
    if state != "closed":
        return DerivedOutcome(None, f"none: Snapshot state {state!r} is not closed")
    return outcome_from_scores(choices, scores, quorum=quorum, origin="Snapshot")


def snapshot_proposal(item: Any) -> ProposalRecord:
    proposal_id = require(item, "id", str, "Snapshot proposal")
    where = f"Snapshot proposal {proposal_id}"
    choices = require(item, "choices", list, where)
    voting_type = str(item.get("type") or "single-choice")
    if voting_type not in _VOTING_TYPES:
        raise InputError(f"{where}: unknown voting type {voting_type!r}; expected one of {sorted(_VOTING_TYPES)}")
    scores = item.get("scores")
    if scores is not None and (not isinstance(scores, list) or not all(isinstance(s, (int, float)) for s in scores)):
        raise InputError(f"{where}: scores should be a list of numbers")
    space = item.get("space") or {}
    state = (optional_str(item, "state") or "")[:100] or None
    quorum = float(item.get("quorum") or 0)
    derived = _derived_outcome(state, [str(c) for c in choices], scores, quorum)
    extra = {"space": space.get("id")} if space.get("id") else {}
    extra["outcome_source"] = derived.source
    return ProposalRecord(
        origin=ProposalOrigin.SNAPSHOT,
        external_id=proposal_id,
        title=str(require(item, "title", str, where))[:1000],
        body=clean_text(str(item.get("body") or ""), where),
        author=optional_str(item, "author"),
        choices=[str(c) for c in choices],
        voting_type=voting_type,
        created_at=parse_time(item.get("created"), f"{where} created"),
        start=parse_time(item.get("start"), f"{where} start"),
        end=parse_time(item.get("end"), f"{where} end"),
        state=state,
        outcome=derived.outcome,
        scores=[float(s) for s in scores] if scores else None,
        scores_total=float(item["scores_total"]) if item.get("scores_total") is not None else None,
        scores_state=optional_str(item, "scores_state"),
        quorum=quorum or None,
        voter_count=item.get("votes") if isinstance(item.get("votes"), int) else None,
        discussion_url=optional_str(item, "discussion") or None,
        url=optional_str(item, "link") or (f"https://snapshot.org/#/{space.get('id')}/proposal/{proposal_id}" if space.get("id") else None),
        extra=extra,
    )


def choice_label(voting_type: str, choices: list[str], choice: Any, where: str) -> str | None:
    """A readable label for a vote, checked against the proposal's voting type and choices.

    single-choice / basic: a 1-based index; approval: a list of indexes; ranked-choice: indexes in
    order of preference; weighted / quadratic: ``{"index": weight}``. None when choices are unknown.
    """

    def label(index: Any) -> str:
        if isinstance(index, str) and index.isdigit():
            index = int(index)
        if not isinstance(index, int) or isinstance(index, bool):
            raise InputError(f"{where}: choice index should be an integer, got {index!r}")
        if choices and not 1 <= index <= len(choices):
            raise InputError(f"{where}: choice {index} is outside 1..{len(choices)}")
        return choices[index - 1] if choices else str(index)

    if voting_type in ("single-choice", "basic"):
        if not isinstance(choice, int):
            raise InputError(f"{where}: a {voting_type} vote's choice should be one index, got {type(choice).__name__}")
        return label(choice)
    if voting_type in ("approval", "ranked-choice"):
        if not isinstance(choice, list):
            raise InputError(f"{where}: a {voting_type} vote's choice should be a list of indexes, got {type(choice).__name__}")
        return (", " if voting_type == "approval" else " > ").join(label(c) for c in choice) or "(none)"
    if voting_type in ("weighted", "quadratic"):
        if not isinstance(choice, dict):
            raise InputError(f"{where}: a {voting_type} vote's choice should be an object of weights, got {type(choice).__name__}")
        weights = {label(k): v for k, v in choice.items()}
        if not all(isinstance(v, (int, float)) and v >= 0 for v in weights.values()):
            raise InputError(f"{where}: weights must be non-negative numbers")
        total = sum(weights.values()) or 1
        return ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in weights.items())
    raise InputError(f"{where}: unknown voting type {voting_type!r}; expected one of {sorted(_VOTING_TYPES)}")


def snapshot_vote(item: Any) -> VoteRecord:
    voter = require(item, "voter", str, "Snapshot vote")
    where = f"Snapshot vote by {voter}"
    proposal = require(item, "proposal", dict, where)
    proposal_id = require(proposal, "id", str, f"{where} proposal")
    choice = item.get("choice")
    if not isinstance(choice, (int, list, dict)) or isinstance(choice, bool):
        raise InputError(f"{where}: choice should be an index, a list or an object, got {type(choice).__name__}")
    vp = item.get("vp")
    if vp is not None and (not isinstance(vp, (int, float)) or isinstance(vp, bool)):
        raise InputError(f"{where}: vp should be a number, got {type(vp).__name__}")
    label = None
    if isinstance(proposal.get("type"), str):
        choices = proposal.get("choices") if isinstance(proposal.get("choices"), list) else []
        label = choice_label(proposal["type"], [str(c) for c in choices], choice, where)
    reason = item.get("reason")
    return VoteRecord(
        proposal_external_id=proposal_id,
        voter=voter,
        choice=choice,
        choice_label=label[:500] if label else None,
        voting_power=float(vp or 0.0),
        reason=clean_text(str(reason), where) if reason else None,
        created_at=parse_time(item.get("created"), f"{where} created"),
        external_id=optional_str(item, "id"),
    )
