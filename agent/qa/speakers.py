"""Who speaks for the proposal a thread discusses, for answers: the same proposer-side evidence the consensus
report uses (:func:`agent.report.speakers.find_proposer_side`), read per thread from the store, so an answer can
say that a quoted author is the proposing team."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select

from agent.report.speakers import SpeakerPost, find_proposer_side
from embeddings.scope import linked_thread_ids
from ingest.core.domain import Author, Post, Proposal, ProposalLink, Source, Thread
from ingest.core.store import Store

__all__ = ["proposer_side_by_thread"]


def _thread_proposal(session: object, thread: Thread) -> Proposal | None:
    """The proposal the thread discusses: linked by a :class:`ProposalLink`, else the DAO's proposal whose
    discussion URL names this thread (the report's own rule, :func:`embeddings.scope.linked_thread_ids`)."""
    link = session.exec(select(ProposalLink.proposal_id).where(ProposalLink.thread_id == thread.id)).first()  # type: ignore[attr-defined]
    if link is not None:
        return session.get(Proposal, link)  # type: ignore[attr-defined]
    source = session.get(Source, thread.source_id)  # type: ignore[attr-defined]
    if source is None or source.dao_id is None:
        return None
    candidates = session.exec(select(Proposal).where(Proposal.dao_id == source.dao_id, col(Proposal.discussion_url).contains(thread.external_id))).all()  # type: ignore[attr-defined]
    return next((p for p in candidates if thread.id in linked_thread_ids(session, p)), None)  # type: ignore[arg-type]


def proposer_side_by_thread(store: Store, thread_ids: Iterable[int]) -> dict[int, dict[str, list[str]]]:
    """For each thread: its proposer-side authors (by handle) and the evidence for each."""
    out: dict[int, dict[str, list[str]]] = {}
    with store.session() as session:
        for thread_id in dict.fromkeys(thread_ids):
            thread = session.get(Thread, thread_id)
            if thread is None:
                continue
            proposal = _thread_proposal(session, thread)
            rows = session.exec(
                select(Post, Author).join(Author, col(Author.id) == Post.author_id, isouter=True)
                .where(Post.thread_id == thread_id, col(Post.deleted).is_(False)).order_by(col(Post.id))
            ).all()
            posts = [SpeakerPost(int(p.id), a.handle if a else f"post-{p.id}", p.text, p.number, a.address.lower() if a and a.address else None)  # type: ignore[arg-type]
                     for p, a in rows if p.text.strip()]
            side = find_proposer_side(posts, proposal_author=proposal.author if proposal else None,
                                      proposal_body=proposal.body or "" if proposal else "", proposal_title=proposal.title or "" if proposal else "")
            out[thread_id] = dict(side.members)
    return out
