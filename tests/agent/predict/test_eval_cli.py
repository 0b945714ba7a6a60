"""`concord eval predict` on tiny hand-made directories: JSON shape, skip counts, metrics by hand, outputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bots.cli.main import main
from tests.agent.predict.conftest import DAY, T0, synthetic_proposals


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["eval", "predict", *args])
    return code, capsys.readouterr().out


def test_json_shape_and_hand_computed_baselines(make_dir: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"dao": "d", "id": "a", "author": "x", "created": T0, "end": T0 + DAY, "outcome": "passed"},
        {"dao": "d", "id": "b", "author": "y", "created": T0 + 2 * DAY, "end": T0 + 3 * DAY, "outcome": "failed"},
        {"dao": "d", "id": "c", "author": "x", "created": T0 + 4 * DAY, "end": T0 + 5 * DAY, "outcome": "passed",
         "choices": ["For", "Against"], "scores": [60.0, 40.0]},
        {"dao": "d", "id": "gone", "created": T0 + 4 * DAY, "end": T0 + 5 * DAY, "outcome": "cancelled"},
        {"dao": "d", "id": "open", "created": T0 + 6 * DAY, "end": None, "outcome": None},
        {"dao": "d", "id": "timeless", "outcome": "failed"},
    ]
    code, out = _run(capsys, "--data", str(make_dir(rows)), "--since", "2020-09-14", "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) >= {"n", "model", "baselines"}
    assert set(result["baselines"]) == {"base_rate", "recent_rate", "proposer_history"}
    keys = {"brier", "log_loss", "accuracy", "roc_auc", "ece", "vote_share_mae"}
    assert set(result["model"]) == keys and all(set(b) == keys for b in result["baselines"].values())
    assert result["n"] == 2 and result["n_history_only"] == 1  # "a" opened before --since
    assert result["skipped"] == {"cancelled": 1, "no-outcome": 1, "no-time": 1}
    # base rate: b sees a (1 of 1 passed) -> 2/3; c sees a, b (1 of 2) -> 1/2
    base = result["baselines"]["base_rate"]
    assert base["brier"] == pytest.approx(((2 / 3) ** 2 + 0.5**2) / 2)
    assert base["accuracy"] == pytest.approx(0.5)  # b predicted pass (wrong), c at 0.5 counts as pass (right)
    # proposer: b's proposer y has no record -> DAO rate 2/3; c's proposer x passed 1 of 1 -> 2/3
    assert result["baselines"]["proposer_history"]["brier"] == pytest.approx(((2 / 3) ** 2 + (1 / 3) ** 2) / 2)
    # too little history to train: the model falls back to the base rate, and says so
    assert result["model_fallbacks_to_base_rate"] == 2
    assert result["model"]["brier"] == pytest.approx(base["brier"])
    # only c has scores; its history has none -> no vote-share prediction for any predictor
    assert result["n_with_vote_shares"] == 1 and base["vote_share_mae"] is None


def test_out_dir_markdown_and_png(make_dir: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_dir(synthetic_proposals(80))
    code, out = _run(capsys, "--data", str(data), "--markdown", "--out", str(tmp_path / "res"), "--refit-every", "10")
    assert code == 0
    assert "| Concord model (calibrated LR) |" in out and "| DAO historical pass rate |" in out
    assert "Vote shares (MAE over for/against/other)" in out and "| model share MAE |" in out
    saved = json.loads((tmp_path / "res" / "predict.json").read_text())
    assert saved["n"] == 80 and saved["model"]["vote_share_mae"] is not None
    png = (tmp_path / "res" / "predict_reliability.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_bad_input_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "predict", "--data", str(tmp_path)]) == 2
    assert "No proposals.jsonl" in capsys.readouterr().err
    (tmp_path / "proposals.jsonl").write_text("")
    assert main(["eval", "predict", "--data", str(tmp_path), "--since", "yesterday"]) == 2
    assert "--since must be a date" in capsys.readouterr().err


def test_named_outputs_and_discussion_counts(make_dir: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proposals = synthetic_proposals(60)
    posts = [{"dao": "testdao", "text": f"thoughts on {i}", "author": "a", "created": T0 + i * 3 * DAY - DAY,
              "proposal_ids": [f"p{i}"]} for i in range(0, 60, 2)]
    posts.append({"dao": "testdao", "text": "late", "created": T0 + 59 * 3 * DAY, "proposal_ids": ["p59"]})
    args = ["--data", str(make_dir(proposals, posts=posts)), "--markdown", "--out", str(tmp_path / "r"), "--name", "predict_x"]
    code, out = _run(capsys, *args)
    assert code == 0
    saved = json.loads((tmp_path / "r" / "predict_x.json").read_text())
    assert (tmp_path / "r" / "predict_x.md").read_text() == out and (tmp_path / "r" / "predict_x_reliability.png").is_file()
    assert not (tmp_path / "r" / "predict.json").exists()
    assert saved["discussion"]["posts"]["linked"] == 31 and saved["discussion"]["labelled_with_pre_vote_posts"] == 30
    assert saved["with_discussion"]["n"] == 30  # p59's only post came after it opened
    assert "with pre-vote discussion (testdao)" in out and "Stance features off" in out
    assert main(["eval", "predict", "--data", args[1], "--out", str(tmp_path / "r"), "--name", "../x"]) == 2
