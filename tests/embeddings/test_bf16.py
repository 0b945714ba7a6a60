"""The bfloat16 torch encoder: vectors within cosine 0.999 of the stock fp32 ones, cached apart from them, and read by
the heads trained on the same MiniLM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import CachedEmbedder, SentenceTransformerEmbedder, VectorCache, weights_of
from embeddings.bf16 import Bf16Embedder, has_bf16_matrix_unit
from evals.bench_embed import sample_texts


@pytest.fixture(scope="module")
def bf16_minilm(minilm: SentenceTransformerEmbedder) -> Bf16Embedder:
    return Bf16Embedder(minilm)


def test_vectors_are_within_cosine_0_999_of_the_stock_fp32_ones(bf16_minilm: Bf16Embedder, minilm: SentenceTransformerEmbedder) -> None:
    texts = sample_texts(60) + ["", "   padded with spaces   ", "émoji 🚀 and ünïcode", "word " * 600, "GM"]
    fast = bf16_minilm.embed_batch(texts)
    stock = minilm.model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    assert fast.shape == (len(texts), 384) and fast.dtype == np.float32
    assert (fast * stock).sum(axis=1).min() >= 0.999
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert bf16_minilm.embed_batch([]).shape == (0, 384)


def test_its_vectors_are_cached_apart_from_the_fp32_ones(bf16_minilm: Bf16Embedder, minilm: SentenceTransformerEmbedder,
                                                          tmp_path: Path) -> None:
    assert bf16_minilm.model_id == "all-MiniLM-L6-v2+bf16" != minilm.model_id
    assert weights_of(bf16_minilm.model_id) == weights_of(minilm.model_id) == "all-MiniLM-L6-v2"
    assert bf16_minilm.weights_sha256() == minilm.weights_sha256()  # the same weights in the report's manifest
    cache = VectorCache(tmp_path / "v.sqlite")
    CachedEmbedder(minilm, cache).embed_batch(["fund the audit"])
    again = CachedEmbedder(bf16_minilm, cache)
    again.embed_batch(["fund the audit"])
    assert again.stats.embedded == 1  # the fp32 vector of the same text is not taken for a bf16 one
    cache.close()


def test_a_report_on_bf16_vectors_still_reads_unit_types(bf16_minilm: Bf16Embedder, tmp_path: Path) -> None:
    from agent.report.builder import ReportBuilder
    from ingest.core.store import Store

    store = Store.open(f"sqlite:///{(tmp_path / 's.db').as_posix()}")
    builder = ReportBuilder(store, embedder=bf16_minilm, chat=None)  # type: ignore[arg-type]
    assert builder.units is not None  # the committed unit-type head is paired with the same MiniLM at bf16
    store.close()


def test_the_matrix_unit_is_read_from_the_kernels_cpu_flags(tmp_path: Path) -> None:
    sapphire = tmp_path / "amx"
    sapphire.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n\n")
    cascade = tmp_path / "no-amx"
    cascade.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_vnni\nbugs\t\t: amx_bf16_is_not_a_flag_here\n")
    assert has_bf16_matrix_unit(sapphire) is True
    assert has_bf16_matrix_unit(cascade) is False  # only the flags line counts, and only the whole flag
    assert has_bf16_matrix_unit(tmp_path / "missing") is False  # no /proc/cpuinfo (another OS): ONNX Runtime


@pytest.mark.parametrize("runtime", ["torch", "torch-bf16"])
def test_loading_the_weights_writes_nothing_to_stderr(runtime: str, capfd: pytest.CaptureFixture[str]) -> None:
    """The agent loop's --json-logs writes one JSON object a line to stderr: a loading bar there would break them."""
    from embeddings import minilm_path

    stock = SentenceTransformerEmbedder(minilm_path(), model_id="all-MiniLM-L6-v2")
    encoder = stock if runtime == "torch" else Bf16Embedder(stock)
    capfd.readouterr()
    encoder.embed_batch(["a first post"])
    assert capfd.readouterr().err == ""
