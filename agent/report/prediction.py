"""The report's prediction section, read from the one predictor service (:class:`agent.predict.predictor.StorePredictor`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.report.model import PredictionReport

if TYPE_CHECKING:
    from agent.predict.predictor import StorePredictor
    from agent.report.builder import Predictor
    from ingest.core.domain import Proposal
    from ingest.core.store import Store

__all__ = ["report_predictor"]


def report_predictor(predictor: StorePredictor) -> Predictor:
    """A :data:`agent.report.builder.Predictor` reading ``predictor`` (calibrated, with an interval)."""

    from agent.predict.pooled import describe_prediction

    def predict(store: Store, proposal: Proposal) -> PredictionReport | None:
        p = predictor.prediction(proposal)
        return PredictionReport(
            probability_pass=round(p.p_pass, 4),
            interval=(round(p.low, 4), round(p.high, 4)),
            vote_share={k: round(v, 4) for k, v in p.vote_share.items()} if p.vote_share else None,
            model=describe_prediction(p),
        )

    return predict
