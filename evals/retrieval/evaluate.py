"""Retrieval quality on ``labels.jsonl``: recall@k, MRR and nDCG@k of BM25, dense and hybrid (RRF) retrieval,
next to two baselines measured in the same run (a seeded random ranking and naive word overlap), per query set.

A *ranker* is any ``(query, depth) -> [post external id, ...]`` function, best first; Concord's retriever gives
three (one per mode). Used by ``concord eval retrieval`` and ``python -m evals.retrieval.recall``.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.retrieval.metrics import ndcg_at_k, recall_at_k, reciprocal_rank
from ingest.core.errors import InputError

if TYPE_CHECKING:
    from embeddings.cache import CachedEmbedder
    from embeddings.hybrid import HybridRetriever

__all__ = [
    "BASELINES",
    "LABELS",
    "MODES",
    "Ranker",
    "evaluate_rankers",
    "load_labels",
    "random_ranker",
    "recall_failures",
    "retriever_rankers",
    "run_retrieval_eval",
    "word_overlap_ranker",
]

LABELS = Path(__file__).with_name("labels.jsonl")
MODES = ("bm25", "dense", "hybrid")
BASELINES = ("word_overlap", "random")

Ranker = Callable[[str, int], list[str]]


def load_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    """The label rows; each needs ``query`` and a non-empty ``relevant_post_external_ids`` (``set`` defaults to
    ``proposal_title``)."""
    if not path.exists():
        raise InputError(f"No retrieval labels at {path}; rebuild them with `python -m evals.retrieval.build_labels`.")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not row.get("query") or not row.get("relevant_post_external_ids"):
                raise InputError(f"{path}:{number}: a label needs 'query' and a non-empty 'relevant_post_external_ids'.")
            row.setdefault("set", "proposal_title")
            rows.append(row)
    if not rows:
        raise InputError(f"{path} holds no labelled queries.")
    return rows


def retriever_rankers(retriever: HybridRetriever, external_ids: Mapping[int, str]) -> dict[str, Ranker]:
    """One ranker per retrieval mode of ``retriever``, answering in post external ids."""

    def make(mode: str) -> Ranker:
        return lambda query, depth: [external_ids[h.post_id] for h in retriever.search(query, k=depth, mode=mode)]

    return {mode: make(mode) for mode in MODES}


def random_ranker(ids: Sequence[str], *, seed: int = 0) -> Ranker:
    """Baseline: a random ranking, seeded per query (the same query always gets the same ranking)."""
    pool = sorted(ids)

    def rank(query: str, depth: int) -> list[str]:
        digest = hashlib.sha256(f"{seed}:{query}".encode()).digest()
        return random.Random(digest).sample(pool, min(depth, len(pool)))

    return rank


def word_overlap_ranker(texts: Mapping[str, str]) -> Ranker:
    """Baseline: posts ranked by how many distinct query words they contain (no weighting; ties by id)."""
    from embeddings.hybrid import tokenize

    words = {pid: set(tokenize(text)) for pid, text in texts.items()}

    def rank(query: str, depth: int) -> list[str]:
        wanted = set(tokenize(query))
        scored = [(len(wanted & w), pid) for pid, w in words.items()]
        return [pid for n, pid in sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))][:depth]

    return rank


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def evaluate_rankers(
    rankers: Mapping[str, Ranker], labels: Sequence[Mapping[str, Any]], *, k: int = 10, depth: int = 100
) -> dict[str, Any]:
    """Mean recall@k, MRR (first relevant within ``depth``) and nDCG@k per ranker, over all queries and per set."""
    if k < 1 or depth < k:
        raise InputError(f"Need 1 <= k <= depth, got k={k}, depth={depth}.")
    per_query: dict[str, list[tuple[str, float, float, float]]] = {name: [] for name in rankers}
    for row in labels:
        relevant = set(row["relevant_post_external_ids"])
        for name, ranker in rankers.items():
            ranking = ranker(str(row["query"]), depth)
            per_query[name].append((str(row["set"]), recall_at_k(ranking, relevant, k), reciprocal_rank(ranking, relevant),
                                    ndcg_at_k(ranking, relevant, k)))
    sets = ["all", *sorted({str(r["set"]) for r in labels})]
    out: dict[str, Any] = {}
    for subset in sets:
        block: dict[str, Any] = {"n": sum(1 for r in labels if subset == "all" or r["set"] == subset), "rankers": {}}
        for name, scores in per_query.items():
            chosen = [s for s in scores if subset == "all" or s[0] == subset]
            block["rankers"][name] = {
                f"recall@{k}": round(_mean([s[1] for s in chosen]), 4),
                "mrr": round(_mean([s[2] for s in chosen]), 4),
                f"ndcg@{k}": round(_mean([s[3] for s in chosen]), 4),
            }
        out[subset] = block
    return out


def recall_failures(result: Mapping[str, Any], min_recall: float, *, rankers: Sequence[str] = MODES) -> list[str]:
    """Which of ``rankers`` score under ``min_recall`` recall@k on all queries (empty list: all pass)."""
    k = result["k"]
    scores = result["sets"]["all"]["rankers"]
    return [f"{name} recall@{k} {scores[name][f'recall@{k}']:.3f} < {min_recall}" for name in rankers
            if scores[name][f"recall@{k}"] < min_recall]


def run_retrieval_eval(
    *, embedder: CachedEmbedder, labels_path: Path = LABELS, k: int = 10, depth: int = 100,
    workdir: Path | None = None, progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Ingest the bundled sample's DAO(s) into a temporary store, index it with ``embedder``, and evaluate
    Concord's three retrieval modes and the two baselines on ``labels_path``."""
    from sqlmodel import col, select

    from embeddings import DaoIndex, HybridRetriever
    from evals.retrieval.corpus import sample_store
    from ingest.core.domain import Post

    say = progress or (lambda _m: None)
    labels = load_labels(labels_path)
    daos = sorted({str(r.get("dao", "arbitrum")) for r in labels})
    if len(daos) != 1:
        raise InputError(f"{labels_path} mixes DAOs {daos}; evaluate one DAO's labels at a time.")
    with tempfile.TemporaryDirectory(prefix="concord-retrieval-", dir=workdir) as tmp:
        say("ingesting the bundled sample")
        store = sample_store(Path(tmp) / "sample.db", daos=daos)
        try:
            say("embedding and indexing posts")
            index = DaoIndex.for_dao(Path(tmp) / "index", daos[0])
            stats = index.update(store, embedder)
            retriever = HybridRetriever(store, index, embedder, depth=depth)
            with store.session() as session:
                external = {int(i): str(e) for i, e in session.exec(
                    select(Post.id, Post.external_id).where(col(Post.id).in_(retriever.post_ids))).all()}
            missing = sorted({e for r in labels for e in r["relevant_post_external_ids"]} - set(external.values()))
            if missing:
                raise InputError(f"{len(missing)} labelled posts (e.g. {missing[:3]}) are not in the bundled sample's "
                                 f"{daos[0]} index; rebuild the labels with `python -m evals.retrieval.build_labels`.")
            rankers = retriever_rankers(retriever, external)
            rankers["word_overlap"] = word_overlap_ranker({external[p]: t for p, t in retriever.texts.items()})
            rankers["random"] = random_ranker(list(external.values()))
            say(f"ranking {len(labels)} queries")
            sets = evaluate_rankers(rankers, labels, k=k, depth=depth)
        finally:
            store.close()
    return {
        "labels": labels_path.name if labels_path == LABELS else str(labels_path),
        "labels_sha256": hashlib.sha256(labels_path.read_bytes()).hexdigest(),
        "corpus": {"dao": daos[0], "posts": stats.total, "source": "bundled sample (ingest/sample/data)"},
        "embedder": embedder.model_id,
        "k": k,
        "depth": depth,
        "modes": list(MODES),
        "baselines": {"word_overlap": "posts ranked by the number of distinct query words they contain",
                      "random": "a seeded random ranking of the DAO's posts"},
        "sets": sets,
    }
