"""Vote-share prediction: the for/against/other shares of a proposal's vote, from what was known when it opened.

Three estimates, each built only from proposals that had *closed* before the predicted one opened:

- ``proposer_median``: the component-wise median of the proposer's past shares in this DAO (the DAO's median when
  the proposer has none);
- ``dao_median``: the median of the DAO's last :data:`RECENT` closed proposals with per-choice scores;
- ``pooled``: a median (L1) regression, pooled over all DAOs, of how far the For share lies from ``proposer_median``
  in logit space, on the outcome model's features plus that anchor; its other share is the anchor's.

Per DAO the estimate used is the one with the lowest mean absolute error over the DAO's last :data:`TRACK`
proposals that had closed (each predicted, as above, at its own opening); with fewer than :data:`MIN_TRACK` of
them, ``proposer_median``. Medians rather than means because the score is the mean absolute error, which a median
minimises, and vote shares are skewed (Aave: most For shares are 1.0 with a few contested votes) or two-humped
(Decentraland: near 0 or near 1). A DAO with no closed proposal with per-choice scores gets no prediction yet,
exactly like the baselines, so every predictor is scored on the same proposals.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.predict.history import History
from agent.predict.metrics import share_error
from agent.predict.records import HistoryProposal

__all__ = [
    "CANDIDATES",
    "MIN_TRACK",
    "RECENT",
    "TRACK",
    "PooledShareModel",
    "ShareForecaster",
    "SharePrediction",
    "Shares",
    "median_shares",
    "shares_of",
]

Shares = dict[str, float]

#: the estimates, in order of preference when their recent errors tie
CANDIDATES: tuple[str, ...] = ("proposer_median", "dao_median", "pooled")
#: how many of the DAO's latest closed proposals ``dao_median`` summarises
RECENT = 50
#: how many of the DAO's latest closed proposals the choice among estimates is scored on
TRACK = 50
#: below this many scored proposals in the DAO, ``proposer_median`` is used without choosing
MIN_TRACK = 5
#: fewest training proposals for the pooled regression (as for the outcome model)
MIN_TRAIN = 30
_EPS = 1e-3


def shares_of(for_share: float, other_share: float) -> Shares:
    """For/against/other shares from the for and other shares: each clipped to [0, 1], against the remainder."""
    f = min(max(for_share, 0.0), 1.0)
    o = min(max(other_share, 0.0), 1.0 - f)
    return {"for": f, "against": max(0.0, 1.0 - f - o), "other": o}


def median_shares(items: Sequence[Mapping[str, float]]) -> Shares | None:
    """Component-wise median of the for and other shares of ``items`` (against: the remainder); None when empty."""
    if not items:
        return None
    return shares_of(statistics.median(s["for"] for s in items), statistics.median(s["other"] for s in items))


def _logit(v: float) -> float:
    v = min(max(v, _EPS), 1.0 - _EPS)
    return math.log(v / (1.0 - v))


@dataclass
class PooledShareModel:
    """Median regression of ``logit(for) - logit(anchor for)`` on standardised features plus ``logit(anchor for)``.

    Pooled over DAOs, it only moves a proposal away from its own anchor (its proposer's or DAO's past shares); it
    never replaces the DAO's level with other DAOs' levels. ``alpha`` is the L1 penalty of the quantile regression.
    """

    alpha: float = 0.01
    n_train: int = 0
    _pipe: Any = field(default=None, repr=False)

    @property
    def fitted(self) -> bool:
        return self._pipe is not None

    @staticmethod
    def _design(X: Sequence[Sequence[float]], anchors: Sequence[Mapping[str, float]]) -> np.ndarray:
        return np.column_stack([np.asarray(X, dtype=float), [_logit(a["for"]) for a in anchors]])

    def fit(
        self, X: Sequence[Sequence[float]], anchors: Sequence[Mapping[str, float]], actual: Sequence[Mapping[str, float]]
    ) -> bool:
        """Fit on past proposals (features, anchor as of their opening, final shares); False when fewer than 30."""
        if len(actual) < MIN_TRAIN:
            return False
        from sklearn.linear_model import QuantileRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = [_logit(s["for"]) - _logit(a["for"]) for s, a in zip(actual, anchors, strict=True)]
        pipe = make_pipeline(StandardScaler(), QuantileRegressor(quantile=0.5, alpha=self.alpha, solver="highs"))
        self._pipe = pipe.fit(self._design(X, anchors), y)
        self.n_train = len(y)
        return True

    def predict(self, X: Sequence[Sequence[float]], anchors: Sequence[Mapping[str, float]]) -> list[Shares]:
        """Shares for each row: the anchor's For share moved by the regression in logit space, the anchor's other."""
        if self._pipe is None:
            raise RuntimeError("PooledShareModel.predict called before a successful fit")
        offsets = self._pipe.predict(self._design(X, anchors))
        return [
            shares_of(1.0 / (1.0 + math.exp(-(_logit(a["for"]) + float(d)))), a["other"])
            for a, d in zip(anchors, offsets, strict=True)
        ]


@dataclass(frozen=True)
class SharePrediction:
    """The shares used (``method`` names the estimate chosen for the DAO) and every estimate made."""

    shares: Shares
    method: str
    candidates: dict[str, Shares]


class ShareForecaster:
    """Walk-forward vote-share predictions over one :class:`History`.

    ``features`` maps proposal id -> the outcome model's feature vector (as of that proposal's opening); it must
    cover every labelled proposal with per-choice scores and every proposal passed to :meth:`predict`.
    """

    def __init__(
        self, history: History, features: Mapping[str, Sequence[float]], *, refit_every: int = 25, alpha: float = 0.01
    ) -> None:
        if refit_every < 1:
            raise ValueError(f"refit_every must be at least 1, got {refit_every}")
        self.history = history
        self.features = features
        self.refit_every = refit_every
        self.alpha = alpha
        #: how many times the pooled regression was fitted by the last :meth:`predict`
        self.refits = 0

    def _estimates(self, p: HistoryProposal, at: float, pooled: PooledShareModel | None) -> dict[str, Shares] | None:
        h = self.history
        dao_past = h.with_shares_before(p.dao, at, last=RECENT)
        dao_median = median_shares([h.shares[q.id] for q in dao_past])  # type: ignore[misc]
        if dao_median is None:
            return None
        mine = h.with_shares_before(p.dao, at, author=p.author) if p.author else []
        proposer = median_shares([h.shares[q.id] for q in mine]) or dao_median  # type: ignore[misc]
        pooled_shares = pooled.predict([self.features[p.id]], [proposer])[0] if pooled is not None else proposer
        return {"proposer_median": proposer, "dao_median": dao_median, "pooled": pooled_shares}

    def predict(self, targets: Iterable[HistoryProposal]) -> dict[str, SharePrediction | None]:
        """Predictions for ``targets`` (None where the DAO has no closed proposal with per-choice scores before).

        Every labelled proposal with per-choice scores that closed before the last target opened is estimated too,
        in opening order, because the pooled model trains on their estimates and the choice among estimates is
        scored on their errors; each of those is used only once the proposal had closed, i.e. strictly before the
        opening of the proposal being predicted.
        """
        h = self.history
        scored = h.with_shares_by_close()
        close_times = [p.closed_at for p in scored]
        wanted = {p.id: p for p in targets if p.opened_at is not None}
        if not wanted:
            return {}
        horizon = max(p.opened_at for p in wanted.values())  # type: ignore[type-var]
        # proposals that closed after the last target opened can reach no prediction: not even estimated
        todo = {p.id: p for p in scored if p.closed_at < horizon} | wanted  # type: ignore[operator]
        order = sorted(todo.values(), key=lambda p: (p.opened_at, p.id))
        estimates: dict[str, dict[str, Shares] | None] = {}
        errors: dict[str, dict[str, float]] = {}
        out: dict[str, SharePrediction | None] = {}
        pooled: PooledShareModel | None = None
        fitted_n = 0
        self.refits = 0
        for p in order:
            at = p.opened_at
            assert at is not None
            available = bisect.bisect_left(close_times, at)
            if available >= MIN_TRAIN and (pooled is None or available - fitted_n >= self.refit_every):
                train = [(q, estimates[q.id]) for q in scored[:available]]
                rows = [(q, e) for q, e in train if e is not None]
                model = PooledShareModel(alpha=self.alpha)
                if model.fit(
                    [self.features[q.id] for q, _ in rows],
                    [e["proposer_median"] for _, e in rows],
                    [h.shares[q.id] for q, _ in rows],  # type: ignore[misc]
                ):
                    # the leakage guard: the regression learnt only from proposals closed before this one opened
                    assert all(q.closed_at < at for q, _ in rows)  # type: ignore[operator]
                    pooled, fitted_n = model, available
                    self.refits += 1
            est = self._estimates(p, at, pooled)
            estimates[p.id] = est
            if p.id in wanted:
                method = self._choose(p, at, errors) if est is not None else ""
                out[p.id] = SharePrediction(est[method], method, est) if est is not None else None
            actual = h.shares.get(p.id)
            if est is not None and actual is not None:  # read by later proposals only once this one has closed
                errors[p.id] = {name: share_error(s, actual) for name, s in est.items()}
        return out

    def _choose(self, p: HistoryProposal, at: float, errors: Mapping[str, Mapping[str, float]]) -> str:
        """The estimate with the lowest mean error over the DAO's last :data:`TRACK` proposals closed before ``at``."""
        track = [errors[q.id] for q in self.history.with_shares_before(p.dao, at, last=TRACK) if q.id in errors]
        if len(track) < MIN_TRACK:
            return CANDIDATES[0]
        return min(CANDIDATES, key=lambda c: (sum(e[c] for e in track) / len(track), CANDIDATES.index(c)))
