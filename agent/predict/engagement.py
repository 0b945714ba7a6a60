"""The proposer's engagement before the proposal opened: votes cast, voting power, posts, recent proposals.

Everything here was public at the proposal's opening: votes and posts with a time before it, proposals opened
before it (an opening is public when it happens, whatever its outcome).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict

from agent.predict.records import DAY, GovData, HistoryProposal

__all__ = ["ENGAGEMENT_FEATURES", "Engagement"]

ENGAGEMENT_FEATURES = ("log_proposer_votes", "log_proposer_vp", "log_proposer_posts", "log_proposer_opened_180d",
                       "log_proposer_tenure_days")


class Engagement:
    """Indexes one :class:`GovData` by author; :meth:`features` reads it as of a proposal's opening."""

    def __init__(self, data: GovData) -> None:
        self._votes = data.voter_power
        posts: dict[tuple[str, str], list[float]] = defaultdict(list)
        seen: set[tuple[str, str | None, float, int]] = set()
        for rows in data.posts_by_proposal.values():
            for post in rows:
                if post.author and post.created is not None:
                    key = (post.dao, post.author, post.created, hash(post.text))
                    if key not in seen:  # a post linked to several proposals counts once
                        seen.add(key)
                        posts[(post.dao, post.author)].append(post.created)
        self._posts = {k: sorted(v) for k, v in posts.items()}
        opened: dict[tuple[str, str], list[float]] = defaultdict(list)
        for p in data.proposals:
            if p.author and p.opened_at is not None:
                opened[(p.dao, p.author)].append(p.opened_at)
        self._opened = {k: sorted(v) for k, v in opened.items()}

    def features(self, proposal: HistoryProposal) -> list[float]:
        """:data:`ENGAGEMENT_FEATURES` of ``proposal`` as of its opening (zeros for an unknown proposer)."""
        at, author = proposal.opened_at, proposal.author
        if at is None or not author:
            return [0.0] * len(ENGAGEMENT_FEATURES)
        key = (proposal.dao, author)
        votes = self._votes.get(key, [])
        n_votes = bisect.bisect_left(votes, (at, -math.inf))
        vp = votes[n_votes - 1][1] if n_votes else 0.0
        n_posts = bisect.bisect_left(self._posts.get(key, []), at)
        opened = self._opened.get(key, [])
        before = bisect.bisect_left(opened, at)
        recent = before - bisect.bisect_left(opened, at - 180 * DAY)
        tenure = (at - opened[0]) / DAY if before else 0.0
        return [math.log1p(n_votes), math.log1p(max(vp, 0.0)), math.log1p(n_posts), math.log1p(recent),
                math.log1p(tenure)]
