"""Read one DAO's proposals, linked posts and votes from the store into :class:`GovData`.

Times follow the directory loader's conservative rules: Governor proposals without ``end`` use the ``vote_end``
block from ``extra`` (estimated time plus a day), else 14 days after opening.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from agent.predict.clock import BlockClock
from agent.predict.records import DAY, GovData, HistoryPost, HistoryProposal, canonical_choice
from ingest.core.domain import Author, Post, Proposal, ProposalLink, Vote
from ingest.core.store import Store

__all__ = ["load_store_dao", "record_from_proposal"]


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def record_from_proposal(proposal: Proposal, dao_slug: str) -> HistoryProposal:
    """A :class:`HistoryProposal` for a stored proposal (outcome from ``Proposal.outcome``; state/scores are labels)."""
    created, start, end = _ts(proposal.created_at), _ts(proposal.start), _ts(proposal.end)
    extra = proposal.extra or {}
    clock = BlockClock()
    start_block = extra.get("vote_start", extra.get("start_block"))
    end_block = extra.get("vote_end", extra.get("end_block"))
    if start is None and isinstance(start_block, int):
        start = clock.time_of(start_block)
    if end is None and isinstance(end_block, int):
        end = clock.time_of(end_block) + DAY  # conservative: a day of slack on the block-time estimate
    known = [t for t in (created, start) if t is not None]
    opened = min(known) if known else None
    if end is None and opened is not None:
        end = opened + 14 * DAY  # no end at all: assume a long vote, so it is never counted as closed too early
    outcome_text = (proposal.outcome or "").lower()
    outcome = True if outcome_text == "passed" else False if outcome_text == "failed" else None
    status = outcome_text if outcome_text in {"passed", "failed", "cancelled"} else "no-outcome"
    if outcome is not None and (opened is None or end is None):
        outcome, status = None, "no-time"
    return HistoryProposal(
        id=str(proposal.id),
        dao=dao_slug,
        platform=proposal.origin,
        kind=str(extra.get("proposal_type") or proposal.origin),
        title=proposal.title or "",
        body=proposal.body or "",
        author=proposal.author.lower() if proposal.author else None,
        opened_at=opened,
        closed_at=end,
        outcome=outcome,
        status=status,
        choices=tuple(proposal.choices) if proposal.choices else None,
        scores=tuple(float(s) for s in proposal.scores) if proposal.scores else None,
    )


def load_store_dao(store: Store, dao_id: int, dao_slug: str) -> GovData:
    """All of one DAO's proposals, the posts linked to them (by thread or post) and its votes' voting power."""
    from sqlmodel import col, select

    with store.session() as session:
        proposals = session.exec(select(Proposal).where(Proposal.dao_id == dao_id)).all()
        records = [record_from_proposal(p, dao_slug) for p in proposals]
        ids = [p.id for p in proposals if p.id is not None]
        posts_by_proposal: dict[str, list[HistoryPost]] = defaultdict(list)
        if ids:
            links = session.exec(select(ProposalLink).where(col(ProposalLink.proposal_id).in_(ids))).all()
            for link in links:
                query = select(Post, Author).join(Author, col(Author.id) == Post.author_id, isouter=True)
                if link.post_id is not None:
                    query = query.where(Post.id == link.post_id)
                elif link.thread_id is not None:
                    query = query.where(Post.thread_id == link.thread_id)
                else:
                    continue
                for post, author in session.exec(query).all():
                    if post.deleted:
                        continue
                    handle = (author.address or author.handle).lower() if author is not None else None
                    posts_by_proposal[str(link.proposal_id)].append(
                        HistoryPost(dao=dao_slug, proposal_ids=(str(link.proposal_id),), text=post.text, author=handle, created=_ts(post.created_at))
                    )
        voter_power: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        votes_by_proposal: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
        if ids:
            for vote in session.exec(select(Vote).where(col(Vote.proposal_id).in_(ids))).all():
                if vote.choice_label:
                    votes_by_proposal[str(vote.proposal_id)].append(
                        (vote.voter.lower(), canonical_choice(vote.choice_label), float(vote.voting_power)))
                ts = _ts(vote.created_at)
                if ts is not None:
                    voter_power[(dao_slug, vote.voter.lower())].append((ts, float(vote.voting_power)))
        for series in voter_power.values():
            series.sort()
    return GovData(proposals=records, posts_by_proposal=dict(posts_by_proposal), voter_power=dict(voter_power),
                   votes_by_proposal=dict(votes_by_proposal))
