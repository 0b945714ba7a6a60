"""The governance history the predictor works on, independent of where it came from (a data directory or the store).

``HistoryProposal`` and ``HistoryPost`` are the predictor's own view (unix-second times, a boolean outcome);
the ingest-side ``ingest.records.ProposalRecord``/``PostRecord`` are what a source yields before it is stored.

A :class:`HistoryProposal` separates what was known when voting began (text, type, author, times) from its labels
(``outcome``, ``choices``/``scores``). Features may read only the former; labels of *other* proposals may be read
only once those proposals had closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["GovData", "HistoryPost", "HistoryProposal", "canonical_choice", "canonical_shares"]

DAY = 86_400.0


@dataclass(frozen=True)
class HistoryProposal:
    """One proposal. Times are UTC unix seconds.

    ``opened_at`` is the earliest known of creation and voting start: the moment the prediction is made for.
    ``closed_at`` is when its vote had ended (estimated conservatively late when only blocks or nothing is known).
    ``outcome`` is True (passed), False (failed) or None (cancelled, open, unknown); ``status`` says which.
    """

    id: str
    dao: str
    platform: str = ""
    kind: str = ""
    title: str = ""
    body: str = ""
    author: str | None = None
    opened_at: float | None = None
    closed_at: float | None = None
    outcome: bool | None = None
    status: str = "unknown"
    choices: tuple[str, ...] | None = None
    scores: tuple[float, ...] | None = None

    @property
    def has_label(self) -> bool:
        """True when the proposal has a pass/fail outcome and can be placed in time."""
        return self.outcome is not None and self.opened_at is not None and self.closed_at is not None


@dataclass(frozen=True)
class HistoryPost:
    """A discussion post linked to one or more proposals; ``created`` is None when the source has no timestamp."""

    dao: str
    proposal_ids: tuple[str, ...]
    text: str
    author: str | None = None
    created: float | None = None


@dataclass
class GovData:
    """Everything a walk-forward run needs: proposals, linked posts by proposal id, and voting power history."""

    proposals: list[HistoryProposal]
    posts_by_proposal: dict[str, list[HistoryPost]] = field(default_factory=dict)
    #: (dao, lowercased voter address) -> [(vote time, voting power)], for weighting authors by *past* power.
    voter_power: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: How the posts were read and linked (counts: read, linked, unlinked, without time, links by method, ...).
    post_stats: dict[str, Any] = field(default_factory=dict)
    #: proposal id -> [(lowercased voter, canonical choice for/against/other, voting power)]: the per-voter votes
    #: (a label of that proposal: features may read them only once it had closed).
    votes_by_proposal: dict[str, list[tuple[str, str, float]]] = field(default_factory=dict)


_FOR = ("yes", "for", "yea", "in favor", "in favour", "aye")
_AGAINST = ("no", "against", "nay")


def canonical_choice(label: str) -> str:
    """Map a choice label to ``for``, ``against`` or ``other`` (abstain, invalid, anything else)."""
    text = label.strip().lower()
    for word in _FOR:
        if text == word or text.startswith((word + " ", word + ",", word + ".")):
            return "for"
    for word in _AGAINST:
        if text == word or text.startswith((word + " ", word + ",", word + ".")):
            return "against"
    return "other"


def canonical_shares(choices: tuple[str, ...] | None, scores: tuple[float, ...] | None) -> dict[str, float] | None:
    """Vote share per canonical choice (for/against/other), or None when scores are missing, empty or no choice is a yes/no."""
    if not choices or not scores or len(choices) != len(scores):
        return None
    kinds = [canonical_choice(c) for c in choices]
    if "for" not in kinds and "against" not in kinds:
        return None
    total = float(sum(max(s, 0.0) for s in scores))
    if total <= 0:
        return None
    shares = {"for": 0.0, "against": 0.0, "other": 0.0}
    for kind, score in zip(kinds, scores, strict=True):
        shares[kind] += max(score, 0.0) / total
    return shares
