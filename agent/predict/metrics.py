"""Scores for probabilistic predictions of pass/fail and for predicted vote shares."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["accuracy", "brier", "ece", "log_loss", "roc_auc", "score_all", "share_error", "share_mae"]

_EPS = 1e-6


def brier(p: Sequence[float], y: Sequence[int]) -> float:
    """Mean squared error of the probabilities."""
    return sum((pi - yi) ** 2 for pi, yi in zip(p, y, strict=True)) / len(y)


def log_loss(p: Sequence[float], y: Sequence[int]) -> float:
    """Mean negative log-likelihood (natural log), probabilities clipped to [1e-6, 1 - 1e-6]."""
    total = 0.0
    for pi, yi in zip(p, y, strict=True):
        q = min(max(pi, _EPS), 1 - _EPS)
        total -= math.log(q) if yi else math.log(1 - q)
    return total / len(y)


def accuracy(p: Sequence[float], y: Sequence[int]) -> float:
    """Share of proposals where p >= 0.5 agrees with the outcome."""
    return sum(1 for pi, yi in zip(p, y, strict=True) if (pi >= 0.5) == bool(yi)) / len(y)


def roc_auc(p: Sequence[float], y: Sequence[int]) -> float | None:
    """Probability that a random passed proposal scores above a random failed one (ties count half); None if one class."""
    pos = [pi for pi, yi in zip(p, y, strict=True) if yi]
    neg = [pi for pi, yi in zip(p, y, strict=True) if not yi]
    if not pos or not neg:
        return None
    ranked = sorted((v, i) for i, v in enumerate(p))
    ranks = [0.0] * len(p)
    i = 0
    while i < len(ranked):  # average ranks over ties
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = sum(r for r, yi in zip(ranks, y, strict=True) if yi)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg))


def ece(p: Sequence[float], y: Sequence[int], *, bins: int = 10) -> float:
    """Expected calibration error: ten equal-width bins, |mean p - pass rate| weighted by bin size."""
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, pi in enumerate(p) if lo <= pi < hi or (b == bins - 1 and pi == 1.0)]
        if idx:
            mean_p = sum(p[i] for i in idx) / len(idx)
            rate = sum(y[i] for i in idx) / len(idx)
            total += len(idx) * abs(mean_p - rate)
    return total / len(y)


def share_error(pred: Mapping[str, float], actual: Mapping[str, float]) -> float:
    """Mean absolute error over the for/against/other shares of one proposal."""
    return sum(abs(pred[k] - actual[k]) for k in ("for", "against", "other")) / 3.0


def share_mae(pred: Sequence[dict[str, float] | None], actual: Sequence[dict[str, float] | None]) -> float | None:
    """Mean over proposals (with both) of the mean absolute error over the for/against/other shares."""
    errs = [share_error(pr, ac) for pr, ac in zip(pred, actual, strict=True) if pr is not None and ac is not None]
    return sum(errs) / len(errs) if errs else None


def score_all(
    p: Sequence[float],
    y: Sequence[int],
    shares_pred: Sequence[dict[str, float] | None],
    shares_actual: Sequence[dict[str, float] | None],
) -> dict[str, float | None]:
    """All metrics of the issue in its key order; None where undefined (no proposals, one class, no scores)."""
    if not y:
        return {k: None for k in ("brier", "log_loss", "accuracy", "roc_auc", "ece", "vote_share_mae")}
    return {
        "brier": brier(p, y),
        "log_loss": log_loss(p, y),
        "accuracy": accuracy(p, y),
        "roc_auc": roc_auc(p, y),
        "ece": ece(p, y),
        "vote_share_mae": share_mae(shares_pred, shares_actual),
    }
