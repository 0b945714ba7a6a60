"""`concord bench` at tiny sizes: one run gives every row with its size, figures, ratio and growth (not a timing
test), and the shared measuring functions count what they claim to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bots.cli.main import main as concord_main
import numpy as np

from evals.bench import BenchRow, _growth, bench_index, embedding_like
from evals.bench_ingest import measure_ingestion


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.timeout(600)
def test_bench_table_shape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    code = concord_main(["bench", "--ingest-sizes", "60", "--embed-sizes", "8", "--index-sizes", "1e3,4e3",
                         "--report-proposals", "1", "--dashboard-requests", "8", "--json", "--out", str(out)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    rows = printed["rows"]
    measures = [(r["measure"], r["size"]) for r in rows]
    assert measures[1:3] == [("embedding", 8), ("re-index (vector cache)", 8)]
    assert [m for m in measures if m[0] == "vector query (FAISS, 1 thread)"] == [("vector query (FAISS, 1 thread)", 1000),
                                                                                 ("vector query (FAISS, 1 thread)", 4000)]
    assert rows[0]["measure"] == "ingestion" and 0 < rows[0]["size"] <= 60
    assert rows[-1]["measure"] == "report (end to end)" and rows[-1]["concord"] > 0 and rows[-1]["size"] == 8
    dashboard = [r for r in rows if r["measure"] == "dashboard (concord serve)"]
    assert len(dashboard) == 1 and dashboard[0]["size"] == 8 and dashboard[0]["p99_ms"] > 0 and dashboard[0]["baseline"] is None
    embedding = [r for r in rows if r["measure"] == "embedding"]
    assert embedding[0]["cosine_min"] >= 0.999 and "cosine_min" not in rows[0]
    assert all("recall_at_10" in r for r in rows if r["measure"] == "vector query (IVF, 1 thread)")
    for row in rows[:-1]:
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
    assert [r.size for r in rows] == [500, 2000] * 3
    ivf = [r for r in rows if r.measure == "vector query (IVF, 1 thread)"]
    assert len(ivf) == 2 and all(0 <= r.recall_at_10 <= 1 for r in ivf)  # type: ignore[operator]
    assert "recall_at_10" in ivf[0].as_dict() and "recall_at_10" not in rows[0].as_dict()
    _growth(rows)
    assert rows[0].vs_smallest == 1.0 and rows[2].vs_smallest == 1.0
    assert rows[1].vs_smallest == round(rows[1].concord / rows[0].concord, 2)


def test_benchmark_vectors_keep_the_real_vectors_neighbourhoods() -> None:
    base = _topics()
    x = embedding_like(base, 4000, seed=0)
    assert x.shape == (4000, 32) and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    nearest = (x @ base.T).max(axis=1)
    assert nearest.mean() > 0.8  # near a real vector, not uniform noise (which would sit near 0.4 here)
    assert not np.allclose(x[:1], x[1:2])


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
