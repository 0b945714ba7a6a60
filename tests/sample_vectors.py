"""The bundled sample's proposal texts embedded once per test session, as the vector cache the predictor reads.

The predictor's default ``text`` family embeds every stored proposal's text on a store's first prediction and keeps
the vectors in ``<data_dir>/index/vectors.sqlite``. A test over a fresh copy of the sample would pay that (the real
encoder's load and ~500 embeddings, about 10 s) every time; :func:`prewarm` copies in the vectors a first prediction
would have written instead: the same configured encoder, the same texts, so predictions are what the default gives,
as in any process after a store's first prediction. The cold path stays tested end to end:
tests/bots/test_discord_bot.py::test_proposals_show_the_real_prediction starts from no cache at all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

__all__ = ["prewarm", "sample_vectors"]


def _embed_sample(sample_db: Path, data_dir: Path) -> Path:
    from agent.predict.pooled import load_store_all
    from agent.predict.text_neighbours import proposal_text
    from embeddings import cached_embedder
    from ingest.core.settings import load_settings
    from ingest.core.store import Store

    store = Store.open(f"sqlite:///{sample_db.as_posix()}", migrate=False)
    try:
        texts = [proposal_text(p) for p in load_store_all(store).proposals]
    finally:
        store.close()
    settings = load_settings(data_dir=data_dir)
    embedder = cached_embedder(settings)
    embedder.embed_batch(texts)
    embedder.cache.close()
    return settings.index_dir / "vectors.sqlite"


@pytest.fixture(scope="session")
def sample_vectors(sample_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vectors.sqlite holding every sample proposal's text vector (made once per session; copy it, don't write it)."""
    made = tmp_path_factory.getbasetemp() / "sample-vectors" / "index" / "vectors.sqlite"
    if made.exists():  # another conftest's fixture of the same session made it
        return made
    return _embed_sample(sample_db_template, made.parent.parent)


def prewarm(template: Path, data_dir: Path) -> None:
    """Put the sample's proposal vectors into ``data_dir``'s vector cache, as a first prediction there would."""
    index = data_dir / "index"
    index.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, index / "vectors.sqlite")
