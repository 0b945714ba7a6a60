"""Which FAISS index a vector count gets, and how to build and query it.

Small indexes are searched exactly (``IndexFlatIP``: a scan of a few thousand vectors is well under a millisecond and
has perfect recall). From :data:`EXACT_MAX` vectors on, an inverted-file index (``IndexIVFFlat``, inner product) is
used: its coarse quantizer is trained by k-means on a sample (:data:`TRAIN_PER_CELL` vectors per cell, so training
costs the same at any index size), vectors are added in batches, and each query scans only the ``nprobe`` closest of
``nlist`` cells. ``concord bench`` measures exact, IVF and HNSW (M 32, efSearch 64) side by side with recall@10
against exact search. HNSW is measured, not used: FAISS's HNSW cannot remove a vector (an edited or deleted post
would stay findable until a rebuild), and its graph takes far longer to build than IVF's cells (the bench records
both build times); its queries are no faster than IVF's at these sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["EXACT_MAX", "IndexPlan", "build_index", "index_plan_of", "plan_for", "search_one"]

EXACT_MAX = 20_000
TRAIN_PER_CELL = 32  # k-means sample: nlist * 32 vectors, whatever the index size
KMEANS_ITERATIONS = 10
ADD_BATCH = 100_000


@dataclass(frozen=True)
class IndexPlan:
    """The kind of index for a size: ``flat`` (exact) or ``ivf`` with its cell count and cells probed per query."""

    kind: str
    nlist: int = 0
    nprobe: int = 0

    def describe(self) -> str:
        return "IndexFlatIP (exact)" if self.kind == "flat" else f"IndexIVFFlat nlist {self.nlist}, nprobe {self.nprobe}"


def plan_for(count: int) -> IndexPlan:
    """Exact below :data:`EXACT_MAX` vectors; else IVF with ~2·sqrt(n) cells (a power of two) and 8 probed (16 while
    there are only 256 cells, whose borders cut more neighbourhoods): a query then scans about as many centroids as
    vectors in its cells, and recall@10 stays >= 0.95 (``concord bench``)."""
    if count < EXACT_MAX:
        return IndexPlan("flat")
    nlist = max(256, min(2 ** round(math.log2(2 * math.sqrt(count))), 65_536))
    return IndexPlan("ivf", nlist=nlist, nprobe=16 if nlist <= 256 else 8)


def build_index(vectors: np.ndarray, ids: np.ndarray, plan: IndexPlan, *, seed: int = 0) -> Any:
    """A FAISS index over unit ``vectors`` keyed by ``ids`` (int64), of the planned kind; supports add and remove."""
    import faiss
    import numpy as np

    dim = int(vectors.shape[1])
    if plan.kind == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    else:
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, plan.nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = KMEANS_ITERATIONS
        index.cp.seed = seed
        index.cp.max_points_per_centroid = TRAIN_PER_CELL
        index.cp.min_points_per_centroid = min(TRAIN_PER_CELL, max(1, len(vectors) // plan.nlist))
        sample = min(len(vectors), plan.nlist * TRAIN_PER_CELL)
        chosen = np.random.default_rng(seed).choice(len(vectors), size=sample, replace=False) if sample < len(vectors) else slice(None)
        index.train(np.ascontiguousarray(vectors[chosen], dtype=np.float32))
        index.own_fields = True
        quantizer.this.disown()  # the IVF index owns (and frees) its quantizer
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # cheap remove_ids / reconstruct by post id
        index.nprobe = plan.nprobe
    if len(vectors):
        for start in range(0, len(vectors), ADD_BATCH):
            index.add_with_ids(np.ascontiguousarray(vectors[start : start + ADD_BATCH], dtype=np.float32),
                               np.ascontiguousarray(ids[start : start + ADD_BATCH], dtype=np.int64))
    return index


def index_plan_of(index: Any) -> IndexPlan:
    """The plan a built (or loaded) index follows."""
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return IndexPlan("flat")
    return IndexPlan("ivf", nlist=int(ivf.nlist), nprobe=int(ivf.nprobe))


def search_one(index: Any, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores and ids of the ``k`` nearest to one query, on one OpenMP thread (restored afterwards).

    FAISS's OpenMP threads gain nothing on a single vector and spin when the cores are busy (``concord bench``
    measures both).
    """
    import faiss
    import numpy as np

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        scores, ids = index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
    finally:
        faiss.omp_set_num_threads(threads)
    return scores[0], ids[0]
