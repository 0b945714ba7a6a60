"""Features of a proposal from what was known before its voting began. Labels never enter here.

Reads: the proposal's text, type and author; other proposals that had closed before it opened (through
:class:`History`); proposal openings before it; discussion posts with a timestamp before it opened (their stance
mix, weighted by the authors' voting power from votes cast before that moment). Never reads: this proposal's
scores, state, outcome or voter count, nor any proposal that was still open.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agent.predict.engagement import ENGAGEMENT_FEATURES, Engagement
from agent.predict.history import History
from agent.predict.jury import JURY_FEATURES, VOTERS_FEATURES, Jury
from agent.predict.kinds import KIND_FEATURES, kind_features
from agent.predict.records import DAY, GovData, HistoryPost, HistoryProposal
from agent.predict.text_neighbours import TEXT_FEATURES, TextNeighbours
from agent.stance.base import Stance, StanceClassifier, StanceResult
from ingest.core.errors import InputError

__all__ = ["FAMILIES", "FEATURE_NAMES", "DiscussionSummary", "FeatureBuilder", "FeatureProbe"]

FEATURE_NAMES: tuple[str, ...] = (
    "dao_rate",
    "dao_recent_rate",
    "dao_last10_rate",
    "kind_rate",
    "log_dao_n",
    "log_kind_n",
    "proposer_rate",
    "log_proposer_n",
    "proposer_new",
    "log_title_len",
    "log_body_len",
    "has_body",
    "log_opened_14d",
    "recent_for_share",
    "log_posts",
    "log_post_authors",
    "stance_for",
    "stance_against",
    "stance_trend",
)


#: Feature families beyond the DAO/proposer history above, each switchable (``FeatureBuilder(families=...)``):
#: ``text`` outcomes of the most similar earlier proposals (needs an ``embed`` function), ``kind`` kind and amount
#: parsed from the text, ``engagement`` the proposer's votes, power, posts and recent proposals, ``jury`` the
#: expected electorate's For share from each voter's own past votes, ``voters`` expected turnout and the whales'
#: past agreement with the proposer (both from per-voter votes on closed proposals, :mod:`agent.predict.jury`).
FAMILIES: tuple[str, ...] = ("text", "kind", "engagement", "jury", "voters")


class FeatureProbe(Protocol):
    """Extra features appended after the families' (an evaluation's candidate signal, not a product family).

    ``features`` must read only what was public when the proposal opened, as the families do.
    """

    names: tuple[str, ...]

    def features(self, proposal: HistoryProposal) -> list[float]: ...


@dataclass(frozen=True)
class DiscussionSummary:
    """Posts before voting began: counts and a voting-power-weighted stance mix (0 when no classifier)."""

    posts: int = 0
    authors: int = 0
    for_share: float = 0.0
    against_share: float = 0.0
    trend: float = 0.0


def _log(x: float) -> float:
    return math.log1p(max(x, 0.0))


class FeatureBuilder:
    """Builds feature vectors for proposals of one :class:`GovData`, each as of its own ``opened_at``."""

    def __init__(
        self,
        data: GovData,
        *,
        stance: StanceClassifier | None = None,
        families: Sequence[str] = (),
        embed: Callable[[list[str]], Any] | None = None,
        probe: FeatureProbe | None = None,
    ) -> None:
        unknown = sorted(set(families) - set(FAMILIES))
        if unknown:
            raise InputError(f"Unknown feature families {unknown}; choose from {list(FAMILIES)}")
        if "text" in families and embed is None:
            raise InputError("The 'text' feature family needs an embedder (MiniLM); pass embed=...")
        self.data = data
        self.history = History(data.proposals)
        self.stance = stance
        self.families = tuple(f for f in FAMILIES if f in families)
        self._text = TextNeighbours(data.proposals, embed) if "text" in self.families and embed else None
        self._engagement = Engagement(data) if "engagement" in self.families else None
        self._jury = Jury(data) if {"jury", "voters"} & set(self.families) else None
        names = list(FEATURE_NAMES)
        names += list(TEXT_FEATURES) if self._text else []
        names += list(KIND_FEATURES) if "kind" in self.families else []
        names += list(ENGAGEMENT_FEATURES) if self._engagement else []
        names += list(JURY_FEATURES) if "jury" in self.families else []
        names += list(VOTERS_FEATURES) if "voters" in self.families else []
        self._probe = probe
        names += list(probe.names) if probe is not None else []
        #: the names of :meth:`vector`'s entries, in order
        self.names: tuple[str, ...] = tuple(names)
        #: stance results by SHA-256 of the post text, so a text is classified once per builder (posts linked to
        #: several proposals, repeated messages); ``stance_calls`` counts the texts actually sent to the classifier.
        self._stance_cache: dict[str, StanceResult] = {}
        self.stance_calls = 0

    def _classify(self, texts: Sequence[str]) -> list[StanceResult]:
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        todo = list(dict.fromkeys((k, t) for k, t in zip(keys, texts, strict=True) if k not in self._stance_cache))
        if todo and self.stance is not None:
            self.stance_calls += len(todo)
            for (key, _), result in zip(todo, self.stance.classify([t for _, t in todo]), strict=True):
                self._stance_cache[key] = result
        return [self._stance_cache[k] for k in keys]

    def pre_vote_posts(self, proposal: HistoryProposal) -> list[HistoryPost]:
        """The posts linked to ``proposal`` with a time strictly before it opened, oldest first (none at or after)."""
        at = proposal.opened_at
        if at is None:
            return []
        return sorted(
            (p for p in self.data.posts_by_proposal.get(proposal.id, []) if p.created is not None and p.created < at),
            key=lambda p: p.created or 0.0,
        )

    def _author_weight(self, dao: str, author: str | None, at: float) -> float:
        series = self.data.voter_power.get((dao, author or ""), [])
        i = bisect.bisect_left(series, (at, -math.inf))
        return 1.0 + _log(series[i - 1][1]) if i > 0 else 1.0

    def discussion(self, proposal: HistoryProposal) -> DiscussionSummary:
        """Summarise the posts linked to ``proposal`` that were written before it opened."""
        at = proposal.opened_at
        posts = self.pre_vote_posts(proposal)
        if at is None or not posts:
            return DiscussionSummary()
        authors = {p.author for p in posts if p.author}
        if self.stance is None:
            return DiscussionSummary(posts=len(posts), authors=len(authors))
        results = self._classify([p.text for p in posts])
        weights = [self._author_weight(proposal.dao, p.author, at) for p in posts]
        p_for = [float(r.probabilities.get(Stance.FOR, 0.0)) for r in results]
        p_against = [float(r.probabilities.get(Stance.AGAINST, 0.0)) for r in results]
        total = sum(weights)
        for_share = sum(w * f for w, f in zip(weights, p_for, strict=True)) / total
        against_share = sum(w * a for w, a in zip(weights, p_against, strict=True)) / total
        half = len(posts) // 2
        trend = 0.0
        if half:
            late = [f - a for f, a in zip(p_for[half:], p_against[half:], strict=True)]
            early = [f - a for f, a in zip(p_for[:half], p_against[:half], strict=True)]
            trend = sum(late) / len(late) - sum(early) / len(early)
        return DiscussionSummary(len(posts), len(authors), for_share, against_share, trend)

    def vector(self, proposal: HistoryProposal) -> list[float]:
        """The feature vector (in :data:`FEATURE_NAMES` order) of ``proposal`` as of its opening."""
        if proposal.opened_at is None:
            raise ValueError(f"proposal {proposal.id} has no opening time; it cannot be placed in time")
        at = proposal.opened_at
        h = self.history
        dao_rate = h.dao_rate(proposal.dao, at)
        recent = h.dao_rate(proposal.dao, at, last=50)
        last10 = h.dao_rate(proposal.dao, at, last=10)
        kind = h.kind_rate(proposal.dao, proposal.kind, at)
        mine = h.proposer_rate(proposal.dao, proposal.author, at)
        base = dao_rate.smoothed
        proposer = (mine.passes + 2.0 * base) / (mine.n + 2.0)
        kind_rate = (kind.passes + 2.0 * base) / (kind.n + 2.0)
        shares = h.mean_shares(proposal.dao, at, last=50)
        talk = self.discussion(proposal)
        extra: list[float] = []
        if self._text is not None:
            extra += self._text.features(proposal)
        if "kind" in self.families:
            extra += kind_features(proposal)
        if self._engagement is not None:
            extra += self._engagement.features(proposal)
        if self._jury is not None and "jury" in self.families:
            extra += self._jury.jury_features(proposal)
        if self._jury is not None and "voters" in self.families:
            extra += self._jury.voters_features(proposal)
        if self._probe is not None:
            extra += self._probe.features(proposal)
        return [
            base,
            recent.smoothed,
            last10.smoothed,
            kind_rate,
            _log(dao_rate.n),
            _log(kind.n),
            proposer,
            _log(mine.n),
            1.0 if mine.n == 0 else 0.0,
            _log(len(proposal.title)),
            _log(len(proposal.body)),
            1.0 if proposal.body.strip() else 0.0,
            _log(h.opened_between(proposal.dao, at - 14 * DAY, at)),
            shares["for"] if shares else 0.5,
            _log(talk.posts),
            _log(talk.authors),
            talk.for_share,
            talk.against_share,
            talk.trend,
            *extra,
        ]

    def matrix(self, proposals: Sequence[HistoryProposal]) -> list[list[float]]:
        """Feature vectors for many proposals."""
        return [self.vector(p) for p in proposals]
