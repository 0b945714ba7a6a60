"""Adapter from agent.predict (issue 7 point 5) to the report's prediction section."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.report.model import PredictionReport

if TYPE_CHECKING:
    from agent.stance.base import StanceClassifier
    from ingest.domain import Proposal
    from ingest.store import Store

__all__ = ["store_predictor"]


def store_predictor(*, stance: StanceClassifier | None = None, bootstrap: int = 20):  # type: ignore[no-untyped-def]
    """A :data:`agent.report.builder.Predictor` calling ``agent.predict.predict_proposal`` (calibrated, with an interval)."""

    def predict(store: Store, proposal: Proposal) -> PredictionReport | None:
        from agent.predict.service import predict_proposal

        p = predict_proposal(store, proposal, stance=stance, bootstrap=bootstrap)
        return PredictionReport(
            probability_pass=round(p.p_pass, 4),
            interval=(round(p.low, 4), round(p.high, 4)),
            vote_share={k: round(v, 4) for k, v in p.vote_share.items()} if p.vote_share else None,
            model=f"{p.model_id} ({p.method}, trained on {p.n_train} closed proposals)",
        )

    return predict
