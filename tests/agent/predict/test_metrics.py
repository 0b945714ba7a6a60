"""The scoring functions against hand computations and scikit-learn."""

from __future__ import annotations

import math

import pytest

from agent.predict.metrics import accuracy, brier, ece, log_loss, roc_auc, score_all, share_mae


def test_scores_match_hand_computation() -> None:
    p, y = [0.9, 0.2, 0.6, 0.4], [1, 0, 0, 1]
    assert brier(p, y) == pytest.approx((0.01 + 0.04 + 0.36 + 0.36) / 4)
    assert log_loss(p, y) == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.4)) / 4)
    assert accuracy(p, y) == 0.5
    # positives 0.9, 0.4 vs negatives 0.2, 0.6: pairs won 0.9>0.2, 0.9>0.6, 0.4>0.2 -> 3 of 4
    assert roc_auc(p, y) == pytest.approx(0.75)
    # bins: [0.9] -> |0.9-1|, [0.2] -> |0.2-0|, [0.6] -> |0.6-0|, [0.4] -> |0.4-1|
    assert ece(p, y) == pytest.approx((0.1 + 0.2 + 0.6 + 0.6) / 4)


def test_auc_and_log_loss_agree_with_sklearn() -> None:
    from sklearn.metrics import log_loss as sk_log_loss
    from sklearn.metrics import roc_auc_score

    p = [0.1, 0.4, 0.4, 0.8, 0.65, 0.3, 0.9, 0.5]
    y = [0, 0, 1, 1, 0, 1, 1, 0]
    assert roc_auc(p, y) == pytest.approx(roc_auc_score(y, p))
    assert log_loss(p, y) == pytest.approx(sk_log_loss(y, p))


def test_undefined_cases_are_none() -> None:
    assert roc_auc([0.3, 0.6], [1, 1]) is None
    assert share_mae([None], [{"for": 1.0, "against": 0.0, "other": 0.0}]) is None
    assert score_all([], [], [], [])["brier"] is None
    shares = share_mae([{"for": 0.5, "against": 0.5, "other": 0.0}], [{"for": 0.8, "against": 0.1, "other": 0.1}])
    assert shares == pytest.approx((0.3 + 0.4 + 0.1) / 3)
