"""The ablation's results file: a run of some rows keeps the other rows of the same scoring set, and a reliability
diagram per DAO is drawn for the history row and the best row."""

from __future__ import annotations

import json
from pathlib import Path

from evals.predict_ablation import best_row, write_ablation


def _row(brier: float) -> dict:  # type: ignore[type-arg]
    bins = [{"mean_predicted": 0.3, "observed": 0.25, "n": 40}, {"mean_predicted": 0.8, "observed": 0.85, "n": 60}]
    dao = {"n": 100, "brier": brier, "roc_auc": 0.7, "ece": 0.04, "best_baseline_brier": 0.2,
           "best_baseline": "base_rate", "reliability": bins}
    return {"n": 200, "brier": brier, "log_loss": 0.5, "roc_auc": 0.7, "ece": 0.04, "best_baseline_brier": 0.2,
            "best_baseline": "base_rate", "label": "a row", "per_dao": {"a": dao, "b": {**dao, "n": 50}}}


def _results(since: str, rows: dict) -> dict:  # type: ignore[type-arg]
    return {"config": {"data": "../shared/data", "since": since}, "rows": rows}


def test_a_partial_run_keeps_the_other_rows_of_the_same_scoring_set(tmp_path: Path) -> None:
    write_ablation(_results("2023-01-01", {"history": _row(0.19), "text": _row(0.18)}), tmp_path)
    write_ablation(_results("2023-01-01", {"jury": _row(0.185), "text": _row(0.17)}), tmp_path)
    saved = json.loads((tmp_path / "predict_ablation.json").read_text())
    assert list(saved["rows"]) == ["history", "text", "jury"]  # the rows' own order, not the runs'
    assert saved["rows"]["text"]["brier"] == 0.17 and set(saved["targets_met"]) == {"history", "text", "jury"}
    assert best_row(saved) == "text"
    assert (tmp_path / "predict_calibration_per_dao_history.png").stat().st_size > 1000
    assert (tmp_path / "predict_calibration_per_dao_text.png").is_file()


def test_another_scoring_set_replaces_the_file(tmp_path: Path) -> None:
    write_ablation(_results("2023-01-01", {"history": _row(0.19), "text": _row(0.18)}), tmp_path)
    write_ablation(_results("2022-01-01", {"jury": _row(0.185)}), tmp_path)
    saved = json.loads((tmp_path / "predict_ablation.json").read_text())
    assert list(saved["rows"]) == ["jury"]
