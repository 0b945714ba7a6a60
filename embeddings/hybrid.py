"""Hybrid retrieval: BM25 and dense search fused by reciprocal rank, with DAO, proposal and date filters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import col, select

from embeddings.index import DaoIndex, post_text
from embeddings.scope import linked_thread_ids
from ingest.core.domain import Post, Proposal
from ingest.core.errors import InputError

if TYPE_CHECKING:
    from embeddings.base import Embedder
    from ingest.core.store import Store

__all__ = ["Hit", "HybridRetriever", "RetrievalFilter", "reciprocal_rank_fusion", "tokenize"]

RRF_K = 60
_WORD = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case alphanumeric words (what BM25 scores)."""
    return _WORD.findall(text.lower())


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], *, k: int = RRF_K) -> dict[int, float]:
    """``sum(1 / (k + rank))`` over every ranking a post appears in (rank starts at 1)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


@dataclass(frozen=True)
class RetrievalFilter:
    """Restrict retrieval to one proposal's discussion, to given threads, and/or to a date range."""

    proposal_id: int | None = None
    thread_ids: frozenset[int] | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Hit:
    """One retrieved post with its fused score and its rank in each list (``None``: not in that list)."""

    post_id: int
    score: float
    text: str
    url: str | None
    thread_id: int
    bm25_rank: int | None = None
    dense_rank: int | None = None
    extra: dict[str, float] = field(default_factory=dict)


class HybridRetriever:
    """BM25 over the DAO's post texts plus dense search over its FAISS index, fused with RRF."""

    def __init__(self, store: Store, index: DaoIndex, embedder: Embedder, *, depth: int = 100) -> None:
        from rank_bm25 import BM25Okapi

        self.store = store
        self.index = index if index.index is not None else index.load()
        self.embedder = embedder
        self.depth = depth
        ids = sorted(self.index.posts)
        with store.session() as session:
            posts = {
                int(p.id): p  # type: ignore[arg-type]
                for start in range(0, len(ids), 900)
                for p in session.exec(select(Post).where(col(Post.id).in_(ids[start : start + 900]))).all()
            }
        self.post_ids = [i for i in ids if i in posts]
        self.texts = {i: post_text(posts[i]) for i in self.post_ids}
        self._bm25 = BM25Okapi([tokenize(self.texts[i]) or ["_"] for i in self.post_ids])

    def _allowed(self, flt: RetrievalFilter | None) -> set[int] | None:
        if flt is None or (flt.proposal_id is None and flt.thread_ids is None and flt.since is None and flt.until is None):
            return None
        threads: set[int] | None = set(flt.thread_ids) if flt.thread_ids is not None else None
        if flt.proposal_id is not None:
            with self.store.session() as session:
                proposal = session.get(Proposal, flt.proposal_id)
                if proposal is None:
                    raise InputError(f"No proposal with store id {flt.proposal_id}; see `concord proposals`.")
                linked = set(linked_thread_ids(session, proposal))
            threads = linked if threads is None else threads & linked
        allowed = set()
        for pid in self.post_ids:
            meta = self.index.posts[pid]
            if threads is not None and meta.thread_id not in threads:
                continue
            if flt.since is not None or flt.until is not None:
                created = meta.created()
                if created is None:
                    continue
                if flt.since is not None and created < flt.since:
                    continue
                if flt.until is not None and created >= flt.until:
                    continue
            allowed.add(pid)
        return allowed

    def bm25_ranking(self, query: str, allowed: set[int] | None = None) -> list[int]:
        """Post ids by BM25 score (positive scores only), best first, at most ``depth``."""
        scores = self._bm25.get_scores(tokenize(query))
        order = sorted(range(len(self.post_ids)), key=lambda i: -scores[i])
        ranking = []
        for i in order:
            if scores[i] <= 0:
                break
            pid = self.post_ids[i]
            if allowed is None or pid in allowed:
                ranking.append(pid)
                if len(ranking) >= self.depth:
                    break
        return ranking

    def dense_ranking(self, query: str, allowed: set[int] | None = None) -> list[int]:
        """Post ids by cosine similarity to the query, best first, at most ``depth``."""
        vector = self.embedder.embed_batch([query])[0]
        want = len(self.post_ids) if allowed is not None else self.depth
        ranking = [pid for pid, _ in self.index.search(vector, want) if pid in self.texts and (allowed is None or pid in allowed)]
        return ranking[: self.depth]

    def search(self, query: str, *, k: int = 10, flt: RetrievalFilter | None = None, mode: str = "hybrid") -> list[Hit]:
        """The ``k`` best posts for ``query``; ``mode`` is ``hybrid`` (default), ``bm25`` or ``dense``."""
        if mode not in {"hybrid", "bm25", "dense"}:
            raise InputError(f"Unknown retrieval mode {mode!r}; use one of: hybrid, bm25, dense.")
        allowed = self._allowed(flt)
        bm25 = self.bm25_ranking(query, allowed) if mode in {"hybrid", "bm25"} else []
        dense = self.dense_ranking(query, allowed) if mode in {"hybrid", "dense"} else []
        fused = reciprocal_rank_fusion([r for r in (bm25, dense) if r])
        bm25_pos = {p: i + 1 for i, p in enumerate(bm25)}
        dense_pos = {p: i + 1 for i, p in enumerate(dense)}
        best = sorted(fused, key=lambda p: (-fused[p], p))[:k]
        return [
            Hit(
                post_id=p,
                score=fused[p],
                text=self.texts[p],
                url=self.index.posts[p].url,
                thread_id=self.index.posts[p].thread_id,
                bm25_rank=bm25_pos.get(p),
                dense_rank=dense_pos.get(p),
            )
            for p in best
        ]
