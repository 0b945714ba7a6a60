"""Predict one stored proposal: the function a consensus report calls."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.predict.features import FeatureBuilder
from agent.predict.from_store import load_store_dao
from agent.predict.model import OutcomeModel
from agent.predict.records import GovData, HistoryProposal, canonical_choice
from agent.predict.selection import Config, choose_config
from agent.predict.shares import ShareForecaster
from agent.stance.base import StanceClassifier
from ingest.core.domain import Dao, Proposal
from ingest.core.errors import InputError
from ingest.core.store import Store

__all__ = ["MODEL_NAME", "Prediction", "model_id_with_families", "predict_proposal", "predict_record"]

MODEL_NAME = "concord-predict-lr-platt-v1"


@dataclass(frozen=True)
class Prediction:
    """P(pass) with an interval, expected vote share per choice label (None when not a yes/no vote or no history).

    ``low``/``high`` are the 5th/95th percentiles over bootstrap refits (or of the Beta posterior of the DAO's pass
    rate when the model could not be trained). ``method`` is ``model`` or ``base-rate``. ``vote_share`` is the
    median-type estimate of :mod:`agent.predict.shares`; ``share_method`` names the estimate used.
    """

    p_pass: float
    low: float
    high: float
    vote_share: dict[str, float] | None
    n_train: int
    model_id: str
    method: str = "model"
    trained_until: float | None = None
    features: dict[str, float] = field(default_factory=dict)
    share_method: str | None = None
    #: the calibration and recency weighting the model was fitted with (``platt_group/365d``: one sigmoid per DAO,
    #: examples closed 365 days before the newest count half); None for the base rate
    config: str | None = None
    #: the feature families beyond DAO and proposer history the model read (:data:`agent.predict.features.FAMILIES`)
    families: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "p_pass": round(self.p_pass, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "vote_share": {k: round(v, 4) for k, v in self.vote_share.items()} if self.vote_share else None,
            "n_train": self.n_train,
            "model_id": self.model_id,
            "method": self.method,
            "trained_until": self.trained_until,
            "features": {k: round(v, 6) for k, v in self.features.items()},
            "share_method": self.share_method,
            "config": self.config,
            "families": list(self.families),
        }


def model_id_with_families(model_name: str, families: Sequence[str]) -> str:
    """``model_name`` with the feature families it reads appended (``name+text``), so the id says what was used."""
    return "+".join((model_name, *families))


def _per_choice(choices: tuple[str, ...] | None, shares: dict[str, float] | None) -> dict[str, float] | None:
    """Spread canonical for/against/other shares over the proposal's own choice labels."""
    if not choices or shares is None:
        return None
    kinds = [canonical_choice(c) for c in choices]
    if "for" not in kinds and "against" not in kinds:
        return None
    counts = {k: kinds.count(k) for k in set(kinds)}
    out = {c: shares[k] / counts[k] for c, k in zip(choices, kinds, strict=True)}
    total = sum(out.values())
    return {c: v / total for c, v in out.items()} if total > 0 else None


def predict_record(
    data: GovData,
    target: HistoryProposal,
    *,
    stance: StanceClassifier | None = None,
    bootstrap: int = 20,
    seed: int = 0,
    families: Sequence[str] = (),
    embed: Callable[[list[str]], Any] | None = None,
    candidates: Sequence[Config] | None = None,
    model_name: str = MODEL_NAME,
) -> Prediction:
    """Predict ``target`` from ``data``, training only on proposals that closed before ``target`` opened.

    ``families`` (and ``embed`` for ``text``) switch on feature families beyond history
    (:data:`agent.predict.features.FAMILIES`). With ``candidates`` the calibration and recency weighting are chosen
    walk-forward among them (:func:`agent.predict.selection.choose_config`); without, one Platt sigmoid, equal weights.
    """
    import sklearn.linear_model  # noqa: F401  (loads the BLAS/OpenMP libraries first: only loaded ones get limited)
    from threadpoolctl import threadpool_limits

    # The models are small: one BLAS thread each is as fast, and on a shared machine the default thread pools
    # oversubscribe the cores (one prediction took 35 s instead of a few).
    with threadpool_limits(limits=1):
        return _predict_record(data, target, stance=stance, bootstrap=bootstrap, seed=seed, families=families,
                               embed=embed, candidates=candidates, model_name=model_name)


def _predict_record(
    data: GovData,
    target: HistoryProposal,
    *,
    stance: StanceClassifier | None,
    bootstrap: int,
    seed: int,
    families: Sequence[str],
    embed: Callable[[list[str]], Any] | None,
    candidates: Sequence[Config] | None,
    model_name: str,
) -> Prediction:
    if target.opened_at is None:
        raise InputError(f"Proposal {target.id} has neither a creation nor a start time, so 'before voting' is undefined")
    at = target.opened_at
    builder = FeatureBuilder(data, stance=stance, families=families, embed=embed)
    train = sorted(
        (p for p in data.proposals if p.has_label and p.closed_at < at and p.id != target.id),  # type: ignore[operator]
        key=lambda p: (p.closed_at, p.id),
    )
    x = builder.vector(target)
    X = [builder.vector(p) for p in train]
    y = [int(bool(p.outcome)) for p in train]
    times = [float(p.closed_at) for p in train]  # type: ignore[arg-type]
    groups = [p.dao for p in train]
    digest = hashlib.sha256("\n".join(p.id for p in train).encode()).hexdigest()[:12]
    # the share forecaster reads only proposals that closed before ``at`` (the training rows) and the target
    features_by_id = {p.id: row for p, row in zip(train, X, strict=True)} | {target.id: x}
    config: Config = ("platt", None)
    if candidates:
        chosen, _ = choose_config(train, features_by_id, at, candidates)
        config = candidates[chosen]
    model = OutcomeModel(calibration=config[0], half_life_days=config[1])  # type: ignore[arg-type]
    share = ShareForecaster(builder.history, features_by_id).predict([target]).get(target.id)
    vote_share = _per_choice(target.choices, share.shares if share else None)
    share_method = share.method if share else None
    features = dict(zip(builder.names, x, strict=True))
    config_name = f"{config[0]}/{'equal' if config[1] is None else f'{config[1]:g}d'}"
    if not model.fit(X, y, times=times, groups=groups):
        from scipy.stats import beta

        rate = builder.history.dao_rate(target.dao, at)
        a, b = rate.passes + 1, rate.n - rate.passes + 1
        return Prediction(
            p_pass=rate.smoothed,
            low=float(beta.ppf(0.05, a, b)),
            high=float(beta.ppf(0.95, a, b)),
            vote_share=vote_share,
            n_train=len(train),
            model_id=f"base-rate:{digest}",
            method="base-rate",
            trained_until=at,
            features=features,
            share_method=share_method,
        )
    p = float(model.predict([x], [target.dao])[0])
    rng = np.random.default_rng(seed)
    draws: list[float] = []
    Xa, ya, ta, ga = np.asarray(X), np.asarray(y), np.asarray(times), np.asarray(groups)
    for _ in range(bootstrap):
        idx = np.sort(rng.integers(0, len(ya), len(ya)))  # keep time order for the calibration slice
        boot = OutcomeModel(calibration=config[0], half_life_days=config[1])  # type: ignore[arg-type]
        if boot.fit(Xa[idx], ya[idx], times=ta[idx].tolist(), groups=ga[idx].tolist()):
            draws.append(float(boot.predict([x], [target.dao])[0]))
    low, high = (float(np.percentile(draws, 5)), float(np.percentile(draws, 95))) if draws else (p, p)
    return Prediction(
        p_pass=p,
        low=min(low, p),
        high=max(high, p),
        vote_share=vote_share,
        n_train=len(train),
        model_id=f"{model_id_with_families(model_name, builder.families)}:{digest}",
        trained_until=at,
        features=features,
        share_method=share_method,
        config=config_name,
        families=builder.families,
    )


def predict_proposal(store: Store, proposal: Proposal, *, stance: StanceClassifier | None = None, bootstrap: int = 20) -> Prediction:
    """Calibrated prediction for a stored proposal from its DAO's history in the store (see :func:`predict_record`)."""
    with store.session() as session:
        dao = session.get(Dao, proposal.dao_id)
        if dao is None:
            raise InputError(f"Proposal {proposal.id} points at DAO id {proposal.dao_id}, which is not in the store")
        slug = dao.slug
    data = load_store_dao(store, proposal.dao_id, slug)
    target = next((p for p in data.proposals if p.id == str(proposal.id)), None)
    if target is None:
        raise InputError(f"Proposal {proposal.id} is not in the store; ingest it first")
    return predict_record(data, target, stance=stance, bootstrap=bootstrap)
