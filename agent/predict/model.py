"""The outcome model: logistic regression on standardised features (or, with ``learner="boosting"``, shallow
gradient-boosted trees), calibrated on the most recent part of its
training window (Platt scaling by default, isotonic on request). Vote shares are predicted in :mod:`agent.predict.shares`.

Training examples must be given in time order (by close time): calibration is fitted on the newest slice, with
the base model fitted on the older part, so the calibrator sees out-of-sample scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["MIN_TRAIN", "OutcomeModel"]

MIN_TRAIN = 30
_CLIP = 1e-3


@dataclass
class OutcomeModel:
    """Calibrated P(pass). ``fit`` returns False (and the model stays unfitted) when data are too few or one-class."""

    calibration: Literal["platt", "isotonic"] = "platt"
    calibration_fraction: float = 0.25
    C: float = 0.5
    #: ``logistic`` (default) or ``boosting`` (scikit-learn's HistGradientBoostingClassifier, depth 3, 100 trees)
    learner: Literal["logistic", "boosting"] = "logistic"
    #: recency weighting: an example closed this many days before the newest one counts half (None: all equal)
    half_life_days: float | None = None
    n_train: int = 0
    _pipe: Any = field(default=None, repr=False)
    _calibrator: Any = field(default=None, repr=False)

    def _pipeline(self, C: float) -> Any:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.learner == "boosting":
            from sklearn.ensemble import HistGradientBoostingClassifier

            booster = HistGradientBoostingClassifier(max_depth=3, max_iter=100, learning_rate=0.05,
                                                     min_samples_leaf=20, l2_regularization=1.0, random_state=0)
            return make_pipeline(StandardScaler(), booster)
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))

    @property
    def _step(self) -> str:
        return "histgradientboostingclassifier" if self.learner == "boosting" else "logisticregression"

    @property
    def fitted(self) -> bool:
        return self._pipe is not None

    def _weights(self, times: Sequence[float] | None, n: int) -> np.ndarray | None:
        if self.half_life_days is None or times is None:
            return None
        t = np.asarray(times, dtype=float)
        return np.power(0.5, (t.max() - t) / (self.half_life_days * 86_400.0)) if n else None

    def fit(self, X: Sequence[Sequence[float]], y: Sequence[int], *, times: Sequence[float] | None = None) -> bool:
        """Fit on time-ordered examples; the newest ``calibration_fraction`` calibrates a model fitted on the rest.

        ``times`` (close times, with ``half_life_days``) weight each example by its recency.
        """
        Xa, ya = np.asarray(X, dtype=float), np.asarray(y, dtype=int)
        if len(ya) < MIN_TRAIN or len(set(ya.tolist())) < 2:
            return False
        weights = self._weights(times, len(ya))
        fit_kw = (lambda w: {f"{self._step}__sample_weight": w}) if weights is not None else (lambda w: {})
        cut = int(len(ya) * (1 - self.calibration_fraction))
        calibrator = None
        if cut >= MIN_TRAIN // 2 and len(set(ya[:cut].tolist())) == 2 and len(set(ya[cut:].tolist())) == 2:
            early = self._pipeline(self.C).fit(Xa[:cut], ya[:cut], **fit_kw(None if weights is None else weights[:cut]))
            scores = early.decision_function(Xa[cut:])
            if self.calibration == "isotonic":
                from sklearn.isotonic import IsotonicRegression

                calibrator = IsotonicRegression(out_of_bounds="clip", y_min=_CLIP, y_max=1 - _CLIP).fit(scores, ya[cut:])
            else:
                from sklearn.linear_model import LogisticRegression

                calibrator = LogisticRegression(C=1e4).fit(scores.reshape(-1, 1), ya[cut:])
        self._pipe = self._pipeline(self.C).fit(Xa, ya, **fit_kw(weights))
        self._calibrator = calibrator
        self.n_train = len(ya)
        return True

    def predict(self, X: Sequence[Sequence[float]]) -> np.ndarray:
        """Calibrated probabilities of passing, clipped to [0.001, 0.999]."""
        if self._pipe is None:
            raise RuntimeError("OutcomeModel.predict called before a successful fit")
        Xa = np.asarray(X, dtype=float)
        if self._calibrator is None:
            p = self._pipe.predict_proba(Xa)[:, 1]
        else:
            scores = self._pipe.decision_function(Xa)
            if self.calibration == "isotonic":
                p = self._calibrator.predict(scores)
            else:
                p = self._calibrator.predict_proba(scores.reshape(-1, 1))[:, 1]
        return np.clip(p, _CLIP, 1 - _CLIP)
