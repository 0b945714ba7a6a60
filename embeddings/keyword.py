"""Keyword retrieval over a DAO's stored posts (BM25, thread titles included), for when no vector index is wanted:
the same tokeniser and scorer as the hybrid retriever's BM25 half, read straight from the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import col, select

from embeddings.hybrid import Hit, tokenize
from ingest.core.domain import Dao, Post, Source, Thread

if TYPE_CHECKING:
    from ingest.core.store import Store

__all__ = ["KeywordRetriever"]


class KeywordRetriever:
    """BM25 over the DAO's posts, built per call (no cache, no index); ``hits`` as :class:`DaoRetrievers` has it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def hits(self, query: str, *, dao: str, k: int = 10) -> list[Hit]:
        """The ``k`` best posts of ``dao`` for ``query`` (zero-score posts dropped)."""
        from rank_bm25 import BM25Okapi

        with self.store.session() as session:
            rows = session.exec(
                select(Post.id, Post.text, Post.url, Post.thread_id, Thread.title)
                .join(Thread, col(Thread.id) == Post.thread_id)
                .join(Source, col(Source.id) == Post.source_id)
                .join(Dao, col(Dao.id) == Source.dao_id)
                .where(Dao.slug == dao, col(Post.deleted).is_(False))
            ).all()
        if not rows:
            return []
        scores = BM25Okapi([tokenize(f"{title} {text}") or ["_"] for _, text, _, _, title in rows]).get_scores(tokenize(query))
        ranked = sorted(zip(rows, scores), key=lambda pair: -pair[1])[:k]
        return [Hit(post_id=int(r[0]), score=float(s), text=r[1], url=r[2], thread_id=int(r[3])) for r, s in ranked if s > 0]
