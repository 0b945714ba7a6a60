"""A FAISS index per DAO, persisted under ``settings.index_dir/<dao>``, whose ids are post ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from ingest.domain import Dao, Post, Source, Thread
from ingest.errors import NotFoundError

if TYPE_CHECKING:
    import numpy as np

    from embeddings.cache import CachedEmbedder
    from ingest.store import Store

__all__ = ["DaoIndex", "IndexStats", "IndexedPost", "post_text"]

MAX_CHARS = 2000


def post_text(post: Post, thread_title: str = "") -> str:
    """What is embedded and searched for a post: its clean text, capped (the encoder truncates anyway)."""
    return post.text[:MAX_CHARS]


@dataclass(frozen=True)
class IndexedPost:
    """What the index remembers about each post, for filters and citations."""

    post_id: int
    thread_id: int
    text_hash: str
    created_at: str | None
    url: str | None

    def created(self) -> datetime | None:
        return datetime.fromisoformat(self.created_at) if self.created_at else None


@dataclass(frozen=True)
class IndexStats:
    """Result of :meth:`DaoIndex.update`: posts in the index, how many were embedded now, how many came from cache."""

    total: int
    embedded: int
    cached: int


class DaoIndex:
    """Dense vectors of one DAO's posts in a ``faiss.IndexIDMap2(IndexFlatIP)`` keyed by post id."""

    def __init__(self, directory: Path, *, dao_slug: str) -> None:
        self.directory = directory
        self.dao_slug = dao_slug
        self.index: Any = None
        self.posts: dict[int, IndexedPost] = {}
        self.model_id: str | None = None

    @property
    def index_path(self) -> Path:
        return self.directory / "faiss.index"

    @property
    def meta_path(self) -> Path:
        return self.directory / "posts.json"

    @classmethod
    def for_dao(cls, index_dir: Path, dao_slug: str) -> DaoIndex:
        """The (possibly not yet built) index of ``dao_slug`` under ``index_dir``."""
        return cls(index_dir / dao_slug, dao_slug=dao_slug)

    def exists(self) -> bool:
        return self.index_path.exists() and self.meta_path.exists()

    def load(self) -> DaoIndex:
        """Read the persisted index; raises :class:`NotFoundError` with the command that builds it."""
        import faiss

        if not self.exists():
            raise NotFoundError(
                f"No search index for DAO {self.dao_slug!r} in {self.directory}. Build it with "
                f"`concord ask --dao {self.dao_slug} --reindex \"...\"` or `DaoIndex.update(...)`."
            )
        self.index = faiss.read_index(str(self.index_path))
        meta = json.loads(self.meta_path.read_text())
        self.model_id = meta["model_id"]
        self.posts = {int(p["post_id"]): IndexedPost(**p) for p in meta["posts"]}
        return self

    def update(
        self, store: Store, embedder: CachedEmbedder, *, progress: Callable[[int, int], None] | None = None, batch: int = 256
    ) -> IndexStats:
        """Embed the DAO's posts (cached vectors reused), rebuild the FAISS index and persist it."""
        import faiss
        import numpy as np

        from embeddings.cache import text_hash

        rows = _dao_posts(store, self.dao_slug)
        texts = [post_text(p) for p, _ in rows]
        before_cached, before_embedded = embedder.stats.cached, embedder.stats.embedded
        chunks: list[np.ndarray] = []
        for start in range(0, len(texts), batch):
            chunks.append(embedder.embed_batch(texts[start : start + batch]))
            if progress is not None:
                progress(min(start + batch, len(texts)), len(texts))
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, embedder.dim), dtype=np.float32)
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(embedder.dim))
        if len(rows):
            index.add_with_ids(vectors, np.asarray([p.id for p, _ in rows], dtype=np.int64))
        self.index = index
        self.model_id = embedder.model_id
        self.posts = {
            int(p.id): IndexedPost(
                post_id=int(p.id),  # type: ignore[arg-type]
                thread_id=p.thread_id,
                text_hash=text_hash(text),
                created_at=(p.created_at or thread_created).isoformat() if (p.created_at or thread_created) else None,
                url=p.url,
            )
            for (p, thread_created), text in zip(rows, texts, strict=True)
        }
        self._save()
        return IndexStats(
            total=len(rows),
            embedded=embedder.stats.embedded - before_embedded,
            cached=embedder.stats.cached - before_cached,
        )

    def _save(self) -> None:
        import faiss

        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.index_path.with_suffix(".tmp")
        faiss.write_index(self.index, str(tmp))
        tmp.replace(self.index_path)
        meta = {"dao": self.dao_slug, "model_id": self.model_id, "posts": [vars(p) for p in self.posts.values()]}
        tmp_meta = self.meta_path.with_suffix(".tmp")
        tmp_meta.write_text(json.dumps(meta))
        tmp_meta.replace(self.meta_path)

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest posts as ``(post_id, cosine)`` pairs, best first.

        One query runs on one thread: FAISS's OpenMP threads gain nothing on a single vector and spin when the cores
        are busy (``concord bench`` measures both); the process's thread setting is restored afterwards.
        """
        import faiss
        import numpy as np

        if self.index is None:
            self.load()
        k = min(k, int(self.index.ntotal))
        if k <= 0:
            return []
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self.index.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), k)
        finally:
            faiss.omp_set_num_threads(threads)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def _dao_posts(store: Store, dao_slug: str) -> list[tuple[Post, datetime | None]]:
    """Every non-deleted post of the DAO with non-empty text, with its thread's creation time, by id."""
    with store.session() as session:
        dao = session.exec(select(Dao).where(Dao.slug == dao_slug)).first()
        if dao is None:
            raise NotFoundError(f"Unknown DAO {dao_slug!r}. Ingest it first, e.g. `concord ingest sample`.")
        rows = session.exec(
            select(Post, Thread.created_at)
            .join(Source, col(Source.id) == Post.source_id)
            .join(Thread, col(Thread.id) == Post.thread_id)
            .where(Source.dao_id == dao.id, col(Post.deleted).is_(False))
            .order_by(col(Post.id))
        ).all()
        return [(p, t) for p, t in rows if p.text.strip()]
