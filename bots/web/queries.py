"""The read model behind the dashboard, the JSON API and the bot: plain queries over the store.

No analysis happens here: these functions only read what ingestion stored and shape it into
public, JSON-ready models (table rows never leave the API raw).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import func, or_
from sqlmodel import col, select

from ingest.core.domain import Author, Dao, Post, Proposal, ProposalLink, Source, Thread
from ingest.core.errors import InputError, NotFoundError
from ingest.core.store import Store

__all__ = [
    "DaoPublic",
    "PostHit",
    "ProposalPublic",
    "ProposalSummary",
    "get_proposal",
    "list_daos",
    "list_proposals",
    "posts_by_ids",
    "proposal_status",
    "search_posts",
]

MAX_PAGE = 200


class DaoPublic(BaseModel):
    slug: str
    name: str
    forum_url: str | None = None
    snapshot_space: str | None = None
    proposals: int = 0


class ProposalSummary(BaseModel):
    """One row of a proposals list."""

    id: int
    dao: str
    external_id: str
    origin: str
    title: str
    status: str
    created_at: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    outcome: str | None = None
    url: str | None = None


class ProposalPublic(ProposalSummary):
    """A proposal with its text, choices, final tally and the threads that discuss it."""

    body: str = ""
    author: str | None = None
    choices: list[str] = []
    scores: list[float] | None = None
    scores_total: float | None = None
    voter_count: int | None = None
    discussion_url: str | None = None
    linked_threads: list[dict[str, str | None]] = []


class PostHit(BaseModel):
    """A post that matched a search, with where to read it."""

    post_id: int
    dao: str
    source_kind: str
    thread_title: str
    author: str | None = None
    created_at: datetime | None = None
    url: str | None = None
    snippet: str
    score: float | None = None


def proposal_status(proposal: Proposal, *, now: datetime | None = None) -> str:
    """``active``, ``pending`` or ``closed`` from the stored dates and state (no prediction)."""
    return _status(proposal.state, proposal.outcome, proposal.start, proposal.end, now=now)


def _status(state_text: str | None, outcome: str | None, start_at: datetime | None, end_at: datetime | None, *,
            now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    state = (state_text or "").lower()
    if outcome or state in {"closed", "executed", "defeated", "succeeded", "canceled", "cancelled", "expired", "queued"}:
        return "closed"
    start, end = start_at, end_at
    if state == "active" or (start is not None and end is not None and start <= now < end):
        return "active"
    if state == "pending" or (start is not None and start > now):
        return "pending"
    return "closed"


def _summary(proposal: Proposal, dao_slug: str) -> ProposalSummary:
    return ProposalSummary(
        id=int(proposal.id or 0),
        dao=dao_slug,
        external_id=proposal.external_id,
        origin=proposal.origin,
        title=proposal.title or proposal.external_id,
        status=proposal_status(proposal),
        created_at=proposal.created_at,
        start=proposal.start,
        end=proposal.end,
        outcome=proposal.outcome,
        url=proposal.url,
    )


def list_daos(store: Store) -> list[DaoPublic]:
    """Every DAO with its proposal count."""
    with store.session() as session:
        counts = dict(
            session.exec(select(Proposal.dao_id, func.count()).group_by(Proposal.dao_id)).all()  # type: ignore[arg-type]
        )
        return [
            DaoPublic(
                slug=dao.slug,
                name=dao.name,
                forum_url=dao.forum_url,
                snapshot_space=dao.snapshot_space,
                proposals=int(counts.get(dao.id, 0)),
            )
            for dao in session.exec(select(Dao).order_by(Dao.slug)).all()
        ]


def list_proposals(
    store: Store,
    *,
    dao: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ProposalSummary]:
    """Proposals newest first, optionally of one DAO and one status (active, pending, closed)."""
    if status not in (None, "", "active", "pending", "closed"):
        raise InputError(f"Unknown status {status!r}: use one of active, pending, closed.")
    if dao:
        store.get_dao(dao)  # a clear NotFoundError for an unknown DAO
    limit = max(1, min(limit, MAX_PAGE))
    # Only the listed columns (no bodies, no JSON tallies); without a status filter the page is cut in SQL. The
    # status depends on the clock, so a status filter is applied to the narrow rows here.
    columns = (Proposal.id, Proposal.external_id, Proposal.origin, Proposal.title, Proposal.state, Proposal.outcome,
               Proposal.created_at, Proposal.start, Proposal.end, Proposal.url, Dao.slug)
    with store.session() as session:
        query = select(*columns).join(Dao, col(Dao.id) == Proposal.dao_id)
        if dao:
            query = query.where(Dao.slug == dao)
        query = query.order_by(col(Proposal.start).desc().nulls_last(), col(Proposal.id).desc())
        if not status:
            query = query.offset(offset).limit(limit)
        rows = session.exec(query).all()
    now = datetime.now(UTC)
    summaries = [
        ProposalSummary(
            id=int(pid or 0), dao=slug, external_id=external_id, origin=origin, title=title or external_id,
            status=_status(state, outcome, start, end, now=now), created_at=created_at, start=start,
            end=end, outcome=outcome, url=url,
        )
        for pid, external_id, origin, title, state, outcome, created_at, start, end, url, slug in rows
    ]
    if not status:
        return summaries
    return [s for s in summaries if s.status == status][offset : offset + limit]


def get_proposal(store: Store, ref: str, *, dao: str | None = None) -> ProposalPublic:
    """One proposal by store id or external id, with the threads linked to it."""
    proposal = store.get_proposal(ref, dao)
    with store.session() as session:
        dao_row = session.get(Dao, proposal.dao_id)
        links = session.exec(
            select(ProposalLink, Thread)
            .join(Thread, col(Thread.id) == ProposalLink.thread_id)
            .where(ProposalLink.proposal_id == proposal.id)
        ).all()
    summary = _summary(proposal, dao_row.slug if dao_row else "")
    return ProposalPublic(
        **summary.model_dump(),
        body=proposal.body,
        author=proposal.author,
        choices=list(proposal.choices or []),
        scores=proposal.scores,
        scores_total=proposal.scores_total,
        voter_count=proposal.voter_count,
        discussion_url=proposal.discussion_url,
        linked_threads=[
            {"title": thread.title, "url": thread.url, "method": link.method} for link, thread in links
        ],
    )


def _snippet(text: str, query: str, width: int = 240) -> str:
    lowered = text.lower()
    at = lowered.find(query.lower().split()[0]) if query.split() else -1
    start = max(0, at - width // 3) if at >= 0 else 0
    piece = " ".join(text[start : start + width].split())
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(text) else "")


def search_posts(store: Store, query: str, *, dao: str | None = None, limit: int = 20) -> list[PostHit]:
    """Full-text search: posts containing every word of ``query`` (case-insensitive), newest first."""
    words = [w for w in query.split() if w]
    if not words:
        raise InputError("Empty search: type at least one word.")
    if len(query) > 500:
        raise InputError(f"Search text is {len(query)} characters; keep it under 500.")
    limit = max(1, min(limit, MAX_PAGE))
    with store.session() as session:
        stmt = (
            select(Post, Thread, Source, Dao, Author)
            .join(Thread, col(Thread.id) == Post.thread_id)
            .join(Source, col(Source.id) == Post.source_id)
            .join(Dao, col(Dao.id) == Source.dao_id)
            .join(Author, col(Author.id) == Post.author_id, isouter=True)
            .where(col(Post.deleted).is_(False))
        )
        for word in words:
            pattern = f"%{word}%"
            stmt = stmt.where(or_(col(Post.text).ilike(pattern), col(Thread.title).ilike(pattern)))
        if dao:
            stmt = stmt.where(Dao.slug == dao)
        stmt = stmt.order_by(col(Post.created_at).desc().nulls_last(), col(Post.id)).limit(limit)
        rows = session.exec(stmt).all()
    return [_hit(post, thread, source, dao_row, author, _snippet(post.text, query)) for post, thread, source, dao_row, author in rows]


def _hit(post: Post, thread: Thread, source: Source, dao: Dao, author: Author | None, snippet: str, score: float | None = None) -> PostHit:
    return PostHit(
        post_id=int(post.id or 0),
        dao=dao.slug,
        source_kind=source.kind,
        thread_title=thread.title,
        author=(author.display_name or author.handle) if author else None,
        created_at=post.created_at,
        url=post.url or thread.url,
        snippet=snippet,
        score=score,
    )


def posts_by_ids(store: Store, ids: list[int], *, scores: list[float] | None = None) -> list[PostHit]:
    """Posts by id, in the given order (used to render semantic search results)."""
    if not ids:
        return []
    with store.session() as session:
        rows = session.exec(
            select(Post, Thread, Source, Dao, Author)
            .join(Thread, col(Thread.id) == Post.thread_id)
            .join(Source, col(Source.id) == Post.source_id)
            .join(Dao, col(Dao.id) == Source.dao_id)
            .join(Author, col(Author.id) == Post.author_id, isouter=True)
            .where(col(Post.id).in_(ids))
        ).all()
    by_id = {int(r[0].id or 0): r for r in rows}
    hits = []
    for rank, post_id in enumerate(ids):
        if post_id not in by_id:
            raise NotFoundError(f"Post {post_id} is not in the store; the search index is stale — re-index it.")
        post, thread, source, dao_row, author = by_id[post_id]
        text = " ".join(post.text.split())
        hits.append(_hit(post, thread, source, dao_row, author, text[:240] + ("…" if len(text) > 240 else ""),
                         scores[rank] if scores else None))
    return hits
