"""A pooled cross-DAO outcome model, used when a DAO's own history is too small to train one.

The model is the same calibrated logistic regression (:mod:`agent.predict.model`) on the same features, but trained
on every stored DAO's proposals that closed before the target opened. The features stay each proposal's own DAO's
(its pass rate, recent rates, proposer record, volume, discussion): a proposal of DAO *B* teaches how those DAO-relative
features relate to outcomes, and the target is read through its own DAO's history. The prediction says so:
``method="pooled"`` and a model description naming how many proposals of how many DAOs it was trained on.

Walk-forward evaluation on one DAO (Brier against its base rate): ``python -m evals.predict_pooled``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agent.predict.from_store import load_store_dao
from agent.predict.model import MIN_TRAIN
from agent.predict.records import GovData, HistoryProposal
from agent.predict.service import Prediction, predict_record
from ingest.core.domain import Dao, Proposal
from ingest.core.errors import InputError

if TYPE_CHECKING:
    from agent.stance.base import StanceClassifier
    from ingest.core.store import Store

__all__ = ["POOLED_MODEL_NAME", "PooledPrediction", "describe_prediction", "load_store_all", "predict_pooled", "with_pooled_fallback"]

POOLED_MODEL_NAME = "concord-predict-pooled-lr-platt-v1"


@dataclass(frozen=True)
class PooledPrediction(Prediction):
    """A :class:`Prediction` of the pooled model: ``trained_by_dao`` counts its training proposals per DAO, ``own_n``
    is how many closed proposals the target's DAO alone had."""

    dao: str = ""
    trained_by_dao: dict[str, int] = dataclasses.field(default_factory=dict)
    own_n: int = 0

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {"dao": self.dao, "trained_by_dao": dict(self.trained_by_dao), "own_n": self.own_n}


def load_store_all(store: Store) -> GovData:
    """Every stored DAO's proposals, linked posts and voting-power history in one :class:`GovData`."""
    from sqlmodel import select

    with store.session() as session:
        daos = [(int(d.id), d.slug) for d in session.exec(select(Dao)).all() if d.id is not None]
    merged = GovData(proposals=[])
    for dao_id, slug in daos:
        data = load_store_dao(store, dao_id, slug)
        # store ids are unique across DAOs, so the per-proposal maps merge without clashes
        merged.proposals.extend(data.proposals)
        merged.posts_by_proposal.update(data.posts_by_proposal)
        merged.voter_power.update(data.voter_power)
    return merged


def predict_pooled(data: GovData, target: HistoryProposal, *, stance: StanceClassifier | None = None, bootstrap: int = 20) -> PooledPrediction | None:
    """The pooled model's prediction of ``target`` from every DAO in ``data`` (None when even the pooled training
    set is too small or one-class: then the DAO's base rate stands)."""
    if target.opened_at is None:
        raise InputError(f"Proposal {target.id} has neither a creation nor a start time, so 'before voting' is undefined")
    at = target.opened_at
    train = [p for p in data.proposals if p.has_label and p.closed_at < at and p.id != target.id]  # type: ignore[operator]
    by_dao = Counter(p.dao for p in train)
    if len(by_dao) < 2:
        return None  # one DAO only: nothing to pool
    base = predict_record(data, target, stance=stance, bootstrap=bootstrap)
    if base.method != "model":
        return None
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(Prediction)}
    fields |= {"method": "pooled", "model_id": POOLED_MODEL_NAME + base.model_id[base.model_id.rfind(":"):]}
    return PooledPrediction(**fields, dao=target.dao, trained_by_dao=dict(sorted(by_dao.items())), own_n=by_dao.get(target.dao, 0))


def with_pooled_fallback(store: Store, proposal: Proposal, own: Prediction, *, stance: StanceClassifier | None = None,
                         bootstrap: int = 20) -> Prediction:
    """``own`` (the DAO-only prediction) unless it is a base-rate fallback and the pooled model can be trained."""
    if own.method != "base-rate":
        return own
    data = load_store_all(store)
    target = next((p for p in data.proposals if p.id == str(proposal.id)), None)
    if target is None:
        return own
    return predict_pooled(data, target, stance=stance, bootstrap=bootstrap) or own


def describe_prediction(p: Prediction) -> str:
    """The model line of a report: what was trained on what. (Governance reads "trained on N closed proposals".)"""
    if isinstance(p, PooledPrediction):
        until = datetime.fromtimestamp(p.trained_until, UTC).date().isoformat() if p.trained_until else "the proposal opened"
        parts = ", ".join(f"{dao} {n}" for dao, n in p.trained_by_dao.items())
        return (f"{p.model_id} (pooled model, trained on {p.n_train} closed proposals of {len(p.trained_by_dao)} DAOs ({parts}) closed "
                f"before {until}; {p.dao} alone had {p.own_n}, its own model needs {MIN_TRAIN})")
    return f"{p.model_id} ({p.method}, trained on {p.n_train} closed proposals)"
