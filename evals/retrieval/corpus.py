"""The corpus the retrieval labels refer to: the bundled sample's DAOs, ingested into a fresh SQLite file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ingest.core.store import Store

__all__ = ["sample_store"]


def sample_store(path: Path, *, daos: Sequence[str] = ("arbitrum",)) -> Store:
    """Ingest the bundled sample's sources for ``daos`` into a new SQLite file at ``path`` and return it open.

    The labels in ``labels.jsonl`` name posts by their external ids in this sample, so evaluating on it needs
    no prior ``concord ingest sample`` and never touches the user's store.
    """
    from ingest.pipeline import run_ingestion
    from ingest.sources.sample import SAMPLE_DAOS, sample_sources

    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(f"sqlite:///{path.as_posix()}")
    for dao in SAMPLE_DAOS:
        if dao.slug in daos:
            store.ensure_dao(dao.slug, dao.name, forum_url=dao.forum_url, snapshot_space=dao.snapshot_space, chain_id=dao.chain_id)
    for slug, source in sample_sources():
        if slug in daos:
            run_ingestion(store, store.get_dao(slug), source)
    return store
