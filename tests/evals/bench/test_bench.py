"""`concord bench` at tiny sizes: one run gives every row with its size, figures, ratio and growth (not a timing
test), and the shared measuring functions count what they claim to."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bots.cli.main import main as concord_main
from evals.bench import BenchRow, _growth, bench_index, embedding_like, matching_spread, median_nn_cosine
from evals.bench_ingest import measure_ingestion, measure_sample
from evals.bench_report_scale import measure_report_scale


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.timeout(600)
def test_bench_table_shape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    code = concord_main(["bench", "--ingest-sizes", "60", "--no-ingest-sample", "--embed-sizes", "8", "--index-sizes", "1e3,4e3",
                         "--report-proposals", "1", "--report-sizes", "12", "--dashboard-requests", "8", "--json", "--out", str(out)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    rows = printed["rows"]
    measures = [(r["measure"], r["size"]) for r in rows]
    assert measures[1:3] == [("embedding", 8), ("re-index (vector cache)", 8)]
    assert [m for m in measures if m[0] == "vector query (FAISS, 1 thread)"] == [("vector query (FAISS, 1 thread)", 1000),
                                                                                 ("vector query (FAISS, 1 thread)", 4000)]
    assert rows[0]["measure"] == "ingestion" and 0 < rows[0]["size"] <= 60
    assert rows[-2]["measure"] == "report (end to end)" and rows[-2]["concord"] > 0 and rows[-2]["size"] == 8
    assert rows[-1]["measure"] == "report at scale (end to end)" and rows[-1]["size"] == 12 and "embedding (MiniLM)" in rows[-1]["stages"]
    dashboard = [r for r in rows if r["measure"] == "dashboard (concord serve)"]
    assert len(dashboard) == 1 and dashboard[0]["size"] == 8 and dashboard[0]["p99_ms"] > 0 and dashboard[0]["baseline"] is None
    embedding = [r for r in rows if r["measure"] == "embedding"]
    assert embedding[0]["cosine_min"] >= 0.999 and "cosine_min" not in rows[0]
    from embeddings.bf16 import BATCH_SIZE as BF16_BATCH
    from embeddings.onnx import BATCH_SIZE as ONNX_BATCH

    batch = BF16_BATCH if "bfloat16" in embedding[0]["note"] else ONNX_BATCH
    assert f"batches of {batch} sorted" in embedding[0]["note"]  # the note names the batch the encoder ran
    assert all("recall_at_10" in r for r in rows if r["measure"] == "vector query (IVF, 1 thread)")
    for row in rows[:-2]:
        if row["measure"] != "dashboard (concord serve)":
            assert row["concord"] > 0 and row["baseline"] > 0 and row["ratio"] > 0 and row["baseline_name"]
    load = printed["machine"]["load_average"]
    assert len(load["before"]) == 3 and len(load["after"]) == 3


def _topics(n: int = 40, dim: int = 32) -> np.ndarray:
    x = np.random.default_rng(3).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_faiss_threads_are_restored_and_rows_grow_with_size() -> None:
    import faiss

    before = faiss.omp_get_max_threads()
    rows = bench_index([500, 2000], base=_topics(), queries=5)
    assert faiss.omp_get_max_threads() == before
    assert [r.measure for r in rows][:2] == ["vector query (FAISS, 1 thread)"] * 2
    assert [r.size for r in rows] == [500, 2000] * 4
    ivf = [r for r in rows if r.measure == "vector query (IVF, 1 thread)"]
    hnsw = [r for r in rows if r.measure == "vector query (HNSW, 1 thread)"]
    assert len(ivf) == len(hnsw) == 2 and all(0 <= r.recall_at_10 <= 1 for r in ivf + hnsw)  # type: ignore[operator]
    assert [r.size for r in bench_index([500, 2000], base=_topics(), queries=5, hnsw_max=1000) if "HNSW" in r.measure] == [500]
    assert "recall_at_10" in ivf[0].as_dict() and "recall_at_10" not in rows[0].as_dict()
    _growth(rows)
    assert rows[0].vs_smallest == 1.0 and rows[2].vs_smallest == 1.0
    assert rows[1].vs_smallest == round(rows[1].concord / rows[0].concord, 2)


def _posts_on_topics(n: int = 300, dim: int = 32) -> np.ndarray:
    """Unit vectors around 12 topics, standing in for real post embeddings (which cluster by subject)."""
    rng = np.random.default_rng(4)
    x = _topics(12, dim)[rng.integers(0, 12, n)] + 0.25 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_benchmark_vectors_are_as_close_to_each_other_as_the_real_ones() -> None:
    base = _posts_on_topics()
    spread = matching_spread(base)
    x = embedding_like(base, len(base), seed=11, spread=spread)  # another draw than the one the width was matched on
    assert x.shape == base.shape and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert abs(median_nn_cosine(x) - median_nn_cosine(base)) < 0.05
    many = embedding_like(base, 4000, seed=0, spread=spread)
    assert median_nn_cosine(many[:2000]) > median_nn_cosine(base) + 0.1  # denser as the corpus grows
    uniform = np.random.default_rng(5).standard_normal((4000, base.shape[1])).astype(np.float32)
    uniform /= np.linalg.norm(uniform, axis=1, keepdims=True)
    assert (many @ base.T).max(axis=1).mean() > (uniform @ base.T).max(axis=1).mean() + 0.1  # near the real vectors
    assert not np.allclose(many[:1], many[1:2])


def test_growth_is_relative_to_the_smallest_size_of_the_same_measure() -> None:
    rows = [BenchRow("a", 100, 4.0, None, "s", None), BenchRow("a", 10, 2.0, None, "s", None), BenchRow("b", 5, 3.0, None, "s", None)]
    _growth(rows)
    assert [r.vs_smallest for r in rows] == [2.0, 1.0, 1.0]


def test_ingestion_paths_store_the_same_posts(tmp_path: Path) -> None:
    m = measure_ingestion(40, tmp_path)
    assert 30 <= m["posts"] <= 40 and m["naive_posts"] == m["posts"]  # a few exported messages are not posts
    assert m["pipeline_posts_s"] > 0 and m["naive_posts_s"] > 0
    with pytest.raises(FileExistsError):  # each size gets fresh SQLite files
        measure_ingestion(40, tmp_path)


def test_bad_sizes_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert concord_main(["bench", "--index-sizes", "lots"]) == 2
    assert "comma-separated" in capsys.readouterr().err


@pytest.mark.timeout(600)
def test_the_sample_path_and_the_baseline_store_the_same_posts(tmp_path: Path) -> None:
    m = measure_sample(tmp_path / "sample", naive_limit=40)
    assert m["posts"] == 5174  # 1,595 forum posts and 3,579 Discord messages of the bundled sample
    assert m["naive_posts"] == 40  # the baseline's rate on the first 40 of the same posts
    assert m["replayed_posts_s"] > 0 and m["replayed_cpu_posts_s"] > 0 and m["naive_posts_s"] > 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_reports_at_scale_read_the_window_they_are_given_and_time_every_stage(tmp_path: Path) -> None:
    small, larger = measure_report_scale([15, 40], tmp_path)
    assert (small["posts"], larger["posts"]) == (15, 40)  # the last n real messages before the vote ended
    assert larger["units"] >= small["units"] > 0
    for m in (small, larger):
        assert {"embedding (MiniLM)", "stance (posts)", "unit types", "argument units", "faithfulness", "digest"} <= set(m["stages"])
        assert m["report_s"] > 0 and abs(sum(m["stages"].values()) - m["report_s"]) < 0.01  # the stages add up to the whole
