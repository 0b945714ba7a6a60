"""Embedding throughput in one run: a stock ``SentenceTransformer.encode`` loop (one text per call) vs
Concord's ``embed_batch`` (batch 64) vs a re-index through the content-hash cache (nothing to embed).

Run: ``python -m evals.bench_embed --data-dir .concord --n 512`` (after `concord ingest sample`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlmodel import col, select

from embeddings import CachedEmbedder, SentenceTransformerEmbedder, VectorCache, minilm_path
from ingest.domain import Post
from ingest.settings import load_settings
from ingest.store import Store

__all__ = ["bench_embed"]


def bench_embed(texts: list[str]) -> dict[str, float]:
    """Texts per second for each way, and the ratios to the stock loop."""
    embedder = SentenceTransformerEmbedder(minilm_path(), batch_size=64)
    model = embedder.model
    model.encode(texts[:8])  # warm-up
    start = time.perf_counter()
    for text in texts:
        model.encode(text)
    stock = len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    embedder.embed_batch(texts)
    batched = len(texts) / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        cached = CachedEmbedder(embedder, VectorCache(Path(tmp) / "v.sqlite"))
        cached.embed_batch(texts)
        start = time.perf_counter()
        cached.embed_batch(texts)
        reindex = len(texts) / (time.perf_counter() - start)
        assert cached.stats.embedded == len(set(texts))
    return {"stock_loop": stock, "embed_batch": batched, "cached_reindex": reindex,
            "batch_vs_stock": batched / stock, "reindex_vs_stock": reindex / stock}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=".concord")
    parser.add_argument("--n", type=int, default=512)
    args = parser.parse_args()
    store = Store.open(load_settings(data_dir=Path(args.data_dir)).effective_database_url)
    with store.session() as session:
        texts = [t[:2000] for t in session.exec(select(Post.text).order_by(col(Post.id)).limit(args.n)).all()]
    result = bench_embed(texts)
    print(f"{len(texts)} real post texts, MiniLM-L6, CPU")
    for name, value in result.items():
        print(f"{name:18s} {value:10.1f}{'x' if 'vs' in name else ' texts/s'}")


if __name__ == "__main__":
    main()
