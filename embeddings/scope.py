"""Which threads discuss a proposal: stored links first, else the proposal's own discussion URL."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from ingest.domain import Proposal, ProposalLink, Source, Thread

__all__ = ["linked_thread_ids", "topic_id_from_url"]

_TOPIC = re.compile(r"/t/(?:[^/?#]+/)?(\d+)")


def topic_id_from_url(url: str | None) -> str | None:
    """The Discourse topic id in ``https://forum.x/t/slug/123`` or ``.../t/123/4``; ``None`` otherwise."""
    if not url:
        return None
    match = _TOPIC.search(url)
    return match.group(1) if match else None


def linked_thread_ids(session: Session, proposal: Proposal) -> list[int]:
    """Thread ids tied to ``proposal`` by :class:`ProposalLink` rows; when there are none, the forum
    thread whose topic id appears in ``proposal.discussion_url`` (same DAO only)."""
    linked = session.exec(
        select(ProposalLink.thread_id).where(ProposalLink.proposal_id == proposal.id, col(ProposalLink.thread_id).is_not(None))
    ).all()
    ids = sorted({int(t) for t in linked if t is not None})
    if ids:
        return ids
    topic = topic_id_from_url(proposal.discussion_url)
    if topic is None:
        return []
    rows = session.exec(
        select(Thread.id)
        .join(Source, col(Source.id) == Thread.source_id)
        .where(Source.dao_id == proposal.dao_id, Thread.external_id == topic)
    ).all()
    return sorted(int(r) for r in rows if r is not None)
