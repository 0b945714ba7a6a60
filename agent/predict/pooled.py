"""The store's outcome model: one model pooled across every stored DAO, calibration chosen walk-forward.

What measures best walk-forward on ../shared/data (README, "Features beyond history"): one calibrated logistic
regression trained on every DAO's proposals that closed before the target opened, with the calibration (one sigmoid
per DAO shrunk towards the common one, or the common one) and the recency weighting chosen walk-forward among
:data:`agent.predict.walkforward.DAO_CALIBRATION_CANDIDATES` (:mod:`agent.predict.selection`). One model per DAO on
its own proposals measured worse (Arbitrum Brier 0.251 vs 0.18). The features stay each proposal's own DAO's (its
pass rate, recent rates, proposer record, volume, discussion; with ``text`` the outcomes of its most similar
earlier proposals in the DAO and across DAOs), so a proposal of DAO *B* teaches how those DAO-relative features
relate to outcomes, and the target is read through its own DAO's history. The prediction says so:
``method="pooled"`` and a model description naming how many proposals of how many DAOs it was trained on.

:func:`predict_store` is what the store's predictor (reports, ``concord forecast commit``, the dashboard, the bot)
calls. Walk-forward evaluation: ``concord eval predict-ablation`` (rows ``history_dao_select``,
``text_dao_select``) and, on the bundled sample's Arbitrum proposals, ``python -m evals.predict_pooled``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agent.predict.from_store import load_store_dao
from agent.predict.records import GovData, HistoryProposal
from agent.predict.selection import Config
from agent.predict.service import Prediction, predict_record
from agent.predict.walkforward import DAO_CALIBRATION_CANDIDATES
from ingest.core.domain import Dao, Proposal
from ingest.core.errors import InputError

if TYPE_CHECKING:
    from agent.stance.base import StanceClassifier
    from ingest.core.store import Store

__all__ = ["POOLED_MODEL_NAME", "PooledPrediction", "describe_prediction", "load_store_all", "predict_pooled", "predict_store"]

POOLED_MODEL_NAME = "concord-predict-pooled-lr-select-v2"


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
        merged.votes_by_proposal.update(data.votes_by_proposal)
    return merged


def predict_pooled(
    data: GovData,
    target: HistoryProposal,
    *,
    stance: StanceClassifier | None = None,
    bootstrap: int = 20,
    families: Sequence[str] = (),
    embed: Callable[[list[str]], Any] | None = None,
    candidates: Sequence[Config] | None = DAO_CALIBRATION_CANDIDATES,
) -> PooledPrediction | None:
    """The pooled model's prediction of ``target`` from every DAO in ``data``, its calibration and recency weighting
    chosen walk-forward among ``candidates`` (None when only one DAO has closed proposals, or when even the pooled
    training set is too small or one-class)."""
    if target.opened_at is None:
        raise InputError(f"Proposal {target.id} has neither a creation nor a start time, so 'before voting' is undefined")
    at = target.opened_at
    train = [p for p in data.proposals if p.has_label and p.closed_at < at and p.id != target.id]  # type: ignore[operator]
    by_dao = Counter(p.dao for p in train)
    if len(by_dao) < 2:
        return None  # one DAO only: nothing to pool
    base = predict_record(data, target, stance=stance, bootstrap=bootstrap, families=families, embed=embed,
                          candidates=candidates, model_name=POOLED_MODEL_NAME)
    if base.method != "model":
        return None
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(Prediction)} | {"method": "pooled"}
    return PooledPrediction(**fields, dao=target.dao, trained_by_dao=dict(sorted(by_dao.items())), own_n=by_dao.get(target.dao, 0))


def predict_store(
    store: Store,
    proposal: Proposal,
    *,
    stance: StanceClassifier | None = None,
    bootstrap: int = 20,
    families: Sequence[str] = (),
    embed: Callable[[list[str]], Any] | None = None,
) -> Prediction:
    """The prediction of a stored proposal: the pooled model over every stored DAO (:func:`predict_pooled`); where
    only its own DAO has closed proposals, the same model on that DAO alone; else the DAO's base rate."""
    data = load_store_all(store)
    target = next((p for p in data.proposals if p.id == str(proposal.id)), None)
    if target is None:
        raise InputError(f"Proposal {proposal.id} is not in the store; ingest it first")
    pooled = predict_pooled(data, target, stance=stance, bootstrap=bootstrap, families=families, embed=embed)
    if pooled is not None:
        return pooled
    own = GovData(proposals=[p for p in data.proposals if p.dao == target.dao], posts_by_proposal=data.posts_by_proposal,
                  voter_power=data.voter_power, votes_by_proposal=data.votes_by_proposal)
    return predict_record(own, target, stance=stance, bootstrap=bootstrap, families=families, embed=embed,
                          candidates=DAO_CALIBRATION_CANDIDATES)


#: what a family reads, in the words of a report's model line (a family not named here reads as its name)
_FAMILY_WORDS = {"text": "text (how the most similar earlier proposals ended)"}


def _features_read(p: Prediction) -> str:
    if p.method == "base-rate":
        return "the DAO's pass rate only"
    return "features: " + " + ".join(("history", *(_FAMILY_WORDS.get(f, f) for f in p.families)))


def describe_prediction(p: Prediction) -> str:
    """The model line of a report: what was trained on what, reading which feature families. (Governance reads
    "trained on N closed proposals".)"""
    if isinstance(p, PooledPrediction):
        until = datetime.fromtimestamp(p.trained_until, UTC).date().isoformat() if p.trained_until else "the proposal opened"
        parts = ", ".join(f"{dao} {n}" for dao, n in p.trained_by_dao.items())
        return (f"{p.model_id} (pooled model, trained on {p.n_train} closed proposals of {len(p.trained_by_dao)} DAOs ({parts}) closed "
                f"before {until}; {p.dao} alone had {p.own_n}; {_features_read(p)}), calibration chosen walk-forward: {p.config}")
    chosen = f", calibration chosen walk-forward: {p.config}" if p.config and p.method == "model" else ""
    return f"{p.model_id} ({p.method}, trained on {p.n_train} closed proposals){chosen}; {_features_read(p)}"
