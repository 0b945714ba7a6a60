"""Text similarity between proposals and threads (TF-IDF cosine, computed in memory per DAO)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["best_matches"]


def best_matches(
    proposals: Sequence[str], threads: Sequence[str], *, threshold: float, margin: float = 0.05
) -> list[tuple[int, int, float]]:
    """(proposal index, thread index, cosine) for each proposal whose best thread scores ``threshold`` or more
    and beats the runner-up by ``margin`` (an ambiguous best match is no match)."""
    if not proposals or not threads:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer  # lazy: scikit-learn is an optional extra

    vectorizer = TfidfVectorizer(
        stop_words="english", sublinear_tf=True, ngram_range=(1, 2), min_df=1, max_features=50_000
    )
    matrix = vectorizer.fit_transform(list(proposals) + list(threads))
    left, right = matrix[: len(proposals)], matrix[len(proposals) :]
    scores = (left @ right.T).toarray()
    found = []
    for i, row in enumerate(scores):
        order = row.argsort()[::-1]
        best = float(row[order[0]])
        runner_up = float(row[order[1]]) if len(order) > 1 else 0.0
        if best >= threshold and best - runner_up >= margin:
            found.append((i, int(order[0]), round(best, 4)))
    return found
