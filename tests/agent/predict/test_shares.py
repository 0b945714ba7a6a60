"""Vote-share prediction: medians, the per-DAO choice among estimates, no leakage, same scoring set as baselines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.predict.features import FeatureBuilder
from agent.predict.loader import load_directory
from agent.predict.service import predict_record
from agent.predict.shares import ShareForecaster, median_shares, shares_of
from agent.predict.walkforward import walk_forward
from tests.agent.predict.conftest import DAY, T0, synthetic_proposals


def _row(
    dao: str, i: int, author: str, for_share: float, *, other: float = 0.0, step: float = 2 * DAY, days: float = 1
) -> dict[str, Any]:
    """A proposal opened at ``T0 + i * step`` that votes for ``days``, with the given For (and Abstain) share."""
    start = T0 + i * step
    against = max(0.0, 1.0 - for_share - other)
    return {
        "dao": dao, "id": f"{dao}{i}", "author": author, "title": f"{dao} {i}", "body": "x " * (i % 7 + 1),
        "created": start, "start": start, "end": start + days * DAY, "choices": ["For", "Against", "Abstain"],
        "scores": [1000 * for_share, 1000 * against, 1000 * other], "outcome": "passed" if for_share > 0.5 else "failed",
    }


def test_median_and_clipping() -> None:
    items = [{"for": 0.9, "against": 0.1, "other": 0.0}, {"for": 1.0, "against": 0.0, "other": 0.0},
             {"for": 0.2, "against": 0.5, "other": 0.3}]
    assert median_shares(items) == pytest.approx({"for": 0.9, "against": 0.1, "other": 0.0})
    assert median_shares([]) is None
    assert shares_of(0.8, 0.5) == pytest.approx({"for": 0.8, "against": 0.0, "other": 0.2})
    assert shares_of(-0.1, 0.2) == pytest.approx({"for": 0.0, "against": 0.8, "other": 0.2})


def test_share_prediction_ignores_future(make_dir: Callable[..., Path]) -> None:
    """Flip the scores of p60 and of everything that closed at or after it opened: its shares do not move; flipping
    scores that were known when it opened does move them (so the test can fail)."""
    opened = T0 + 60 * 3 * DAY

    def row(flip_from: float) -> Any:
        result = walk_forward(load_directory(make_dir(synthetic_proposals(flip_from=flip_from))), refit_every=5)
        assert result.share_refits > 0  # the pooled regression was fitted, not only the medians
        return next(r for r in result.rows if r.id == "p60")

    plain, flipped, earlier = row(1e12), row(opened), row(opened - 40 * DAY)
    assert plain.actual_shares != flipped.actual_shares  # its own label did change
    assert plain.shares["model"] == flipped.shares["model"]
    assert plain.share_candidates == flipped.share_candidates and plain.share_method == flipped.share_method
    assert plain.share_candidates != earlier.share_candidates


def test_forecaster_never_reads_a_proposal_still_open(make_dir: Callable[..., Path]) -> None:
    """Votes last 20 days, one opens every half day, so 40 were still open when d150 opened. Give all of those one
    common For share (which would make the DAO's median look perfect and the proposers' look wrong): d150's
    prediction (every estimate and the choice among them) must not change. Changing proposals that had closed does
    change it, so the test can fail."""
    rows = [_row("d", i, "abc"[i % 3], (0.3, 0.5, 0.7)[i % 3] + 0.01 * (i % 5), step=0.5 * DAY, days=20) for i in range(200)]
    opened = T0 + 150 * 0.5 * DAY

    def common(rows: list[dict[str, Any]], after: float) -> list[dict[str, Any]]:
        return [r | {"scores": [500.0, 500.0, 0.0]} if r["end"] >= after else r for r in rows]

    def predict(rows: list[dict[str, Any]]) -> Any:
        data = load_directory(make_dir(rows))
        builder = FeatureBuilder(data)
        features = {p.id: builder.vector(p) for p in data.proposals}
        targets = [p for p in data.proposals if p.id in {"d150", "d199"}]  # d199: everything before it is estimated
        forecaster = ShareForecaster(builder.history, features, refit_every=5)
        prediction = forecaster.predict(targets)["d150"]
        assert forecaster.refits > 0 and prediction is not None
        return prediction

    plain = predict(rows)
    assert plain.method == "proposer_median"
    assert sum(1 for r in rows if r["created"] < opened <= r["end"]) >= 30
    assert predict(common(rows, opened)) == plain
    assert predict(common(rows, opened - 15 * DAY)) != plain


def test_choice_follows_past_errors(make_dir: Callable[..., Path]) -> None:
    """DAO ``p``: each proposer always gets the same share, so the proposer's median wins. DAO ``r``: the DAO's
    level drops halfway through and the same proposers' long records lag behind it, so the proposer's median loses
    (to the DAO's recent median, or to the pooled regression, which sees the DAO's recent level in its features)."""
    rows = [_row("p", i, "abc"[i % 3], (0.9, 0.5, 0.2)[i % 3] + 0.01 * (i % 4)) for i in range(120)]
    rows += [_row("r", i, "xyz"[i % 3], (0.95 if i < 60 else 0.3) + 0.01 * (i % 3)) for i in range(120)]
    result = walk_forward(load_directory(make_dir(rows)), since=T0 + 60 * 2 * DAY, refit_every=10)
    late = [r for r in result.rows if r.opened_at >= T0 + 90 * 2 * DAY]
    chosen = {dao: Counter(r.share_method for r in late if r.dao == dao).most_common(1)[0][0] for dao in ("p", "r")}
    assert chosen["p"] in {"proposer_median", "pooled"}
    assert chosen["r"] in {"dao_median", "pooled"}
    summary = result.summary()
    best_baseline = min(b["vote_share_mae"] for b in summary["baselines"].values())
    assert summary["model"]["vote_share_mae"] < best_baseline
    p, r = ({k: v["vote_share_mae"] for k, v in summary["per_dao"][dao].items() if isinstance(v, dict)} for dao in "pr")
    # p: as good as the proposer's mean (the noise is symmetric), far better than the DAO's levels
    assert p["model"] < p["proposer_history"] + 0.005 and p["model"] < min(p["base_rate"], p["recent_rate"]) / 5
    assert r["model"] < min(r["base_rate"], r["recent_rate"], r["proposer_history"])


def test_pooled_model_does_not_pull_a_dao_to_others_level(make_dir: Callable[..., Path]) -> None:
    """A near-unanimous DAO next to a split one: its predicted For share stays near its own level (the data fix that
    gave Compound/Uniswap lower For shares had pulled Aave's prediction to ~0.93 under the pooled ridge)."""
    rows = [_row("hi", i, f"h{i % 4}", 0.995 - 0.004 * (i % 3)) for i in range(100)]
    rows += [_row("lo", i, f"l{i % 4}", 0.2 + 0.15 * (i % 5)) for i in range(100)]
    result = walk_forward(load_directory(make_dir(rows)), since=T0 + 40 * 2 * DAY, refit_every=10)
    hi = [r for r in result.rows if r.dao == "hi" and r.shares["model"] is not None]
    assert len(hi) > 50
    assert min(r.shares["model"]["for"] for r in hi) > 0.98  # type: ignore[index]
    assert all(r.share_candidates and r.share_candidates["pooled"]["for"] > 0.95 for r in hi)


def test_scored_on_the_same_proposals_as_the_baselines(make_dir: Callable[..., Path]) -> None:
    """No DAO history with scores -> no prediction from anyone; otherwise every predictor has one."""
    rows = [_row("old", i, "a", 0.8) for i in range(40)] + [_row("new", 40 + i, "b", 0.6) for i in range(5)]
    result = walk_forward(load_directory(make_dir(rows)), refit_every=5)
    first_new = next(r for r in result.rows if r.id == "new40")
    assert all(v is None for v in first_new.shares.values())
    for r in result.rows:
        assert {k for k, v in r.shares.items() if v is None} in (set(), set(r.shares))
    assert result.summary()["vote_share"]["n_scored"] == sum(1 for r in result.rows if r.shares["model"] is not None)


def test_predict_record_vote_share_per_choice(make_dir: Callable[..., Path]) -> None:
    """The service spreads the predicted shares over the target's own choices, from proposals closed before it."""
    rows = [_row("d", i, "abc"[i % 3], (0.9, 0.6, 0.3)[i % 3]) for i in range(60)]
    open_row = _row("d", 60, "a", 0.5) | {"scores": None, "outcome": None, "choices": ["Yes", "No", "Abstain"]}
    data = load_directory(make_dir([*rows, open_row]))
    target = next(p for p in data.proposals if p.id == "d60")
    pred = predict_record(data, target, bootstrap=0)
    assert pred.vote_share is not None and set(pred.vote_share) == {"Yes", "No", "Abstain"}
    assert sum(pred.vote_share.values()) == pytest.approx(1.0)
    assert pred.vote_share["Yes"] == pytest.approx(0.9, abs=0.05)  # proposer a's shares, not the DAO's mean 0.6
    assert pred.share_method in {"proposer_median", "pooled"}


def test_polls_without_for_or_against_are_counted_not_scored(make_dir: Callable[..., Path]) -> None:
    rows = [_row("d", i, "a", 0.8) for i in range(40)]
    rows += [_row("d", 40 + i, "a", 0.8) | {"choices": ["Blue", "Green"], "scores": [30.0, 70.0]} for i in range(3)]
    summary = walk_forward(load_directory(make_dir(rows)), refit_every=5).summary()
    assert summary["n_per_choice_without_for_against"] == 3
    assert summary["n_with_vote_shares"] == 40 and summary["vote_share"]["n_scored"] == 39  # d0 has no history
