"""Embeddings on real MiniLM: cache by content hash, persisted FAISS index per DAO, hybrid retrieval with filters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from embeddings import (
    CachedEmbedder,
    DaoIndex,
    HybridRetriever,
    RetrievalFilter,
    SentenceTransformerEmbedder,
    VectorCache,
    reciprocal_rank_fusion,
)
from ingest.core.domain import Post, content_hash
from ingest.core.errors import InputError, NotFoundError
from ingest.core.store import Store
from tests.embeddings.forum_data import add_post, make_forum


def test_minilm_loads_offline_and_normalises(minilm: SentenceTransformerEmbedder) -> None:
    vectors = minilm.embed_batch(["audit budget", "validator rebates"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert len(minilm.weights_sha256()) == 64


def test_reindex_embeds_only_new_or_changed_posts(store: Store, minilm: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    ids = make_forum(store)
    embedder = CachedEmbedder(minilm, VectorCache(tmp_path / "vectors.sqlite"))
    index = DaoIndex.for_dao(tmp_path / "index", "testdao")
    first = index.update(store, embedder)
    assert (first.total, first.embedded, first.cached) == (7, 7, 0)
    again = index.update(store, embedder)
    assert (again.total, again.embedded, again.cached) == (7, 0, 7)

    add_post(store, ids["thread_b"], "heidi", "A brand new post about sequencer rebates and validator incentives.", 3, None)
    with store.session() as session:
        post = session.get(Post, ids["posts_a"][0])
        post.text = post.text + " Edited: I still support it."
        post.content_hash = content_hash(post.text)
        session.add(post)
    third = index.update(store, embedder)
    assert (third.total, third.embedded, third.cached) == (8, 2, 6)

    # a fresh process sees the persisted index, keyed by post ids, and a fresh cache object reuses the file
    reloaded = DaoIndex.for_dao(tmp_path / "index", "testdao").load()
    assert set(reloaded.posts) == set(ids["posts_a"]) | set(ids["posts_b"]) | {max(reloaded.posts)}
    hits = reloaded.search(minilm.embed_batch(["stream the funds monthly"])[0], 1)
    assert hits[0][0] == ids["posts_a"][3]
    cold = CachedEmbedder(minilm, VectorCache(tmp_path / "vectors.sqlite"))
    assert index.update(store, cold).embedded == 0


def test_missing_index_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="concord ask --dao testdao --reindex"):
        DaoIndex.for_dao(tmp_path, "testdao").load()


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]])
    assert max(fused, key=fused.get) == 1  # ranks 1 and 2 beat 3's ranks 3 and 1
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[4] == pytest.approx(1 / 63)


@pytest.fixture
def retriever(store: Store, minilm: SentenceTransformerEmbedder, tmp_path: Path) -> tuple[HybridRetriever, dict[str, object]]:
    ids = make_forum(store)
    embedder = CachedEmbedder(minilm, VectorCache(tmp_path / "v.sqlite"))
    index = DaoIndex.for_dao(tmp_path / "index", "testdao")
    index.update(store, embedder)
    return HybridRetriever(store, index, embedder), ids


def test_hybrid_finds_by_words_and_by_meaning(retriever: tuple[HybridRetriever, dict[str, object]]) -> None:
    r, ids = retriever
    by_word = r.search("clawbacks", k=3)
    assert by_word[0].post_id == ids["posts_a"][1] and by_word[0].bm25_rank == 1
    # no shared words with the post: only the dense side can find it
    by_meaning = r.search("pay the money gradually rather than all at once", k=3, mode="dense")
    assert ids["posts_a"][3] in [h.post_id for h in by_meaning]
    assert r.search("clawbacks", k=3, mode="bm25")[0].dense_rank is None
    with pytest.raises(InputError, match="hybrid, bm25, dense"):
        r.search("x", mode="magic")


def test_filters_by_proposal_thread_and_dates(retriever: tuple[HybridRetriever, dict[str, object]]) -> None:
    r, ids = retriever
    everything = {h.post_id for h in r.search("validators rebates audit grant", k=20)}
    assert set(ids["posts_b"]) <= everything
    in_proposal = {h.post_id for h in r.search("validators rebates audit grant", k=20, flt=RetrievalFilter(proposal_id=ids["proposal"]))}
    assert in_proposal and in_proposal <= set(ids["posts_a"])
    window = RetrievalFilter(since=datetime(2024, 3, 3, tzinfo=UTC), until=datetime(2024, 3, 5, tzinfo=UTC))
    dated = {h.post_id for h in r.search("audit grant payout milestones", k=20, flt=window)}
    assert dated == {ids["posts_a"][1], ids["posts_a"][2]}  # posts on days 2 and 3 only
