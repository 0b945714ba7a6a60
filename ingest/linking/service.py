"""Link a DAO's threads and posts to its proposals and store each link with its method and confidence.

Order of evidence, strongest first: the proposal's ``discussion`` field, forum URLs in the proposal body,
proposal URLs in posts, then (only for proposals still unlinked) an exact normalised title match, then
TF-IDF similarity of proposal and thread titles above a threshold with a clear margin over the runner-up.
Running it again adds no duplicate links.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlmodel import col, select

from ingest.core.domain import LinkMethod, Post, Proposal, ProposalLink, Source, SourceKind, Thread
from ingest.core.store import Store
from ingest.linking.similarity import best_matches
from ingest.linking.urls import forum_topic_ids, normalise_title, proposal_refs

__all__ = ["CONFIDENCE", "LinkSummary", "link_dao"]

CONFIDENCE = {
    LinkMethod.DISCUSSION_FIELD: 0.99,
    LinkMethod.URL_IN_PROPOSAL: 0.95,
    LinkMethod.URL_IN_POST: 0.9,
    LinkMethod.TITLE_MATCH: 0.85,
}


@dataclass
class LinkSummary:
    dao: str
    created: Counter[str] = field(default_factory=Counter)
    existing: int = 0

    def line(self) -> str:
        made = ", ".join(f"{n} {m}" for m, n in sorted(self.created.items())) or "none"
        return f"{self.dao}: links created: {made}; {self.existing} already stored"


@dataclass(frozen=True)
class _Link:
    proposal_id: int
    thread_id: int | None
    post_id: int | None
    method: str
    confidence: float
    evidence: str


def link_dao(
    store: Store, dao_slug: str, *, similarity_threshold: float = 0.5, margin: float = 0.05
) -> LinkSummary:
    """Find and store links for one DAO; returns what was created."""
    dao = store.get_dao(dao_slug)
    summary = LinkSummary(dao=dao_slug)
    with store.session() as session:
        proposals = session.exec(select(Proposal).where(Proposal.dao_id == dao.id)).all()
        sources = session.exec(select(Source).where(Source.dao_id == dao.id)).all()
        forums = [s for s in sources if s.kind == SourceKind.DISCOURSE]
        thread_rows = session.exec(
            select(Thread).where(col(Thread.source_id).in_([s.id for s in sources]))
        ).all()
        by_topic = {(t.source_id, t.external_id): t for t in thread_rows}
        forum_threads = [t for t in thread_rows if t.source_id in {s.id for s in forums}]
        links: list[_Link] = []
        linked: set[int] = set()

        def topic_links(proposal: Proposal, text: str, method: LinkMethod) -> None:
            for forum in forums:
                for rank, topic in enumerate(forum_topic_ids(text, forum.locator)):
                    thread = by_topic.get((forum.id, str(topic)))
                    if thread is None or proposal.id is None:
                        continue
                    confidence = CONFIDENCE[method] if rank == 0 else 0.6
                    links.append(
                        _Link(proposal.id, thread.id, None, method, confidence, f"{forum.locator}/t/{topic}")
                    )
                    linked.add(proposal.id)

        for proposal in proposals:
            if proposal.discussion_url:
                topic_links(proposal, proposal.discussion_url, LinkMethod.DISCUSSION_FIELD)
            topic_links(proposal, proposal.body, LinkMethod.URL_IN_PROPOSAL)

        by_external = {p.external_id.lower(): p for p in proposals}
        for post_id, thread_id, text in session.exec(
            select(Post.id, Post.thread_id, Post.text).where(
                col(Post.source_id).in_([s.id for s in sources]),
                col(Post.text).contains("snapshot.") | col(Post.text).contains("tally.xyz"),
            )
        ).all():
            for ref in proposal_refs(text):
                target = by_external.get(ref.lower())
                if target is not None and target.id is not None:
                    links.append(
                        _Link(
                            target.id,
                            thread_id,
                            post_id,
                            LinkMethod.URL_IN_POST,
                            CONFIDENCE[LinkMethod.URL_IN_POST],
                            ref,
                        )
                    )
                    linked.add(target.id)

        titles: dict[str, list[Thread]] = {}
        for thread in forum_threads:
            titles.setdefault(normalise_title(thread.title), []).append(thread)
        unlinked = []
        for proposal in proposals:
            if proposal.id is None or proposal.id in linked:
                continue
            same = titles.get(normalise_title(proposal.title), []) if normalise_title(proposal.title) else []
            if len(same) == 1:
                links.append(
                    _Link(
                        proposal.id,
                        same[0].id,
                        None,
                        LinkMethod.TITLE_MATCH,
                        CONFIDENCE[LinkMethod.TITLE_MATCH],
                        same[0].title[:500],
                    )
                )
            else:
                unlinked.append(proposal)

        if unlinked and forum_threads:
            # Titles, not bodies: forum openers are often missing or short, and bodies share boilerplate
            # (measured on the Arbitrum sample, see evals/eval_linking.py).
            thread_texts = [t.title for t in forum_threads]
            proposal_texts = [p.title for p in unlinked]
            for i, j, score in best_matches(
                proposal_texts, thread_texts, threshold=similarity_threshold, margin=margin
            ):
                thread = forum_threads[j]
                links.append(
                    _Link(
                        unlinked[i].id or 0,
                        thread.id,
                        None,
                        LinkMethod.SIMILARITY,
                        score,
                        f"tf-idf cosine {score:.3f}: {thread.title[:400]}",
                    )
                )

        existing = {
            (link.proposal_id, link.thread_id, link.post_id, link.method)
            for link in session.exec(
                select(ProposalLink).where(col(ProposalLink.proposal_id).in_([p.id for p in proposals]))
            )
        }
        for link in links:
            key = (link.proposal_id, link.thread_id, link.post_id, link.method)
            if key in existing:
                summary.existing += 1
                continue
            existing.add(key)
            session.add(
                ProposalLink(
                    proposal_id=link.proposal_id,
                    thread_id=link.thread_id,
                    post_id=link.post_id,
                    method=link.method,
                    confidence=link.confidence,
                    evidence=link.evidence[:1000],
                )
            )
            summary.created[str(link.method)] += 1
    return summary
