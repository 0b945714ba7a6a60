"""Recall@10 of BM25, dense and hybrid (RRF) retrieval on ``labels.jsonl``, measured in one run.

recall@10 of a query = |relevant ∩ top 10| / min(10, |relevant|); the table gives the mean over queries.
Run: ``python -m evals.retrieval.recall --data-dir .concord`` (after `concord ingest sample`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlmodel import col, select

from embeddings import DaoIndex, HybridRetriever, cached_embedder
from ingest.domain import Post
from ingest.settings import load_settings
from ingest.store import Store

__all__ = ["recall_at_k"]

LABELS = Path(__file__).with_name("labels.jsonl")


def recall_at_k(retriever: HybridRetriever, store: Store, labels: list[dict[str, object]], *, k: int = 10) -> dict[str, float]:
    """Mean recall@k per retrieval mode."""
    with store.session() as session:
        ext = {int(i): e for i, e in session.exec(select(Post.id, Post.external_id).where(col(Post.id).in_(retriever.post_ids))).all()}
    out: dict[str, float] = {}
    for mode in ("bm25", "dense", "hybrid"):
        scores = []
        for row in labels:
            relevant = set(row["relevant_post_external_ids"])  # type: ignore[arg-type]
            got = {ext[h.post_id] for h in retriever.search(str(row["query"]), k=k, mode=mode)}
            scores.append(len(got & relevant) / min(k, len(relevant)))
        out[mode] = sum(scores) / len(scores)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=".concord")
    args = parser.parse_args()
    settings = load_settings(data_dir=Path(args.data_dir))
    store = Store.open(settings.effective_database_url)
    labels = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    embedder = cached_embedder(settings)
    index = DaoIndex.for_dao(settings.index_dir, "arbitrum")
    stats = index.update(store, embedder)
    result = recall_at_k(HybridRetriever(store, index, embedder), store, labels)
    print(f"{len(labels)} queries, {stats.total} arbitrum posts indexed ({stats.embedded} embedded now)")
    for mode, value in result.items():
        print(f"recall@10 {mode:6s} {value:.3f}")


if __name__ == "__main__":
    main()
