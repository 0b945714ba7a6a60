"""The label-agreement figures the README quotes come from the committed label files."""

from __future__ import annotations

import pytest

from evals.stance_agreement import agreement, cohen_kappa, load_pairs


def test_kappa_by_hand() -> None:
    # observed 0.75; chance = (2*1 + 2*3)/16 = 0.5 -> kappa 0.5; perfect agreement -> 1; systematic disagreement < 0
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == pytest.approx((0.75 - 0.5) / 0.5)
    assert cohen_kappa(["a", "b"], ["a", "b"]) == 1.0
    assert cohen_kappa(["a", "b"], ["b", "a"]) < 0
    with pytest.raises(ValueError, match="equally long"):
        cohen_kappa(["a"], [])


def test_second_pass_matches_committed_ids() -> None:
    result = agreement(load_pairs())
    assert result["n"] == 100
    assert sum(sum(row.values()) for row in result["confusion"].values()) == 100
    assert 0 < result["cohen_kappa"] < result["agreement"] <= 1
