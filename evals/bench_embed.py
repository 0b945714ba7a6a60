"""Embedding throughput, the one implementation behind ``concord bench``'s embedding rows and this script:
a stock ``SentenceTransformer.encode`` loop (one text per call) vs Concord's ``embed_batch`` (batch 64) vs a
re-index through the content-hash cache (nothing left to embed), on the same texts in one run.

Run: ``python -m evals.bench_embed [--n 512] [--data-dir .concord]`` (texts: the store's posts when the data dir
holds an ingested store, else real messages of the bundled Aave Discord export).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from embeddings.minilm import SentenceTransformerEmbedder

__all__ = ["measure_embedding", "sample_texts"]


def sample_texts(n: int) -> list[str]:
    """``n`` real message texts of the bundled Aave Discord export (cycled when ``n`` exceeds the 3,579 non-empty)."""
    import gzip
    import json

    from ingest.sources.recordings import SAMPLE_DIR

    with gzip.open(SAMPLE_DIR / "discord-aave.json.gz", "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    texts = [m.get("content", "") for m in data.get("messages", []) if m.get("content")]
    return [texts[i % len(texts)] for i in range(n)]


def measure_embedding(texts: list[str], *, batch_size: int = 64, embedder: SentenceTransformerEmbedder | None = None) -> dict[str, float]:
    """Texts per second of the stock loop, ``embed_batch`` and a cached re-index, with the ratios to the stock loop."""
    from embeddings import CachedEmbedder, SentenceTransformerEmbedder, VectorCache, minilm_path

    embedder = embedder or SentenceTransformerEmbedder(minilm_path(), batch_size=batch_size)
    model = embedder.model  # the very same loaded SentenceTransformer
    embedder.embed_batch(texts[:8])  # warm-up
    start = time.perf_counter()
    for text in texts:
        model.encode(text, show_progress_bar=False)
    stock = len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    embedder.embed_batch(texts)
    batched = len(texts) / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        cache = VectorCache(Path(tmp) / "v.sqlite")
        cached = CachedEmbedder(embedder, cache)
        cached.embed_batch(texts)
        start = time.perf_counter()
        cached.embed_batch(texts)
        reindex = len(texts) / (time.perf_counter() - start)
        cache.close()
    return {"stock_loop": stock, "embed_batch": batched, "cached_reindex": reindex,
            "batch_vs_stock": batched / stock, "reindex_vs_stock": reindex / stock}


def _store_texts(data_dir: Path, n: int) -> list[str]:
    from sqlmodel import col, select

    from ingest.domain import Post
    from ingest.settings import load_settings
    from ingest.store import Store

    settings = load_settings(data_dir=data_dir)
    if not settings.database_url and not (data_dir / "concord.db").exists():
        return []
    store = Store.open(settings.effective_database_url)
    try:
        with store.session() as session:
            return [t[:2000] for t in session.exec(select(Post.text).order_by(col(Post.id)).limit(n)).all() if t]
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=".concord")
    parser.add_argument("--n", type=int, default=512)
    args = parser.parse_args()
    texts = _store_texts(Path(args.data_dir), args.n) or sample_texts(args.n)
    result = measure_embedding(texts)
    print(f"{len(texts)} real post texts, MiniLM-L6, CPU")
    for name, value in result.items():
        print(f"{name:18s} {value:10.1f}{'x' if 'vs' in name else ' texts/s'}")


if __name__ == "__main__":
    main()
