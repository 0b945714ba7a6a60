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

    #: ``platt`` (one sigmoid), ``isotonic``, or ``platt_group``: a sigmoid with its own intercept and slope per
    #: group (the DAO, passed as ``groups``), so a pooled model is calibrated to each DAO's recent outcomes (both
    #: L2-regularised towards the common ones; a group not in the calibration slice gets the common sigmoid)
    calibration: Literal["platt", "isotonic", "platt_group"] = "platt"
    calibration_fraction: float = 0.25
    C: float = 0.5
    #: ``logistic`` (default) or ``boosting`` (scikit-learn's HistGradientBoostingClassifier, depth 3, 100 trees)
    learner: Literal["logistic", "boosting"] = "logistic"
    #: recency weighting: an example closed this many days before the newest one counts half (None: all equal)
    half_life_days: float | None = None
    n_train: int = 0
    _pipe: Any = field(default=None, repr=False)
    _calibrator: Any = field(default=None, repr=False)
    _groups: list[str] = field(default_factory=list, repr=False)

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

    def _calibration_inputs(self, scores: np.ndarray, groups: Sequence[str] | None) -> np.ndarray:
        columns = [scores.reshape(-1, 1)]
        if self.calibration == "platt_group":
            names = list(groups) if groups is not None else [""] * len(scores)
            onehot = np.asarray([[1.0 if g == known else 0.0 for known in self._groups] for g in names]
                                ).reshape(len(scores), len(self._groups))
            columns += [onehot, onehot * scores.reshape(-1, 1)]
        return np.hstack(columns)

    def fit(self, X: Sequence[Sequence[float]], y: Sequence[int], *, times: Sequence[float] | None = None,
            groups: Sequence[str] | None = None) -> bool:
        """Fit on time-ordered examples; the newest ``calibration_fraction`` calibrates a model fitted on the rest.

        ``times`` (close times, with ``half_life_days``) weight each example by its recency; ``groups`` (one DAO
        per example) are read by ``platt_group`` calibration.
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

                late = list(groups[cut:]) if groups is not None else None
                self._groups = sorted(set(late)) if late is not None and self.calibration == "platt_group" else []
                strength = 1.0 if self._groups else 1e4
                calibrator = LogisticRegression(C=strength).fit(self._calibration_inputs(scores, late), ya[cut:])
        self._pipe = self._pipeline(self.C).fit(Xa, ya, **fit_kw(weights))
        self._calibrator = calibrator
        self.n_train = len(ya)
        return True

    def predict(self, X: Sequence[Sequence[float]], groups: Sequence[str] | None = None) -> np.ndarray:
        """Calibrated probabilities of passing, clipped to [0.001, 0.999] (``groups``: for ``platt_group``)."""
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
                p = self._calibrator.predict_proba(self._calibration_inputs(scores, groups))[:, 1]
        return np.clip(p, _CLIP, 1 - _CLIP)
