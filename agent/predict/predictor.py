"""The predictor service every face calls: calibrated outcome predictions of stored proposals, memoised.

The dashboard, the bot, ``concord report``, ``concord forecast commit`` and the consensus report's prediction
section all read predictions through one :class:`StorePredictor`, which runs the pooled cross-DAO model with its
calibration chosen walk-forward (:func:`agent.predict.pooled.predict_store`), reading the feature families that
``[prediction] families`` names (by default ``text``: the outcomes of each proposal's most similar earlier
proposals, from vectors the shared encoder computes once per text and caches on disk; ``[]`` reads history only).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agent.predict.features import FAMILIES
from agent.predict.pooled import predict_store
from agent.predict.service import Prediction
from ingest.core.domain import Proposal
from ingest.core.errors import ConfigError, InputError, NotFoundError

if TYPE_CHECKING:
    from agent.stance.base import StanceClassifier
    from embeddings.cache import CachedEmbedder
    from ingest.core.settings import ConcordSettings
    from ingest.core.store import Store

__all__ = ["StorePredictor", "build_predictor"]


class StorePredictor:
    """:func:`agent.predict.pooled.predict_store` over one store, memoised per proposal version.

    ``families`` switches on feature families beyond DAO and proposer history (:data:`agent.predict.features.FAMILIES`);
    ``text`` needs ``embed`` (texts -> vectors, e.g. the shared cached encoder's ``embed_batch``, which embeds a text
    once and keeps its vector on disk).
    """

    def __init__(self, store: Store, *, stance: StanceClassifier | None = None, bootstrap: int = 20,
                 families: Sequence[str] = (), embed: Callable[[list[str]], Any] | None = None) -> None:
        unknown = sorted(set(families) - set(FAMILIES))
        if unknown:
            raise InputError(f"Unknown feature families {unknown}; choose from {list(FAMILIES)}")
        if "text" in families and embed is None:
            raise InputError("The 'text' feature family needs an encoder: pass embed=...")
        self.store = store
        self.stance = stance
        self.bootstrap = bootstrap
        #: the families every prediction reads, in :data:`~agent.predict.features.FAMILIES` order
        self.families: tuple[str, ...] = tuple(f for f in FAMILIES if f in families)
        self.embed = embed if "text" in self.families else None
        self._memo: dict[tuple[int, str], Prediction] = {}

    def prediction(self, proposal: Proposal) -> Prediction:
        """The prediction of a stored proposal (recomputed when its content or update time changes)."""
        key = (int(proposal.id or 0), f"{proposal.content_hash}:{proposal.updated_at}")
        if key not in self._memo:
            self._memo[key] = predict_store(self.store, proposal, stance=self.stance, bootstrap=self.bootstrap,
                                            families=self.families, embed=self.embed)
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


def build_predictor(settings: ConcordSettings, *, store: Store,
                    encoder: Callable[[], CachedEmbedder] | None = None) -> StorePredictor:
    """The predictor service over ``store``, reading the feature families of ``settings.prediction.families``.

    ``encoder`` returns the shared cached encoder (the search service's, so one encoder loads per process); by
    default the configured one behind ``<data_dir>/index/vectors.sqlite``. It is called on the first prediction
    that reads text, never here: building the services stays cheap.
    """
    families = tuple(settings.prediction.families)
    if encoder is None:
        from embeddings import cached_embedder

        encoder = functools.cache(lambda: cached_embedder(settings))
    source, one_at_a_time = encoder, threading.Lock()

    def embed(texts: list[str]) -> Any:
        # faces predict on worker threads: on a cold store, concurrent first predictions wait for one encoder load and
        # one embedding of every text, then read the vectors from the cache, instead of each embedding them all
        with one_at_a_time:
            return source().embed_batch(texts)

    try:
        return StorePredictor(store, families=families, embed=embed)
    except InputError as exc:
        raise ConfigError(f"{exc} (in prediction.families: set CONCORD_PREDICTION__FAMILIES, e.g. '[\"text\"]', "
                          "or [prediction] families in concord.toml)") from None
