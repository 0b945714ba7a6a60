"""Outcomes of the most similar earlier proposals, by MiniLM vectors of their text (per DAO and pooled).

Only proposals that had *closed* before the predicted one opened are neighbours, so a neighbour's outcome was
public. Vectors are computed once per text by the caller's embedder (a :class:`embeddings.CachedEmbedder` keeps them
on disk, so reruns embed nothing).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

import numpy as np

from agent.predict.records import HistoryProposal

__all__ = ["TEXT_FEATURES", "TextNeighbours", "proposal_text", "unit_vectors"]

TEXT_FEATURES = ("knn_dao_rate", "knn_dao_max_sim", "knn_pooled_rate", "knn_pooled_max_sim")
_BODY_CHARS = 400


def proposal_text(proposal: HistoryProposal) -> str:
    """The text that is embedded: the title and the start of the body (kept short: about 100 tokens, so 3,600 texts embed in minutes on two shared cores)."""
    return f"{proposal.title}\n{proposal.body[:_BODY_CHARS]}".strip()


def unit_vectors(proposals: Sequence[HistoryProposal], embed: Callable[[list[str]], np.ndarray]) -> dict[str, np.ndarray]:
    """Unit-length vectors of the :func:`proposal_text` of every proposal that can be placed in time, by id."""
    placed = [p for p in proposals if p.opened_at is not None]
    vectors = np.asarray(embed([proposal_text(p) for p in placed]), dtype=np.float32) if placed else np.zeros((0, 1))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)
    return {p.id: vectors[i] for i, p in enumerate(placed)}


class TextNeighbours:
    """Similarity-weighted pass rate of the ``k`` nearest earlier closed proposals, in the DAO and across DAOs."""

    def __init__(
        self,
        proposals: Sequence[HistoryProposal],
        embed: Callable[[list[str]], np.ndarray],
        *,
        k: int = 10,
    ) -> None:
        self.k = k
        self._vector = unit_vectors(proposals, embed)
        labelled = sorted((p for p in proposals if p.has_label), key=lambda p: (p.closed_at, p.id))
        self._pooled = self._index(labelled)
        self._by_dao = {dao: self._index([p for p in labelled if p.dao == dao]) for dao in {p.dao for p in labelled}}

    def _index(self, rows: list[HistoryProposal]) -> tuple[list[float], np.ndarray, np.ndarray]:
        times = [float(p.closed_at) for p in rows]  # type: ignore[arg-type]
        dim = next(iter(self._vector.values())).shape[0] if self._vector else 1
        matrix = np.stack([self._vector[p.id] for p in rows]) if rows else np.zeros((0, dim), dtype=np.float32)
        labels = np.array([1.0 if p.outcome else 0.0 for p in rows])
        return times, matrix, labels

    def _neighbours(self, index: tuple[list[float], np.ndarray, np.ndarray], v: np.ndarray, at: float) -> tuple[float, float]:
        times, matrix, labels = index
        n = bisect.bisect_left(times, at)  # closed strictly before ``at``
        if n == 0:
            return 0.5, 0.0
        sims = matrix[:n] @ v
        top = np.argsort(-sims)[: self.k]
        weights = np.clip(sims[top], 0.0, None)
        rate = (float(weights @ labels[:n][top]) + 0.5) / (float(weights.sum()) + 1.0)
        return rate, float(sims[top[0]])

    def features(self, proposal: HistoryProposal) -> list[float]:
        """:data:`TEXT_FEATURES` of ``proposal`` as of its opening."""
        v = self._vector.get(proposal.id)
        if v is None or proposal.opened_at is None:
            return [0.5, 0.0, 0.5, 0.0]
        at = proposal.opened_at
        empty: tuple[list[float], np.ndarray, np.ndarray] = ([], np.zeros((0, v.shape[0])), np.zeros(0))
        dao_rate, dao_sim = self._neighbours(self._by_dao.get(proposal.dao, empty), v, at)
        pooled_rate, pooled_sim = self._neighbours(self._pooled, v, at)
        return [dao_rate, dao_sim, pooled_rate, pooled_sim]
