"""Choose the outcome model's calibration and recency weighting walk-forward, before predicting one proposal.

The store's predictor does what the walk-forward evaluation's ``select`` does (:func:`agent.predict.walkforward.
walk_forward`), for a single target: each candidate configuration predicts the latest
:data:`~agent.predict.walkforward.SELECTION_WINDOW` proposals that had closed before the target opened, each from
models fitted only on proposals closed before *that* proposal opened (refitted every ``refit_every`` newly closed
proposals), and the configuration with the lowest log loss on them is the one used for the target.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

from agent.predict.model import MIN_TRAIN, OutcomeModel
from agent.predict.records import HistoryProposal
from agent.predict.walkforward import SELECTION_WINDOW, choose_by_log_loss

__all__ = ["Config", "choose_config"]

#: (calibration, recency half-life in days or None)
Config = tuple[str, float | None]


def _fit(config: Config, train: Sequence[HistoryProposal], features: Mapping[str, list[float]], learner: str) -> OutcomeModel:
    model = OutcomeModel(calibration=config[0], half_life_days=config[1], learner=learner)  # type: ignore[arg-type]
    model.fit([features[p.id] for p in train], [int(bool(p.outcome)) for p in train],
              times=[float(p.closed_at) for p in train], groups=[p.dao for p in train])  # type: ignore[arg-type]
    return model


def choose_config(
    train: Sequence[HistoryProposal],
    features: Mapping[str, list[float]],
    at: float,
    configs: Sequence[Config],
    *,
    learner: str = "logistic",
    window: int = SELECTION_WINDOW,
    refit_every: int = 25,
) -> tuple[int, list[tuple[float, int, list[float]]]]:
    """The index in ``configs`` to predict a proposal opening at ``at`` with, and the evidence it was chosen on.

    ``train``: labelled proposals that closed before ``at``, in close-time order. Returns (index, resolved) where
    ``resolved`` holds (close time, outcome, each configuration's out-of-sample P(pass)) for the scored proposals;
    index 0 when fewer than :data:`~agent.predict.walkforward.SELECTION_MIN` could be scored.
    """
    if len(configs) < 2:
        return 0, []
    if any(p.closed_at is None or p.closed_at >= at for p in train):  # type: ignore[operator]
        raise ValueError("choose_config: every training proposal must have closed before the target opened")
    close_times = [float(p.closed_at) for p in train]  # type: ignore[arg-type]
    scored = sorted(train, key=lambda p: (p.opened_at, p.id))[-window:]
    resolved: list[tuple[float, int, list[float]]] = []
    models: list[OutcomeModel] = []
    fitted = -1
    for target in scored:
        available = bisect.bisect_left(close_times, float(target.opened_at))  # type: ignore[arg-type]
        if fitted < 0 or available - fitted >= refit_every:
            earlier = train[:available]
            models = [_fit(c, earlier, features, learner) for c in configs] if available >= MIN_TRAIN else []
            fitted = available
        if not models or not all(m.fitted for m in models):
            continue
        x = features[target.id]
        resolved.append((float(target.closed_at), int(bool(target.outcome)),  # type: ignore[arg-type]
                         [float(m.predict([x], [target.dao])[0]) for m in models]))
    return choose_by_log_loss(resolved, at), resolved
