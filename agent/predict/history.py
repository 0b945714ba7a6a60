"""What was known about past proposals at a given moment: only proposals that had *closed* before it count."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from agent.predict.records import HistoryProposal, canonical_shares

__all__ = ["History", "Rate"]


@dataclass(frozen=True)
class Rate:
    """Passes out of ``n`` closed proposals; ``smoothed`` is the Laplace estimate (passes + 1) / (n + 2)."""

    passes: int
    n: int

    @property
    def smoothed(self) -> float:
        return (self.passes + 1.0) / (self.n + 2.0)


class History:
    """An index of labelled proposals by close time, per DAO, per (DAO, kind) and per (DAO, proposer).

    Every query takes ``at`` (a unix time) and looks only at proposals with ``closed_at < at``: the caller
    cannot see a proposal that was still open at that moment, nor the proposal being predicted itself.
    """

    def __init__(self, proposals: Sequence[HistoryProposal]) -> None:
        labelled = sorted((p for p in proposals if p.has_label), key=lambda p: (p.closed_at, p.id))
        self._by_dao: dict[str, list[HistoryProposal]] = defaultdict(list)
        self._by_kind: dict[tuple[str, str], list[HistoryProposal]] = defaultdict(list)
        self._by_author: dict[tuple[str, str], list[HistoryProposal]] = defaultdict(list)
        self._opened: dict[str, list[float]] = defaultdict(list)
        for p in labelled:
            self._by_dao[p.dao].append(p)
            self._by_kind[(p.dao, p.kind)].append(p)
            if p.author:
                self._by_author[(p.dao, p.author)].append(p)
        for p in proposals:  # opening times of all proposals are public when they happen, labelled or not
            if p.opened_at is not None:
                self._opened[p.dao].append(p.opened_at)
        for times in self._opened.values():
            times.sort()
        #: canonical vote shares of every labelled proposal (None without per-choice scores), computed once
        self.shares: dict[str, dict[str, float] | None] = {p.id: canonical_shares(p.choices, p.scores) for p in labelled}
        self._closed_times = {k: [p.closed_at for p in v] for k, v in self._by_dao.items()}
        self._with_shares = {k: [p for p in v if self.shares[p.id]] for k, v in self._by_dao.items()}
        self._with_shares_times = {k: [p.closed_at for p in v] for k, v in self._with_shares.items()}
        self._author_with_shares = {k: [p for p in v if self.shares[p.id]] for k, v in self._by_author.items()}
        self._author_with_shares_times = {k: [p.closed_at for p in v] for k, v in self._author_with_shares.items()}
        self._share_sums = {k: self._prefix(v) for k, v in self._by_dao.items()}
        self._author_share_sums = {k: self._prefix(v) for k, v in self._by_author.items()}
        self._kind_times = {k: [p.closed_at for p in v] for k, v in self._by_kind.items()}
        self._author_times = {k: [p.closed_at for p in v] for k, v in self._by_author.items()}

    def _prefix(self, items: list[HistoryProposal]) -> list[tuple[float, float, float, int]]:
        """Running sums of (for, against, other, count) of canonical vote shares, one entry per item plus a zero."""
        sums = [(0.0, 0.0, 0.0, 0)]
        for p in items:
            f, a, o, n = sums[-1]
            s = self.shares[p.id]
            sums.append((f + s["for"], a + s["against"], o + s["other"], n + 1) if s else (f, a, o, n))
        return sums

    @staticmethod
    def _before(items: list[HistoryProposal], times: list[float], at: float) -> list[HistoryProposal]:
        return items[: bisect.bisect_left(times, at)]

    def closed_before(self, dao: str, at: float) -> list[HistoryProposal]:
        """The DAO's labelled proposals that had closed strictly before ``at``, oldest first."""
        return self._before(self._by_dao.get(dao, []), self._closed_times.get(dao, []), at)

    def dao_rate(self, dao: str, at: float, *, last: int | None = None) -> Rate:
        """The DAO's pass rate over all (or the ``last`` N) proposals closed before ``at``."""
        past = self.closed_before(dao, at)
        if last is not None:
            past = past[-last:]
        return Rate(sum(1 for p in past if p.outcome), len(past))

    def kind_rate(self, dao: str, kind: str, at: float) -> Rate:
        """Pass rate of the DAO's proposals of the same kind (Decentraland: poll, grant, ...) closed before ``at``."""
        key = (dao, kind)
        past = self._before(self._by_kind.get(key, []), self._kind_times.get(key, []), at)
        return Rate(sum(1 for p in past if p.outcome), len(past))

    def proposer_rate(self, dao: str, author: str | None, at: float) -> Rate:
        """The proposer's own pass record in this DAO before ``at`` (n = 0 when unknown or new)."""
        if not author:
            return Rate(0, 0)
        key = (dao, author)
        past = self._before(self._by_author.get(key, []), self._author_times.get(key, []), at)
        return Rate(sum(1 for p in past if p.outcome), len(past))

    def opened_between(self, dao: str, start: float, end: float) -> int:
        """How many of the DAO's proposals opened in ``[start, end)`` (activity, public at ``end``)."""
        times = self._opened.get(dao, [])
        return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)

    def mean_shares(self, dao: str, at: float, *, last: int | None = None, author: str | None = None) -> dict[str, float] | None:
        """Mean canonical vote shares of the DAO's (or the proposer's) last ``last`` (or all) proposals closed before ``at``."""
        if author is not None:
            key = (dao, author)
            end = bisect.bisect_left(self._author_times.get(key, []), at)
            sums = self._author_share_sums.get(key)
        else:
            end = bisect.bisect_left(self._closed_times.get(dao, []), at)
            sums = self._share_sums.get(dao)
        if not sums:
            return None
        start = max(0, end - last) if last is not None else 0
        f1, a1, o1, n1 = sums[end]
        f0, a0, o0, n0 = sums[start]
        n = n1 - n0
        if n == 0:
            return None
        return {"for": (f1 - f0) / n, "against": (a1 - a0) / n, "other": (o1 - o0) / n}

    def with_shares_before(
        self, dao: str, at: float, *, author: str | None = None, last: int | None = None
    ) -> list[HistoryProposal]:
        """The DAO's (or the proposer's) proposals with per-choice scores that closed strictly before ``at``, oldest
        closed first, the ``last`` N of them when given. Their shares are in :attr:`shares`."""
        if author is not None:
            key = (dao, author)
            items, times = self._author_with_shares.get(key, []), self._author_with_shares_times.get(key, [])
        else:
            items, times = self._with_shares.get(dao, []), self._with_shares_times.get(dao, [])
        past = self._before(items, times, at)
        return past[max(0, len(past) - last) :] if last is not None else past

    def with_shares_by_close(self) -> list[HistoryProposal]:
        """Every labelled proposal with per-choice scores, in order of close time (then id)."""
        return sorted((p for v in self._with_shares.values() for p in v), key=lambda p: (p.closed_at, p.id))
