"""The ONNX Runtime encoder gives the stock fp32 vectors (cosine >= 0.999 each), in order, from an export made once
offline from the packaged weights and reused; the settings choose the runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import embeddings.onnx as onnx_module
from embeddings import SentenceTransformerEmbedder, cached_embedder
from embeddings.onnx import OnnxEmbedder
from evals.bench_embed import sample_texts
from ingest.core.settings import load_settings


@pytest.fixture(scope="module")
def onnx_minilm(minilm: SentenceTransformerEmbedder, tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    return OnnxEmbedder(minilm, tmp_path_factory.mktemp("models"), batch_size=8)


def test_vectors_match_the_stock_encoder(onnx_minilm: OnnxEmbedder, minilm: SentenceTransformerEmbedder) -> None:
    texts = sample_texts(40) + [
        "", "   padded with spaces   ", "émoji 🚀 and ünïcode", "word " * 600,  # empty, stripped, non-ASCII, truncated
        "GM", "Proposal: fund the audit. " * 20,
    ]
    fast = onnx_minilm.embed_batch(texts)
    stock = minilm.model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    assert fast.shape == (len(texts), 384) and fast.dtype == np.float32
    cosines = (fast * stock).sum(axis=1)
    assert cosines.min() >= 0.999
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
    # row order is the caller's, although batches run sorted by length
    assert np.allclose(onnx_minilm.embed_batch(texts[::-1]), fast[::-1], atol=1e-5)
    assert onnx_minilm.embed_batch([]).shape == (0, 384)


def test_export_is_cached_and_reused(onnx_minilm: OnnxEmbedder, minilm: SentenceTransformerEmbedder,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    onnx_minilm.embed_batch(["warm"])
    assert onnx_minilm.model_path.exists() and minilm.weights_sha256()[:16] in onnx_minilm.model_path.name
    assert not list(onnx_minilm.cache_dir.glob("*.tmp"))

    def no_export(*_args: object) -> Path:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_module, "export_onnx", no_export)
    again = OnnxEmbedder(minilm, onnx_minilm.cache_dir)
    assert np.allclose(again.embed_batch(["warm"]), onnx_minilm.embed_batch(["warm"]), atol=1e-6)
    assert again.model_id == minilm.model_id  # shares the vector cache with the torch runtime


def test_embedding_from_an_export_never_loads_the_torch_model(onnx_minilm: OnnxEmbedder, minilm: SentenceTransformerEmbedder) -> None:
    class TorchRefused(SentenceTransformerEmbedder):
        @property
        def model(self) -> object:
            raise AssertionError("loaded the torch model")

    onnx_minilm.embed_batch(["warm"])  # the export exists
    again = OnnxEmbedder(TorchRefused(minilm.model_dir, model_id=minilm.model_id), onnx_minilm.cache_dir)
    assert again.dim == 384
    assert np.allclose(again.embed_batch(["warm", "a second text"])[0], onnx_minilm.embed_batch(["warm"])[0], atol=1e-5)
    assert again.embed_batch([]).shape == (0, 384)


def test_threads_embedding_at_once_load_the_encoder_once(onnx_minilm: OnnxEmbedder, minilm: SentenceTransformerEmbedder,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    onnx_minilm.embed_batch(["warm"])  # the export exists
    fresh = OnnxEmbedder(minilm, onnx_minilm.cache_dir)
    loads: list[int] = []
    real_load = OnnxEmbedder._load

    def slow_load(self: OnnxEmbedder) -> None:  # a load long enough for the other threads to arrive meanwhile
        loads.append(threading.get_ident())
        time.sleep(0.3)
        real_load(self)

    monkeypatch.setattr(OnnxEmbedder, "_load", slow_load)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(fresh.embed_batch, [["warm"]] * 4))
    assert len(loads) == 1
    assert all(np.allclose(g, got[0]) for g in got)


def test_settings_choose_the_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import embeddings.bf16 as bf16_module
    from embeddings.bf16 import Bf16Embedder
    from ingest.core.errors import ConfigError

    def built(runtime: str | None = None) -> object:
        if runtime is not None:
            monkeypatch.setenv("CONCORD_EMBEDDINGS__RUNTIME", runtime)
        return cached_embedder(load_settings(data_dir=tmp_path)).embedder

    monkeypatch.setattr(bf16_module, "has_bf16_matrix_unit", lambda: True)
    assert isinstance(built(), Bf16Embedder)  # auto, on a CPU with a bf16 matrix unit
    monkeypatch.setattr(bf16_module, "has_bf16_matrix_unit", lambda: False)
    assert isinstance(built(), OnnxEmbedder)  # auto elsewhere
    assert isinstance(built("onnx"), OnnxEmbedder)
    assert isinstance(built("torch-bf16"), Bf16Embedder)
    assert type(built("torch")) is SentenceTransformerEmbedder
    with pytest.raises(ConfigError, match="one of auto, onnx, torch, torch-bf16"):
        built("tensorrt")
