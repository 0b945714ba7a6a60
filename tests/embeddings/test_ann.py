"""The approximate index: chosen by size, recall against exact search on clustered vectors, persisted, updated in
place (adds, edits, deletions) — on small sizes (speed is measured by ``concord bench``, never here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import embeddings.index as index_module
from embeddings import CachedEmbedder, DaoIndex, SentenceTransformerEmbedder, VectorCache
from embeddings.ann import EXACT_MAX, IndexPlan, build_index, index_plan_of, plan_for, search_one
from ingest.core.domain import Post, content_hash
from ingest.core.store import Store
from tests.embeddings.forum_data import add_post, make_forum


def _clustered(n: int, dim: int = 64, centres: int = 50, seed: int = 1) -> np.ndarray:
    """Unit vectors around a few centres, like embeddings of posts on a few topics (not uniform noise)."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((centres, dim)).astype(np.float32)
    x = base[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_plan_is_exact_for_small_indexes_and_ivf_for_large() -> None:
    assert plan_for(0).kind == plan_for(EXACT_MAX - 1).kind == "flat"
    large = plan_for(1_000_000)
    assert (large.kind, large.nlist, large.nprobe) == ("ivf", 2048, 8)
    assert plan_for(EXACT_MAX).kind == "ivf" and plan_for(EXACT_MAX).nlist >= 256


def test_ivf_recall_at_10_against_exact_search() -> None:
    x = _clustered(6000)
    ids = np.arange(100, 6100, dtype=np.int64)
    exact = build_index(x, ids, IndexPlan("flat"))
    approx = build_index(x, ids, IndexPlan("ivf", nlist=64, nprobe=8))
    assert index_plan_of(approx) == IndexPlan("ivf", nlist=64, nprobe=8) and index_plan_of(exact).kind == "flat"
    queries = _clustered(100, seed=2)
    _, truth = exact.search(queries, 10)
    found = [set(search_one(approx, q, 10)[1]) for q in queries]
    recall = np.mean([len(f & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95
    assert set(truth.ravel()) <= set(ids)  # ids are the ones given, not row numbers


def test_ivf_removes_and_adds_by_id() -> None:
    x = _clustered(3000)
    index = build_index(x, np.arange(3000, dtype=np.int64), IndexPlan("ivf", nlist=32, nprobe=32))
    assert search_one(index, x[7], 1)[1][0] == 7
    index.remove_ids(np.asarray([7], dtype=np.int64))
    assert 7 not in search_one(index, x[7], 5)[1] and index.ntotal == 2999
    index.add_with_ids(x[7:8], np.asarray([99_999], dtype=np.int64))
    assert search_one(index, x[7], 1)[1][0] == 99_999


@pytest.fixture
def ivf_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the DAO index choose IVF even for a handful of posts, so its update path is exercised on real MiniLM."""
    monkeypatch.setattr(index_module, "plan_for", lambda n: IndexPlan("ivf", nlist=2, nprobe=2))


def test_ivf_dao_index_persists_and_updates_in_place(
    ivf_everywhere: None, store: Store, minilm: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    import faiss

    ids = make_forum(store)
    embedder = CachedEmbedder(minilm, VectorCache(tmp_path / "vectors.sqlite"))
    index = DaoIndex.for_dao(tmp_path / "index", "testdao")
    assert index.update(store, embedder).total == 7
    assert index_plan_of(index.index).kind == "ivf"
    trained = faiss.extract_index_ivf(index.index).quantizer.reconstruct_n(0, 2).ravel().copy()

    new_id = add_post(store, ids["thread_b"], "heidi", "Sequencer rebates should go to validators who run full nodes.", 3, None)
    with store.session() as session:
        post = session.get(Post, ids["posts_a"][0])
        post.text = "Completely rewritten: the grant should be paid in DAI, not in the governance token."
        post.content_hash = content_hash(post.text)
        session.add(post)
        gone = session.get(Post, ids["posts_b"][0])
        gone.deleted = True
        session.add(gone)
    stats = DaoIndex.for_dao(tmp_path / "index", "testdao").update(store, embedder)
    assert (stats.total, stats.embedded, stats.cached) == (7, 2, 5)

    reloaded = DaoIndex.for_dao(tmp_path / "index", "testdao").load()
    ivf = faiss.extract_index_ivf(reloaded.index)
    assert np.array_equal(ivf.quantizer.reconstruct_n(0, 2).ravel(), trained)  # not retrained: updated in place
    assert reloaded.index.ntotal == 7 and ids["posts_b"][0] not in reloaded.posts
    hit = reloaded.search(minilm.embed_batch(["pay the grant in DAI"])[0], 1)[0]
    assert hit[0] == ids["posts_a"][0] and hit[1] > 0.5
    assert reloaded.search(minilm.embed_batch(["rebates for validators running full nodes"])[0], 1)[0][0] == new_id
    everything = {pid for pid, _ in reloaded.search(minilm.embed_batch(["governance"])[0], 20)}
    assert ids["posts_b"][0] not in everything and len(everything) == 7


def test_index_rebuilt_when_the_model_changes(store: Store, minilm: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    make_forum(store)
    index = DaoIndex.for_dao(tmp_path / "index", "testdao")
    index.update(store, CachedEmbedder(minilm, VectorCache(tmp_path / "v.sqlite")))
    other = SentenceTransformerEmbedder(minilm.model_dir, model_id="another-model")
    other._model = minilm.model
    stats = DaoIndex.for_dao(tmp_path / "index", "testdao").update(store, CachedEmbedder(other, VectorCache(tmp_path / "v.sqlite")))
    assert (stats.embedded, stats.cached) == (7, 0)
    assert DaoIndex.for_dao(tmp_path / "index", "testdao").load().model_id == "another-model"
