"""Real MiniLM for the evaluation tests (loaded once per session)."""

from __future__ import annotations

import pytest

from embeddings import SentenceTransformerEmbedder, minilm_path


@pytest.fixture(scope="session")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(minilm_path(), model_id="all-MiniLM-L6-v2", batch_size=32)
