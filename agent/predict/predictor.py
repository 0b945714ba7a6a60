"""The predictor service every face calls: calibrated outcome predictions of stored proposals, memoised.

The dashboard, the bot, ``concord report`` and the consensus report's prediction section all read
predictions through one :class:`StorePredictor`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.predict.service import Prediction, predict_proposal
from ingest.core.domain import Proposal
from ingest.core.errors import NotFoundError

if TYPE_CHECKING:
    from agent.stance.base import StanceClassifier
    from ingest.core.settings import ConcordSettings
    from ingest.core.store import Store

__all__ = ["StorePredictor", "build_predictor"]


class StorePredictor:
    """:func:`agent.predict.service.predict_proposal` over one store, memoised per proposal version."""

    def __init__(self, store: Store, *, stance: StanceClassifier | None = None, bootstrap: int = 20) -> None:
        self.store = store
        self.stance = stance
        self.bootstrap = bootstrap
        self._memo: dict[tuple[int, str], Prediction] = {}

    def prediction(self, proposal: Proposal) -> Prediction:
        """The prediction of a stored proposal (recomputed when its content or update time changes)."""
        key = (int(proposal.id or 0), f"{proposal.content_hash}:{proposal.updated_at}")
        if key not in self._memo:
            self._memo[key] = predict_proposal(self.store, proposal, stance=self.stance, bootstrap=self.bootstrap)
        return self._memo[key]

    def predict(self, proposal_id: int) -> dict[str, Any] | None:
        """``{"p_pass", "low", "high", "vote_share", "model_id", ...}`` of the proposal with this store id."""
        with self.store.session() as session:
            proposal = session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFoundError(f"Unknown proposal {proposal_id}.")
        return self.prediction(proposal).as_dict()


def build_predictor(settings: ConcordSettings, *, store: Store) -> StorePredictor:
    """The predictor service over ``store``."""
    return StorePredictor(store)
