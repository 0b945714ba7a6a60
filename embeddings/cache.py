"""Vectors cached by content hash, so re-indexing embeds only new or changed texts."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from embeddings.base import Embedder

__all__ = ["CacheStats", "CachedEmbedder", "VectorCache", "text_hash"]


def text_hash(text: str) -> str:
    """SHA-256 of the exact text that is embedded."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class VectorCache:
    """A SQLite file mapping (model id, text hash) to a float32 vector; safe to share between threads (the bot and
    the dashboard answer requests on worker threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, hash TEXT NOT NULL, vec BLOB NOT NULL, "
            "PRIMARY KEY (model, hash))"
        )

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, bytes]:
        """The cached vectors (raw float32 bytes) for those hashes that are present."""
        found: dict[str, bytes] = {}
        unique = list(dict.fromkeys(hashes))
        with self._lock:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT hash, vec FROM vectors WHERE model = ? AND hash IN ({marks})", [model_id, *chunk]
                )
                found.update({h: v for h, v in rows})
        return found

    def put_many(self, model_id: str, items: Sequence[tuple[str, bytes]]) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO vectors (model, hash, vec) VALUES (?, ?, ?)", [(model_id, h, v) for h, v in items]
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class CacheStats:
    """How many texts a call found cached and how many it had to embed."""

    def __init__(self) -> None:
        self.cached = 0
        self.embedded = 0


class CachedEmbedder:
    """Wraps an :class:`Embedder`; texts whose hash is cached are not embedded again."""

    def __init__(self, embedder: Embedder, cache: VectorCache) -> None:
        self.embedder = embedder
        self.cache = cache
        self.stats = CacheStats()

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    @property
    def dim(self) -> int:
        return self.embedder.dim

    def weights_sha256(self) -> str:
        return self.embedder.weights_sha256()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``: cached rows are reused, the rest are embedded and cached."""
        import numpy as np

        hashes = [text_hash(t) for t in texts]
        found = self.cache.get_many(self.model_id, hashes)
        missing = list(dict.fromkeys(h for h in hashes if h not in found))
        if missing:
            by_hash = {h: t for h, t in zip(hashes, texts, strict=True)}
            fresh = self.embedder.embed_batch([by_hash[h] for h in missing])
            items = [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in zip(missing, fresh, strict=True)]
            self.cache.put_many(self.model_id, items)
            found.update(dict(items))
        self.stats.embedded += len(missing)
        self.stats.cached += len(texts) - len(missing)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([np.frombuffer(found[h], dtype=np.float32) for h in hashes])
