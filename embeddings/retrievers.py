"""The search service: one encoder, one persisted index and one hybrid retriever per DAO, built on first use.

Every face (``concord ask``, the dashboard's semantic search, the bot's /ask, proposal drafting) asks this
object for a DAO's retriever instead of wiring an embedder, an index and a retriever itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from embeddings.cache import CachedEmbedder
from embeddings.hybrid import Hit, HybridRetriever
from embeddings.index import DaoIndex, IndexStats
from ingest.core.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from ingest.core.settings import ConcordSettings
    from ingest.core.store import Store

__all__ = ["DaoRetrievers", "build_retrievers"]


class DaoRetrievers:
    """Per-DAO hybrid retrievers over ``store``; the encoder loads once, an index is built when missing."""

    def __init__(self, store: Store, settings: ConcordSettings, *, embedder: CachedEmbedder | None = None) -> None:
        self.store = store
        self.settings = settings
        self._embedder = embedder
        self._retrievers: dict[str, HybridRetriever] = {}

    @property
    def embedder(self) -> CachedEmbedder:
        """The configured encoder behind the vector cache (loaded on first use)."""
        if self._embedder is None:
            from embeddings import cached_embedder

            self._embedder = cached_embedder(self.settings)
        return self._embedder

    def resolve_dao(self, dao: str | None) -> str:
        """``dao``, else ``settings.default_dao``, else the only stored DAO; unknown slugs are a NotFoundError."""
        slug = dao or self.settings.default_dao
        if slug is None:
            daos = self.store.list_daos()
            if len(daos) != 1:
                raise InputError(f"Which DAO? Several are stored ({', '.join(d.slug for d in daos)}); pass --dao.")
            slug = daos[0].slug
        self.store.get_dao(slug)
        return str(slug)

    def index(self, dao: str) -> DaoIndex:
        return DaoIndex.for_dao(self.settings.index_dir, dao)

    def update_index(self, dao: str, *, progress: Callable[[int, int], None] | None = None) -> IndexStats:
        """Embed the DAO's new or changed posts and rebuild its index (its retriever is rebuilt on next use)."""
        stats = self.index(dao).update(self.store, self.embedder, progress=progress)
        self._retrievers.pop(dao, None)
        return stats

    def retriever(self, dao: str, *, build: bool = True) -> HybridRetriever:
        """The DAO's hybrid retriever, building its index first when there is none (``build=False``: a
        NotFoundError that names the command which builds it)."""
        if dao not in self._retrievers:
            index = self.index(dao)
            if build and not index.exists():
                index.update(self.store, self.embedder)
            self._retrievers[dao] = HybridRetriever(self.store, index.load(), self.embedder)
        return self._retrievers[dao]

    def hits(self, query: str, *, dao: str, k: int = 10) -> list[Hit]:
        """The ``k`` best posts of one DAO for ``query``: hybrid when the DAO has an index, else keyword (BM25) search
        over the store, so a request never waits for a whole DAO to be embedded."""
        if dao in self._retrievers or self.index(dao).exists():
            return self.retriever(dao).search(query, k=k)
        from embeddings.keyword import KeywordRetriever

        return KeywordRetriever(self.store).hits(query, dao=dao, k=k)

    def search(self, query: str, *, dao: str | None = None, k: int = 20) -> list[tuple[int, float]]:
        """Post ids with dense scores, best first, in ``dao`` or across every DAO that has an index (never builds one:
        a page must not wait for a whole DAO to be embedded)."""
        if dao:
            daos = [dao]
        else:
            daos = [d.slug for d in self.store.list_daos() if self.index(d.slug).exists()]
            if not daos:
                raise NotFoundError(
                    f"No search index in {self.settings.index_dir}. Build one with `concord ask --dao DAO --reindex \"...\"`."
                )
        found = [(h.post_id, float(h.score)) for d in daos for h in self.retriever(d, build=False).search(query, k=k, mode="dense")]
        return sorted(found, key=lambda pair: -pair[1])[:k]


def build_retrievers(settings: ConcordSettings, *, store: Store) -> DaoRetrievers:
    """The search service over ``store`` with the configured encoder and index directory."""
    return DaoRetrievers(store, settings)
