"""Which threads discuss a proposal: stored links first, else the proposal's own discussion URL."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from ingest.core.domain import Proposal, ProposalLink, Source, SourceKind, Thread

__all__ = ["linked_thread_ids", "same_forum", "topic_id_from_url"]

_TOPIC = re.compile(r"/t/(?:[^/?#]+/)?(\d+)")


def topic_id_from_url(url: str | None) -> str | None:
    """The Discourse topic id in ``https://forum.x/t/slug/123`` or ``.../t/123/4``; ``None`` otherwise."""
    if not url:
        return None
    match = _TOPIC.search(url)
    return match.group(1) if match else None


def _host(url: str | None) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url or "").hostname or "").lower().removeprefix("www.")


def same_forum(locator: str, url: str | None) -> bool:
    """True when a Discourse source's base URL (``locator``) is on the same host as ``url``."""
    return bool(_host(url)) and _host(locator) == _host(url)


def linked_thread_ids(session: Session, proposal: Proposal) -> list[int]:
    """Thread ids tied to ``proposal`` by :class:`ProposalLink` rows; when there are none, the forum
    thread whose topic id appears in ``proposal.discussion_url``: a thread is named by its source *and* external
    id, so only a Discourse source of the same DAO on the URL's own host qualifies (a Discord channel or another
    forum with the same id never does)."""
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
        select(Thread.id, Source.locator)
        .join(Source, col(Source.id) == Thread.source_id)
        .where(Source.dao_id == proposal.dao_id, Source.kind == SourceKind.DISCOURSE.value, Thread.external_id == topic)
    ).all()
    return sorted(int(r) for r, locator in rows if r is not None and same_forum(locator, proposal.discussion_url))
