"""Embeddings and retrieval: an encoder contract, MiniLM offline, a content-hash vector cache,
a persisted FAISS index per DAO keyed by post id, and hybrid BM25 + dense retrieval (RRF)."""

from embeddings.base import Embedder, weights_of
from embeddings.cache import CachedEmbedder, VectorCache, text_hash
from embeddings.hybrid import Hit, HybridRetriever, RetrievalFilter, reciprocal_rank_fusion
from embeddings.index import DaoIndex, IndexStats
from embeddings.minilm import SentenceTransformerEmbedder, build_embedder, minilm_path
from embeddings.scope import linked_thread_ids, topic_id_from_url

__all__ = [
    "CachedEmbedder",
    "DaoIndex",
    "Embedder",
    "Hit",
    "HybridRetriever",
    "IndexStats",
    "RetrievalFilter",
    "SentenceTransformerEmbedder",
    "VectorCache",
    "build_embedder",
    "cached_embedder",
    "linked_thread_ids",
    "minilm_path",
    "reciprocal_rank_fusion",
    "text_hash",
    "topic_id_from_url",
    "weights_of",
]


def cached_embedder(settings: "ConcordSettings", *, encoder: Embedder | None = None) -> CachedEmbedder:  # noqa: F821 - settings type only
    """The configured encoder (or ``encoder``) behind the vector cache in ``settings.index_dir/vectors.sqlite``."""
    if encoder is None:
        encoder = build_embedder(settings.embeddings, cache_dir=settings.embeddings.export_cache_dir())
    return CachedEmbedder(encoder, VectorCache(settings.index_dir / "vectors.sqlite"))
