"""Recall@10 of BM25, dense and hybrid (RRF) retrieval on ``labels.jsonl``, measured in one run.

A thin script over :mod:`evals.retrieval.evaluate` (``concord eval retrieval`` is the full command).
Run: ``python -m evals.retrieval.recall --data-dir .concord`` (the data dir only holds the vector cache).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from embeddings import cached_embedder
from evals.retrieval.evaluate import LABELS, run_retrieval_eval
from ingest.core.settings import load_settings

__all__ = ["main"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=".concord")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    result = run_retrieval_eval(embedder=cached_embedder(load_settings(data_dir=Path(args.data_dir))), labels_path=args.labels, k=args.k)
    print(f"{result['sets']['all']['n']} queries, {result['corpus']['posts']} {result['corpus']['dao']} posts indexed")
    for name, scores in result["sets"]["all"]["rankers"].items():
        print(f"recall@{args.k} {name:12s} {scores[f'recall@{args.k}']:.3f}")


if __name__ == "__main__":
    main()
