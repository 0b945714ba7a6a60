"""`concord bench` at tiny sizes: one run gives every row with its size, figures and ratio (not a timing test)."""

from __future__ import annotations

import json

import pytest

from bots.cli.main import main as concord_main


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_bench_table_shape(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bench.json"
    code = concord_main(["bench", "--ingest-sizes", "60", "--embed-sizes", "8", "--index-sizes", "1e3,4e3", "--json", "--out", str(out)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    rows = printed["rows"]
    assert [(r["measure"], r["size"]) for r in rows][1:4] == [("embedding", 8), ("vector query", 1000), ("vector query", 4000)]
    assert rows[0]["measure"] == "ingestion" and 0 < rows[0]["size"] <= 60
    assert rows[-1]["measure"] == "report LLM step" and rows[-1]["concord"] > 0
    for row in rows[:-1]:
        assert row["concord"] > 0 and row["baseline"] > 0 and row["ratio"] > 0 and row["baseline_name"]


def test_bad_sizes_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert concord_main(["bench", "--index-sizes", "lots"]) == 2
    assert "comma-separated" in capsys.readouterr().err
