"""A FAISS index per DAO, persisted under ``settings.index_dir/<dao>``, whose ids are post ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from embeddings.ann import IndexPlan, build_index, index_plan_of, plan_for, search_one
from ingest.core.domain import Dao, Post, Source, Thread
from ingest.core.errors import NotFoundError

if TYPE_CHECKING:
    import numpy as np

    from embeddings.cache import CachedEmbedder
    from ingest.core.store import Store

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
    """Dense vectors of one DAO's posts in a FAISS index keyed by post id: exact for small DAOs, IVF for large ones."""

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
        """Bring the index up to date with the DAO's posts and persist it.

        Incremental: an existing index built by the same model keeps the vectors of unchanged posts, drops those of
        edited or deleted posts and adds the new ones. It is rebuilt (vectors from the cache) when there is none yet,
        the model changed, or the post count calls for another kind of index (:func:`embeddings.ann.plan_for`).
        ``embedded`` counts texts encoded now; ``cached`` the posts whose vectors were reused.
        """
        import numpy as np

        from embeddings.cache import text_hash

        rows = _dao_posts(store, self.dao_slug)
        texts = [post_text(p) for p, _ in rows]
        hashes = [text_hash(t) for t in texts]
        ids = np.asarray([p.id for p, _ in rows], dtype=np.int64)
        plan = plan_for(len(rows))
        incremental = self._reusable(embedder.model_id, plan)
        if incremental:
            unchanged = {int(pid) for pid, h in zip(ids, hashes, strict=True)
                         if int(pid) in self.posts and self.posts[int(pid)].text_hash == h}
            stale = [pid for pid in self.posts if pid not in unchanged]
            if stale:
                self.index.remove_ids(np.asarray(stale, dtype=np.int64))
            todo = [i for i, pid in enumerate(ids) if int(pid) not in unchanged]
        else:
            todo = list(range(len(rows)))
        before_embedded = embedder.stats.embedded
        chunks: list[np.ndarray] = []
        for start in range(0, len(todo), batch):
            chunks.append(embedder.embed_batch([texts[i] for i in todo[start : start + batch]]))
            if progress is not None:
                progress(min(start + batch, len(todo)), len(todo))
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, embedder.dim), dtype=np.float32)
        if incremental:
            if len(todo):
                self.index.add_with_ids(vectors, ids[todo])
        else:
            self.index = build_index(vectors, ids, plan)
        self.model_id = embedder.model_id
        self.posts = {
            int(p.id): IndexedPost(
                post_id=int(p.id),  # type: ignore[arg-type]
                thread_id=p.thread_id,
                text_hash=digest,
                created_at=(p.created_at or thread_created).isoformat() if (p.created_at or thread_created) else None,
                url=p.url,
            )
            for (p, thread_created), digest in zip(rows, hashes, strict=True)
        }
        self._save()
        embedded = embedder.stats.embedded - before_embedded
        return IndexStats(total=len(rows), embedded=embedded, cached=len(rows) - embedded)

    def _reusable(self, model_id: str, plan: IndexPlan) -> bool:
        """Whether the persisted index can be updated in place: same model, same kind, cell count within 4x."""
        if self.index is None:
            if not self.exists():
                return False
            self.load()
        if self.model_id != model_id:
            return False
        current = index_plan_of(self.index)
        if current.kind != plan.kind:
            return False
        return current.kind == "flat" or plan.nlist / 4 <= current.nlist <= plan.nlist * 4

    def _save(self) -> None:
        import faiss

        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.index_path.with_suffix(".tmp")
        faiss.write_index(self.index, str(tmp))
        tmp.replace(self.index_path)
        meta = {"dao": self.dao_slug, "model_id": self.model_id, "index": index_plan_of(self.index).describe(), "posts": [vars(p) for p in self.posts.values()]}
        tmp_meta = self.meta_path.with_suffix(".tmp")
        tmp_meta.write_text(json.dumps(meta))
        tmp_meta.replace(self.meta_path)

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest posts as ``(post_id, cosine)`` pairs, best first (exact or IVF, by index size)."""
        if self.index is None:
            self.load()
        k = min(k, int(self.index.ntotal))
        if k <= 0:
            return []
        scores, ids = search_one(self.index, query_vector, k)
        return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if i >= 0]


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
