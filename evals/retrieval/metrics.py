"""Ranking metrics for one query with binary relevance: recall@k, reciprocal rank, nDCG@k."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

__all__ = ["ndcg_at_k", "recall_at_k", "reciprocal_rank"]


def recall_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """``|relevant ∩ top k| / min(k, |relevant|)``: 1.0 when the top ``k`` holds as many relevant items as it can."""
    if not relevant:
        raise ValueError("a labelled query needs at least one relevant item")
    return len(set(ranking[:k]) & set(relevant)) / min(k, len(relevant))


def reciprocal_rank(ranking: Sequence[str], relevant: Collection[str]) -> float:
    """``1 / rank`` of the first relevant item (rank starts at 1); 0.0 when none is ranked."""
    for rank, item in enumerate(ranking, start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Binary-gain nDCG@k: DCG of the top ``k`` over the DCG of an ideal top ``k``."""
    if not relevant:
        raise ValueError("a labelled query needs at least one relevant item")
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranking[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal
