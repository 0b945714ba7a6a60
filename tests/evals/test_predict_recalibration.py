"""The per-DAO recalibration study reads only earlier predictions whose outcomes were known, and its chance ECE
is what a calibrated forecaster gets."""

from __future__ import annotations

import dataclasses
import random

import pytest

from agent.predict.walkforward import ScoredRow
from evals.predict_recalibration import METHODS, _recalibrated, noise_floor

DAY = 86_400.0


def _rows(n: int = 120) -> tuple[list[ScoredRow], dict[str, float]]:
    rng = random.Random(1)
    rows, closed = [], {}
    for i in range(n):
        p = 0.2 + 0.6 * rng.random()
        rows.append(ScoredRow(id=f"r{i}", dao="x" if i % 3 else "y", opened_at=i * DAY, outcome=int(rng.random() < 0.8),
                              p={"model": p, "recent_rate": 0.7, "proposer_history": 0.6, "base_rate": 0.7},
                              shares={}, actual_shares=None, n_train=50, trained_until=i * DAY))
        closed[f"r{i}"] = i * DAY + 3 * DAY
    return rows, closed


@pytest.mark.parametrize("method", [METHODS[0], METHODS[8]], ids=["platt", "shrink"])
def test_a_recalibrated_prediction_reads_only_outcomes_known_when_it_opened(method: dict) -> None:  # type: ignore[type-arg]
    rows, closed = _rows()
    base = _recalibrated(rows, closed, method)
    k = 60
    # flipping outcomes that resolve at or after row k opens changes nothing up to row k
    flipped = [dataclasses.replace(r, outcome=1 - r.outcome) if closed[r.id] >= rows[k].opened_at else r for r in rows]
    again = _recalibrated(flipped, closed, method)
    assert again[: k + 1] == base[: k + 1]
    assert again != base  # later rows do read the flipped outcomes once they are known
    assert base[:30] == [r.p["model"] for r in rows[:30]] or method["kind"] == "shrink"  # too few resolved: unchanged


def test_noise_floor_is_the_ece_of_a_calibrated_forecaster() -> None:
    small = noise_floor([0.8] * 50, draws=400)
    large = noise_floor([0.8] * 2000, draws=400)
    assert 0 < large["median"] < small["median"] <= small["p95"]
    assert large["p95"] < 0.03  # one bin: |observed - 0.8| shrinks like 1/sqrt(n)
