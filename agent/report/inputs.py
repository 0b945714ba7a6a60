"""What a report reads: the proposal and the posts of its linked threads, with one hash over all of them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from agent.camps.units import SourcePost
from embeddings.scope import linked_thread_ids
from ingest.core.domain import Author, Dao, Post, Proposal, Thread, Vote
from ingest.core.store import Store

__all__ = ["ReportInputs", "current_inputs", "inputs_hash", "load_inputs", "topic_url"]


@dataclass
class ReportInputs:
    proposal: Proposal
    dao_slug: str
    threads: list[Thread]
    posts: list[Post]
    authors: dict[int, Author]
    voting_power: dict[str, float]

    @property
    def hash(self) -> str:
        return inputs_hash(self.proposal, self.posts)

    def source_posts(self) -> list[SourcePost]:
        out = []
        for post in self.posts:
            author = self.authors.get(post.author_id or -1)
            out.append(
                SourcePost(
                    post_id=int(post.id),  # type: ignore[arg-type]
                    text=post.text,
                    author=author.handle if author else f"post-{post.id}",
                    url=post.url,
                    address=author.address.lower() if author and author.address else None,
                )
            )
        return out

    def times(self) -> list[datetime]:
        return sorted(p.created_at for p in self.posts if p.created_at is not None)


def topic_url(url: str | None, external_id: str) -> str | None:
    """The thread's own link: a Discourse URL cut after the topic id (``/t/15615/15615`` and ``/t/slug/101/4`` are
    post links; the topic is ``/t/15615`` and ``/t/slug/101``)."""
    if not url or not external_id:
        return url
    match = re.search(r"(/t/(?:[^/?#]+/)??" + re.escape(external_id) + r")(?:/\d+)?/?(?=$|[?#])", url)
    return url[: match.end(1)] if match else url


def inputs_hash(proposal: Proposal, posts: list[Post]) -> str:
    """SHA-256 over the proposal's content hash and each post's id and content hash (by id)."""
    return _hash_of(proposal, [(int(p.id or 0), p.content_hash) for p in posts])


def _hash_of(proposal: Proposal, posts: list[tuple[int, str]]) -> str:
    digest = hashlib.sha256(f"proposal:{proposal.id}:{proposal.content_hash}".encode())
    for post_id, content_hash in sorted(posts):
        digest.update(f"\npost:{post_id}:{content_hash}".encode())
    return digest.hexdigest()


def current_inputs(store: Store, proposal_id: int) -> tuple[str, tuple[int, ...]]:
    """The inputs hash and post ids :func:`load_inputs` would give now, reading only the columns they need (no
    post objects, authors or votes): what staleness checks and page views call."""
    with store.session() as session:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None:
            from ingest.core.errors import NotFoundError

            raise NotFoundError(f"No proposal with store id {proposal_id}; list them with `concord proposals`.")
        thread_ids = linked_thread_ids(session, proposal)
        rows = (
            session.exec(
                select(Post.id, Post.content_hash, Post.text)
                .where(col(Post.thread_id).in_(thread_ids), col(Post.deleted).is_(False))
                .order_by(col(Post.id))
            ).all()
            if thread_ids
            else []
        )
        posts = [(int(post_id), content_hash) for post_id, content_hash, text in rows if text.strip()]  # as load_inputs
        return _hash_of(proposal, posts), tuple(post_id for post_id, _ in posts)


def load_inputs(store: Store, proposal_id: int) -> ReportInputs:
    """The proposal, its linked threads' non-deleted posts (by id), their authors, and on-proposal voting power."""
    with store.session() as session:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None:
            from ingest.core.errors import NotFoundError

            raise NotFoundError(f"No proposal with store id {proposal_id}; list them with `concord proposals`.")
        dao = session.get(Dao, proposal.dao_id)
        thread_ids = linked_thread_ids(session, proposal)
        threads = list(session.exec(select(Thread).where(col(Thread.id).in_(thread_ids)).order_by(col(Thread.id))).all()) if thread_ids else []
        posts = (
            list(
                session.exec(
                    select(Post).where(col(Post.thread_id).in_(thread_ids), col(Post.deleted).is_(False)).order_by(col(Post.id))
                ).all()
            )
            if thread_ids
            else []
        )
        posts = [p for p in posts if p.text.strip()]
        author_ids = {p.author_id for p in posts if p.author_id is not None}
        authors = {int(a.id): a for a in session.exec(select(Author).where(col(Author.id).in_(author_ids))).all()} if author_ids else {}  # type: ignore[arg-type]
        addresses = {a.address.lower(): a.handle for a in authors.values() if a.address}
        power: dict[str, float] = {}
        if addresses:
            for vote in session.exec(select(Vote).where(Vote.proposal_id == proposal.id)).all():
                handle = addresses.get(vote.voter.lower())
                if handle is not None:
                    power[handle] = power.get(handle, 0.0) + float(vote.voting_power)
        return ReportInputs(
            proposal=proposal, dao_slug=dao.slug if dao else "", threads=threads, posts=posts, authors=authors, voting_power=power
        )
