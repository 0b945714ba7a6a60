"""The simulated jury and the electorate as features of a proposal, read from per-voter votes on *closed* proposals.

Two feature families (:data:`JURY_FEATURES`, :data:`VOTERS_FEATURES`), both computed as of the proposal's opening
from the votes on the same DAO's proposals that had closed strictly before it opened (a vote is a label of its own
proposal, so it is read only once that proposal had closed):

- ``jury``: the expected electorate (the voters of the DAO's last :data:`ELECTORATE_WINDOW` closed proposals with
  votes, each weighted by their latest voting power times how many of those proposals they voted on) and each
  member's own P(For | For or Against) from their past votes, smoothed towards the DAO's past For rate; aggregated
  into the jury's expected For share. Plus how many such voters there are.
- ``voters``: the expected turnout (median voting power and voter count of those proposals) and the whales' (the
  :data:`WHALES` largest members of the electorate) historical agreement with this proposer: their For rate on the
  proposer's earlier proposals minus their For rate overall, and how many of the proposer's proposals they saw.

Votes older than ``max_age_days`` (the newest closed proposal with votes closed longer ago than that) are treated
as absent: an electorate read from votes years old is not the electorate of today. When absent, every entry is
neutral (shares 0.5, counts 0) and ``jury_has_votes`` is 0.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from agent.predict.records import DAY, GovData, HistoryProposal

__all__ = ["ELECTORATE_WINDOW", "JURY_FEATURES", "VOTERS_FEATURES", "WHALES", "Jury", "JuryState"]

JURY_FEATURES = ("jury_for_share", "jury_has_votes", "log_jury_electorate")
VOTERS_FEATURES = ("log_expected_turnout_vp", "log_expected_voters", "whales_agreement_with_proposer",
                   "log_whale_views_of_proposer")
ELECTORATE_WINDOW = 10
WHALES = 20
_SMOOTH = 2.0


@dataclass(frozen=True)
class JuryState:
    """The electorate after the first ``k`` closed proposals with votes of one DAO."""

    closed_at: float
    for_share: float
    electorate: int
    turnout_vp: float
    turnout_voters: float
    whales: tuple[str, ...]
    whale_for_rate: float


@dataclass(frozen=True)
class _Voted:
    id: str
    author: str | None
    closed_at: float
    votes: tuple[tuple[str, str, float], ...]


class Jury:
    """Indexes one :class:`GovData`'s per-voter votes; :meth:`features` reads them as of a proposal's opening."""

    def __init__(self, data: GovData, *, max_age_days: float = 180.0) -> None:
        self.max_age = max_age_days * DAY
        by_dao: dict[str, list[_Voted]] = defaultdict(list)
        for p in data.proposals:
            votes = data.votes_by_proposal.get(p.id)
            if votes and p.closed_at is not None and any(c != "other" for _, c, _ in votes):
                by_dao[p.dao].append(_Voted(p.id, p.author, float(p.closed_at), tuple(votes)))
        self._voted = {dao: sorted(rows, key=lambda v: (v.closed_at, v.id)) for dao, rows in by_dao.items()}
        self._close_times = {dao: [v.closed_at for v in rows] for dao, rows in self._voted.items()}
        self._states = {dao: self._walk(rows) for dao, rows in self._voted.items()}
        self._by_author: dict[tuple[str, str], list[int]] = defaultdict(list)
        for dao, rows in self._voted.items():
            for i, v in enumerate(rows):
                if v.author:
                    self._by_author[(dao, v.author.lower())].append(i)

    @staticmethod
    def _walk(rows: list[_Voted]) -> list[JuryState]:
        """The state after each prefix of ``rows`` (index k: after the first k + 1), built incrementally."""
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        last_vp: dict[str, float] = {}
        dao_for = dao_binary = 0
        states = []
        for k, row in enumerate(rows):
            for voter, choice, vp in row.votes:
                counts[voter][choice] += 1
                last_vp[voter] = vp
                if choice != "other":
                    dao_binary += 1
                    dao_for += choice == "for"
            prior = dao_for / dao_binary if dao_binary else 0.5
            window = rows[max(0, k + 1 - ELECTORATE_WINDOW): k + 1]
            seen: Counter[str] = Counter(voter for r in window for voter, _, _ in r.votes)
            num = den = 0.0
            for voter, times in seen.items():
                c = counts[voter]
                weight = max(last_vp.get(voter, 0.0), 0.0) * times / len(window)
                num += weight * (c["for"] + _SMOOTH * prior) / (c["for"] + c["against"] + _SMOOTH)
                den += weight
            whales = tuple(sorted(seen, key=lambda v: (-last_vp.get(v, 0.0), v))[:WHALES])
            w_for = sum(counts[w]["for"] for w in whales)
            w_bin = sum(counts[w]["for"] + counts[w]["against"] for w in whales)
            states.append(JuryState(
                closed_at=row.closed_at,
                for_share=num / den if den > 0 else prior,
                electorate=len(seen),
                turnout_vp=statistics.median(sum(max(vp, 0.0) for _, _, vp in r.votes) for r in window),
                turnout_voters=statistics.median(len(r.votes) for r in window),
                whales=whales,
                whale_for_rate=(w_for + _SMOOTH * prior) / (w_bin + _SMOOTH),
            ))
        return states

    def state(self, dao: str, at: float) -> tuple[int, JuryState | None]:
        """How many of the DAO's proposals with votes had closed before ``at``, and the state after them (None when
        there are none or the newest is older than ``max_age_days``)."""
        k = bisect.bisect_left(self._close_times.get(dao, []), at)
        if k == 0:
            return 0, None
        state = self._states[dao][k - 1]
        return k, state if at - state.closed_at <= self.max_age else None

    def jury_features(self, proposal: HistoryProposal) -> list[float]:
        """:data:`JURY_FEATURES` as of ``proposal``'s opening."""
        assert proposal.opened_at is not None
        _, state = self.state(proposal.dao, proposal.opened_at)
        if state is None:
            return [0.5, 0.0, 0.0]
        return [state.for_share, 1.0, math.log1p(state.electorate)]

    def voters_features(self, proposal: HistoryProposal) -> list[float]:
        """:data:`VOTERS_FEATURES` as of ``proposal``'s opening."""
        assert proposal.opened_at is not None
        k, state = self.state(proposal.dao, proposal.opened_at)
        if state is None:
            return [0.0, 0.0, 0.0, 0.0]
        agreement, views = 0.0, 0
        if proposal.author:
            earlier = [i for i in self._by_author.get((proposal.dao, proposal.author.lower()), []) if i < k]
            whales = set(state.whales)
            f = a = 0
            for i in earlier:
                for voter, choice, _ in self._voted[proposal.dao][i].votes:
                    if voter in whales:
                        f += choice == "for"
                        a += choice == "against"
            views = f + a
            rate = (f + 2 * _SMOOTH * state.whale_for_rate) / (views + 2 * _SMOOTH)
            agreement = rate - state.whale_for_rate
        return [math.log1p(state.turnout_vp), math.log1p(state.turnout_voters), agreement, math.log1p(views)]
