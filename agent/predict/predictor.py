"""The predictor service every face calls: calibrated outcome predictions of stored proposals, memoised.

The dashboard, the bot, ``concord report``, ``concord forecast commit`` and the consensus report's prediction
section all read predictions through one :class:`StorePredictor`, which runs the pooled cross-DAO model with its
calibration chosen walk-forward (:func:`agent.predict.pooled.predict_store`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.predict.pooled import predict_store
from agent.predict.service import Prediction
from ingest.core.domain import Proposal
from ingest.core.errors import NotFoundError

if TYPE_CHECKING:
    from agent.stance.base import StanceClassifier
    from ingest.core.settings import ConcordSettings
    from ingest.core.store import Store

__all__ = ["StorePredictor", "build_predictor"]


class StorePredictor:
    """:func:`agent.predict.pooled.predict_store` over one store, memoised per proposal version.

    ``embed`` (texts -> vectors, e.g. the shared cached MiniLM encoder's ``embed_batch``) switches on the ``text``
    feature family: the outcomes of each proposal's most similar earlier closed proposals.
    """

    def __init__(self, store: Store, *, stance: StanceClassifier | None = None, bootstrap: int = 20,
                 embed: Callable[[list[str]], Any] | None = None) -> None:
        self.store = store
        self.stance = stance
        self.bootstrap = bootstrap
        self.embed = embed
        self._memo: dict[tuple[int, str], Prediction] = {}

    def prediction(self, proposal: Proposal) -> Prediction:
        """The prediction of a stored proposal (recomputed when its content or update time changes)."""
        key = (int(proposal.id or 0), f"{proposal.content_hash}:{proposal.updated_at}")
        if key not in self._memo:
            families = ("text",) if self.embed is not None else ()
            self._memo[key] = predict_store(self.store, proposal, stance=self.stance, bootstrap=self.bootstrap,
                                            families=families, embed=self.embed)
        return self._memo[key]

    def predict(self, proposal_id: int) -> dict[str, Any] | None:
        """``{"p_pass", "low", "high", "vote_share", "model_id", ...}`` of the proposal with this store id."""
        with self.store.session() as session:
            proposal = session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFoundError(f"Unknown proposal {proposal_id}.")
        return self.prediction(proposal).as_dict()

    def live(self, proposal_id: int, *, at: float | None = None) -> dict[str, Any] | None:
        """The live forecast (:mod:`agent.predict.live`) of a proposal whose vote is open at ``at`` (default now),
        from its stored votes so far; None when voting has not started, has ended or has no stored start/end."""
        from datetime import UTC, datetime

        from agent.predict.live import live_forecast_from_store

        with self.store.session() as session:
            proposal = session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFoundError(f"Unknown proposal {proposal_id}.")
        if proposal.start is None or proposal.end is None:
            return None
        moment = at if at is not None else datetime.now(UTC).timestamp()
        start, end = (d if d.tzinfo else d.replace(tzinfo=UTC) for d in (proposal.start, proposal.end))
        if not start.timestamp() <= moment < end.timestamp():
            return None
        return live_forecast_from_store(self.store, proposal_id, at=moment).as_dict()


def build_predictor(settings: ConcordSettings, *, store: Store) -> StorePredictor:
    """The predictor service over ``store``."""
    return StorePredictor(store)
