"""Opinion camps: cluster argument units by meaning, take representative quotes and the points that bridge camps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.camps.units import ArgumentUnit

if TYPE_CHECKING:
    import numpy as np

__all__ = ["BridgingPoint", "Camp", "CampAnalysis", "find_camps"]


@dataclass
class Camp:
    """One cluster of argument units. ``voting_power`` is ``None`` when no member's address is known."""

    index: int
    units: list[ArgumentUnit]
    representatives: list[ArgumentUnit]
    people: int
    posts: int
    voting_power: float | None = None
    name: str = ""


@dataclass(frozen=True)
class BridgingPoint:
    """A unit close to every camp's centre (Polis-style consensus point); ``similarity[i]`` is to camp ``i``."""

    unit: ArgumentUnit
    similarity: tuple[float, ...]


@dataclass
class CampAnalysis:
    camps: list[Camp]
    bridging: list[BridgingPoint] = field(default_factory=list)
    method: str = ""


def _choose_k(vectors: np.ndarray, max_k: int) -> tuple[int, np.ndarray]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    best_k, best_labels, best_score = 1, None, -2.0
    for k in range(2, max_k + 1):
        labels = KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(vectors)
        if len(set(labels)) < 2:
            continue
        score = float(silhouette_score(vectors, labels, metric="cosine"))
        if score > best_score:
            best_k, best_labels, best_score = k, labels, score
    import numpy as np

    return best_k, (best_labels if best_labels is not None else np.zeros(len(vectors), dtype=int))


def find_camps(
    units: Sequence[ArgumentUnit], vectors: np.ndarray, *, max_camps: int = 5, quotes_per_camp: int = 3,
    voting_power: Mapping[str, float] | None = None, bridging: int = 3,
) -> CampAnalysis:
    """K-means over unit vectors (k from 2 to ``max_camps`` chosen by cosine silhouette; deterministic).

    Camp sizes count distinct authors and posts; ``voting_power`` maps authors to power where known.
    Representatives are the units nearest the centre, one per post. Bridging points are units from
    posts of at least two camps' people whose *lowest* similarity to any camp centre is highest.
    """
    import numpy as np

    if len(units) == 0:
        return CampAnalysis(camps=[], method="no argument units")
    max_k = max(1, min(max_camps, len(units) // 3))
    k, labels = _choose_k(vectors, max_k) if max_k >= 2 else (1, np.zeros(len(units), dtype=int))
    centres = []
    camps: list[Camp] = []
    order = sorted(range(k), key=lambda c: -int((labels == c).sum()))
    for new_index, c in enumerate(order):
        members = [i for i in range(len(units)) if labels[i] == c]
        centre = vectors[members].mean(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        centres.append(centre)
        ranked = sorted(members, key=lambda i: -float(vectors[i] @ centre))
        reps: list[ArgumentUnit] = []
        seen_posts: set[int] = set()
        for i in ranked:
            if units[i].post_id not in seen_posts:
                reps.append(units[i])
                seen_posts.add(units[i].post_id)
            if len(reps) >= quotes_per_camp:
                break
        authors = {units[i].author for i in members}
        power = None
        if voting_power:
            known = [voting_power[a] for a in authors if a in voting_power]
            power = float(sum(known)) if known else None
        camps.append(
            Camp(index=new_index, units=[units[i] for i in members], representatives=reps, people=len(authors),
                 posts=len({units[i].post_id for i in members}), voting_power=power)
        )
    points: list[BridgingPoint] = []
    if len(camps) >= 2:
        sims = vectors @ np.stack(centres).T
        floor = sims.min(axis=1)
        used: set[int] = set()
        for i in np.argsort(-floor):
            if units[int(i)].post_id in used:
                continue
            used.add(units[int(i)].post_id)
            points.append(BridgingPoint(unit=units[int(i)], similarity=tuple(round(float(s), 4) for s in sims[int(i)])))
            if len(points) >= bridging:
                break
    return CampAnalysis(camps=camps, bridging=points, method=f"k-means (k={k}, cosine silhouette) over MiniLM sentence vectors")
