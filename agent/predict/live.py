"""Live forecast during voting: P(pass) and expected final shares from the tally so far.

At a moment inside a proposal's voting period only the votes cast before it are read. The model is a logistic
regression fitted on the same DAO's proposals that had *closed* before the predicted one opened, each seen at the
same elapsed share of its own voting period, on: the For share of For+Against so far, log voting power so far, log
of the expected final turnout (power so far / the DAO's median share of final power cast by then: its turnout
curve), and log voters so far. The expected shares are the current shares plus the DAO's median drift from that
moment to the end. With fewer than :data:`MIN_TRAIN` such proposals (or only one outcome among them) the forecast
falls back to "current shares are final" and says so in ``method``.

Evaluated walk-forward by ``concord eval live`` (:mod:`evals.live`); shown by ``concord forecast live`` and the
dashboard's proposal page (:func:`live_forecast_from_store`).
"""

from __future__ import annotations

import bisect
import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from agent.predict.records import canonical_choice
from ingest.core.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from ingest.core.domain import Proposal
    from ingest.core.store import Store

__all__ = ["MIN_TRAIN", "LiveFit", "LiveForecast", "LiveProposal", "fit_live", "forecast_live",
           "live_forecast_from_store"]

MIN_TRAIN = 15
_CLIP = 1e-3
_KEYS = ("for", "against", "other")


@dataclass(frozen=True)
class LiveProposal:
    id: str
    dao: str
    start: float
    end: float
    passed: int
    #: (time, canonical choice for/against/other, voting power), by time
    votes: list[tuple[float, str, float]]
    #: (voter, canonical choice, voting power), one per voter
    voters: tuple[tuple[str, str, float], ...] = ()

    def at(self, f: float) -> tuple[float, float, float, int]:
        """For, Against, other voting power and voter count cast before ``start + f * (end - start)``."""
        return self.before(self.start + f * (self.end - self.start))

    def before(self, moment: float) -> tuple[float, float, float, int]:
        """For, Against, other voting power and voter count cast before ``moment``."""
        n = bisect.bisect_left(self.votes, (moment, "", -math.inf))
        sums = {"for": 0.0, "against": 0.0, "other": 0.0}
        for _, choice, vp in self.votes[:n]:
            sums[choice] += vp
        return sums["for"], sums["against"], sums["other"], n

    def final(self) -> tuple[float, float, float, int]:
        return self.at(1.0 + 1e-9)


def share_for(for_: float, against: float) -> float:
    return for_ / (for_ + against) if for_ + against > 0 else 0.5


def shares(for_: float, against: float, other: float) -> dict[str, float]:
    total = for_ + against + other
    return {"for": for_ / total, "against": against / total, "other": other / total} if total > 0 else \
        {"for": 1 / 3, "against": 1 / 3, "other": 1 / 3}


def features(tally: tuple[float, float, float, int], curve: float) -> list[float]:
    for_, against, other, n = tally
    so_far = for_ + against + other
    return [share_for(for_, against), math.log1p(so_far), math.log1p(so_far / max(curve, 1e-3)), math.log1p(n)]


@dataclass
class LiveFit:
    """A fitted live model for one elapsed fraction: the classifier, the DAO's turnout curve and share drift."""

    model: Any
    curve: float
    drift: dict[str, float]
    n_train: int

    def predict(self, tally: tuple[float, float, float, int]) -> tuple[float, dict[str, float]]:
        """P(pass) and the expected final shares given the tally so far."""
        p = float(np.clip(self.model.predict_proba([features(tally, self.curve)])[0, 1], _CLIP, 1 - _CLIP))
        now = shares(*tally[:3])
        expected = {k: min(1.0, max(0.0, now[k] + self.drift[k])) for k in now}
        total = sum(expected.values()) or 1.0
        return p, {k: v / total for k, v in expected.items()}


def fit_live(past: list[LiveProposal], f: float, *, tallies: dict[tuple[str, float], Any] | None = None,
             finals: dict[str, Any] | None = None) -> LiveFit | None:
    """Fit on ``past`` (proposals already closed) seen at fraction ``f``; None when too few or one outcome only."""
    if len(past) < MIN_TRAIN or len({p.passed for p in past}) < 2:
        return None
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    final = [finals[p.id] if finals else p.final() for p in past]
    now_past = [tallies[(p.id, f)] if tallies else p.at(f) for p in past]
    curve = statistics.median(
        (sum(a[:3]) / sum(fin[:3])) if sum(fin[:3]) > 0 else 0.0 for a, fin in zip(now_past, final, strict=True))
    drift = {k: statistics.median(shares(*fin[:3])[k] - shares(*a[:3])[k] for a, fin in zip(now_past, final, strict=True))
             for k in _KEYS}
    X = np.asarray([features(a, curve) for a in now_past])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)).fit(X, [p.passed for p in past])
    return LiveFit(model, curve, drift, len(past))


@dataclass(frozen=True)
class LiveForecast:
    """The live forecast of one proposal at one moment."""

    proposal: str
    at: float
    elapsed: float
    votes_so_far: int
    current_shares: dict[str, float]
    p_pass: float
    expected_shares: dict[str, float]
    method: str
    n_train: int

    def as_dict(self) -> dict[str, Any]:
        return {"proposal": self.proposal, "at": datetime.fromtimestamp(self.at, UTC).isoformat(),
                "elapsed": self.elapsed, "votes_so_far": self.votes_so_far, "current_shares": self.current_shares,
                "p_pass": self.p_pass, "expected_shares": self.expected_shares, "method": self.method,
                "n_train": self.n_train}


def forecast_live(target: LiveProposal, past: list[LiveProposal], at: float) -> LiveForecast:
    """The live forecast of ``target`` at ``at``, fitted on the proposals of ``past`` that closed before it opened."""
    if not target.start <= at:
        raise InputError(f"Proposal {target.id}'s voting has not started at that moment: no live forecast before it.")
    elapsed = min(1.0, (at - target.start) / (target.end - target.start))
    tally = target.before(at)
    now = shares(*tally[:3])
    closed = [p for p in past if p.end < target.start and p.id != target.id]
    fit = fit_live(closed, elapsed) if elapsed < 1.0 else None
    if fit is None:
        method = "final tally" if elapsed >= 1.0 else \
            f"current shares are final (fewer than {MIN_TRAIN} earlier closed proposals with timed votes)"
        p = float(np.clip(share_for(tally[0], tally[1]), _CLIP, 1 - _CLIP))
        return LiveForecast(target.id, at, elapsed, tally[3], now, p, now, method, len(closed))
    p, expected = fit.predict(tally)
    return LiveForecast(target.id, at, elapsed, tally[3], now, p, expected,
                        "live model (tally so far, turnout curve)", fit.n_train)


def _ts(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _stored(proposal: Proposal, votes: list[Any]) -> LiveProposal | None:
    start, end = _ts(proposal.start), _ts(proposal.end)
    if start is None or end is None or end <= start:
        return None
    cast = sorted((t, canonical_choice(v.choice_label or ""), float(v.voting_power))
                  for v in votes if (t := _ts(v.created_at)) is not None)
    outcome = (proposal.outcome or "").lower()
    who = tuple(sorted((v.voter.lower(), canonical_choice(v.choice_label or ""), float(v.voting_power)) for v in votes))
    return LiveProposal(str(proposal.id), str(proposal.dao_id), start, end, int(outcome == "passed"), cast, who)


def live_forecast_from_store(store: Store, proposal_id: int, *, at: float | None = None) -> LiveForecast:
    """The live forecast of a stored proposal at ``at`` (default now) from its stored votes cast before then, with
    the model fitted on the DAO's stored proposals with timed votes and a pass/fail outcome that closed before it."""
    from sqlmodel import col, select

    from ingest.core.domain import Proposal, Vote

    with store.session() as session:
        target = session.get(Proposal, proposal_id)
        if target is None:
            raise NotFoundError(f"Unknown proposal {proposal_id}.")
        others = session.exec(select(Proposal).where(Proposal.dao_id == target.dao_id)).all()
        ids = [p.id for p in others if p.id is not None]
        votes: dict[int, list[Any]] = {}
        for v in session.exec(select(Vote).where(col(Vote.proposal_id).in_(ids))).all():
            votes.setdefault(v.proposal_id, []).append(v)
    live = _stored(target, votes.get(proposal_id, []))
    if live is None:
        raise InputError(f"Proposal {proposal_id} has no voting start and end stored: no live forecast.")
    past = []
    for p in others:
        if p.id == proposal_id or (p.outcome or "").lower() not in ("passed", "failed"):
            continue
        row = _stored(p, votes.get(int(p.id or 0), []))
        if row is not None and row.votes and {c for _, c, _ in row.votes} & {"for", "against"}:
            past.append(row)
    moment = at if at is not None else datetime.now(UTC).timestamp()
    return forecast_live(live, past, moment)
