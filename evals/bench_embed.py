"""Embedding throughput, the one implementation behind ``concord bench``'s embedding rows and this script:
the stock batched ``SentenceTransformer.encode(texts, batch_size=64)`` vs Concord's encoder (the runtime the
default settings pick on this CPU, length-sorted batches) vs a re-index through the content-hash cache (nothing left to embed), on the same texts in
one run, with the minimum cosine of Concord's vectors to the stock ones.

Run: ``python -m evals.bench_embed [--n 512] [--data-dir .concord]`` (texts: the store's posts when the data dir
holds an ingested store, else real messages of the bundled Aave Discord export).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embeddings.base import Embedder
    from embeddings.minilm import SentenceTransformerEmbedder

__all__ = ["INTERLEAVE", "measure_embedding", "sample_texts"]

INTERLEAVE = 128  # texts per turn: the stock call and Concord's encoder take turns on the same chunks


def sample_texts(n: int) -> list[str]:
    """``n`` real message texts of the bundled Aave Discord export (cycled when ``n`` exceeds the 3,579 non-empty)."""
    import gzip
    import json

    from ingest.sources.recordings import SAMPLE_DIR

    with gzip.open(SAMPLE_DIR / "discord-aave.json.gz", "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    texts = [m.get("content", "") for m in data.get("messages", []) if m.get("content")]
    return [texts[i % len(texts)] for i in range(n)]


def measure_embedding(texts: list[str], *, batch_size: int = 64, embedder: Embedder | None = None,
                      stock: SentenceTransformerEmbedder | None = None) -> dict[str, Any]:
    """Texts per second of the stock batched call ``SentenceTransformer.encode(texts, batch_size=64)``, of Concord's
    encoder (the default runtime on this CPU unless another is given) and of a cached re-index, on the same texts in one run, taking
    turns on chunks of :data:`INTERLEAVE` texts (each chunk is one stock call with ``batch_size``); the ratios to the
    stock call; and the minimum cosine between Concord's vectors and the stock fp32 ones."""
    import numpy as np

    from embeddings import (
        CachedEmbedder,
        SentenceTransformerEmbedder,
        VectorCache,
        build_embedder,
        minilm_path,
    )
    from ingest.core.settings import EmbeddingSettings

    stock = stock or SentenceTransformerEmbedder(minilm_path(), model_id="all-MiniLM-L6-v2")
    model = stock.model  # the loaded SentenceTransformer, called exactly as its documentation shows
    with tempfile.TemporaryDirectory() as tmp:
        fast = embedder or build_embedder(EmbeddingSettings(), cache_dir=Path(tmp) / "models")
        fast.embed_batch(texts[:8])  # warm-up (and, for ONNX, the one-off export: not timed)
        model.encode(texts[:8], batch_size=batch_size)
        stock_s = fast_s = 0.0
        references, pieces = [], []
        for start in range(0, len(texts), INTERLEAVE):  # in turns, so a change in the machine's load hits both
            chunk = texts[start : start + INTERLEAVE]
            began = time.perf_counter()
            references.append(model.encode(chunk, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                           show_progress_bar=False))
            stock_s += time.perf_counter() - began
            began = time.perf_counter()
            pieces.append(fast.embed_batch(chunk))
            fast_s += time.perf_counter() - began
        reference, vectors = np.concatenate(references), np.concatenate(pieces)
        stock_rate, fast_rate = len(texts) / stock_s, len(texts) / fast_s
        cosine_min = float(np.min(np.sum(np.asarray(reference, dtype=np.float32) * vectors, axis=1)))
        cache = VectorCache(Path(tmp) / "v.sqlite")
        cached = CachedEmbedder(fast, cache)
        cached.embed_batch(texts)
        start = time.perf_counter()
        cached.embed_batch(texts)
        reindex = len(texts) / (time.perf_counter() - start)
        cache.close()
    return {"stock_batched": stock_rate, "embed_batch": fast_rate, "cached_reindex": reindex,
            "batch_vs_stock": fast_rate / stock_rate, "reindex_vs_stock": reindex / stock_rate,
            "cosine_min": cosine_min, "vectors": vectors}


def _store_texts(data_dir: Path, n: int) -> list[str]:
    from sqlmodel import col, select

    from ingest.core.domain import Post
    from ingest.core.settings import load_settings
    from ingest.core.store import Store

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
        if name == "vectors":
            continue
        print(f"{name:18s} {value:10.1f}{'x' if 'vs' in name else ' texts/s'}")


if __name__ == "__main__":
    main()
