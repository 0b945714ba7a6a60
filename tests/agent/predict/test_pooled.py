"""The pooled cross-DAO model: trained on every DAO's proposals closed before the target (never one still open), so a
DAO too small for a model of its own still gets one; labelled as pooled in the report, and read by governance as a
real model."""

from __future__ import annotations

import dataclasses

import pytest

from agent.predict.model import MIN_TRAIN
from agent.predict.pooled import PooledPrediction, describe_prediction, predict_pooled
from agent.predict.records import DAY, GovData, HistoryProposal
from agent.predict.service import Prediction, predict_record
from governance.reports import real_prediction

T0 = 1_600_000_000.0


def _proposals(dao: str, n: int, *, start: float, author_pass: str = "good") -> list[HistoryProposal]:
    out = []
    for i in range(n):
        opened = start + i * 3 * DAY
        good = i % 3 != 0
        out.append(HistoryProposal(id=f"{dao}-{i}", dao=dao, platform="snapshot", kind="snapshot", title=f"{dao} proposal {i}",
                                  body="Fund the work. " * (20 if good else 2), author=author_pass if good else "bad",
                                  opened_at=opened, closed_at=opened + 5 * DAY, outcome=good, status="passed" if good else "failed"))
    return out


def _data() -> tuple[GovData, HistoryProposal]:
    small = _proposals("small", 12, start=T0 + 100 * DAY)
    big = _proposals("big", 60, start=T0)
    target = dataclasses.replace(small[-1], id="target", outcome=None, status="no-outcome")
    return GovData(proposals=[*big, *small[:-1], target]), target


def test_small_dao_gets_the_pooled_model_trained_on_what_had_closed() -> None:
    data, target = _data()
    own = predict_record(GovData(proposals=[p for p in data.proposals if p.dao == "small"]), target, bootstrap=0)
    assert own.method == "base-rate"  # the small DAO alone cannot train a model
    pooled = predict_pooled(data, target, bootstrap=0)
    assert isinstance(pooled, PooledPrediction) and pooled.method == "pooled"
    closed = [p for p in data.proposals if p.has_label and p.closed_at < target.opened_at]  # type: ignore[operator]
    assert pooled.n_train == len(closed) and pooled.trained_by_dao == {"big": sum(p.dao == "big" for p in closed),
                                                                       "small": sum(p.dao == "small" for p in closed)}
    assert pooled.own_n < MIN_TRAIN and 0 < pooled.p_pass < 1
    # a label only known after the target opened changes nothing
    late = dataclasses.replace(_proposals("big", 1, start=target.opened_at - DAY)[0], id="late", outcome=False)  # type: ignore[operator]
    again = predict_pooled(GovData(proposals=[*data.proposals, late]), target, bootstrap=0)
    assert again is not None and again.p_pass == pytest.approx(pooled.p_pass, rel=1e-12) and again.n_train == pooled.n_train


def test_one_dao_is_not_pooled() -> None:
    data, target = _data()
    alone = GovData(proposals=[p for p in data.proposals if p.dao == "small"])
    assert predict_pooled(alone, target, bootstrap=0) is None


def test_the_report_says_pooled_and_governance_reads_a_real_prediction() -> None:
    data, target = _data()
    pooled = predict_pooled(data, target, bootstrap=0)
    assert pooled is not None
    line = describe_prediction(pooled)
    assert f"pooled model, trained on {pooled.n_train} closed proposals of 2 DAOs" in line and "small alone had" in line
    p, why = real_prediction({"prediction": {"probability_pass": pooled.p_pass, "model": line}})
    assert p == pytest.approx(pooled.p_pass) and why is None
    own = dataclasses.replace(pooled, method="base-rate")
    assert real_prediction({"prediction": {"probability_pass": 0.6, "model": describe_prediction(_plain(own))}})[0] is None


def _plain(p: PooledPrediction) -> Prediction:
    """The same numbers as a DAO-only prediction."""
    return Prediction(**{f.name: getattr(p, f.name) for f in dataclasses.fields(Prediction)})
