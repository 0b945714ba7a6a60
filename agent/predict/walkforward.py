"""Walk-forward evaluation: each proposal is predicted by a model trained only on proposals that had closed
before it opened, next to three baselines measured on the same proposals.

The model is refitted whenever ``refit_every`` more proposals have closed since the last fit (and at the first
scored proposal). A fit made at time T uses only proposals with ``closed_at < T`` and serves proposals opened at
or after T, so no model ever sees a proposal that was still open when the one it predicts opened.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.predict.features import FeatureBuilder
from agent.predict.metrics import score_all
from agent.predict.model import OutcomeModel, ShareModel
from agent.predict.records import GovData, ProposalRecord, canonical_shares
from agent.stance.base import StanceClassifier

__all__ = ["ScoredRow", "WalkForwardResult", "walk_forward"]

BASELINES = ("base_rate", "recent_rate", "proposer_history")


@dataclass(frozen=True)
class ScoredRow:
    """One scored proposal: outcome, each predictor's probability and vote shares, and the model's training size."""

    id: str
    dao: str
    opened_at: float
    outcome: int
    p: dict[str, float]
    shares: dict[str, dict[str, float] | None]
    actual_shares: dict[str, float] | None
    n_train: int
    trained_until: float | None
    #: linked posts written before the proposal opened (what the discussion features saw)
    discussion_posts: int = 0


@dataclass
class WalkForwardResult:
    rows: list[ScoredRow] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    history_only: int = 0
    refits: int = 0
    fallbacks: int = 0
    notes: list[str] = field(default_factory=list)
    #: how posts were linked (from the loader) plus proposals with pre-vote posts; see :meth:`summary`
    discussion: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The issue's JSON object: n, model metrics, baseline metrics, plus skip counts and run details."""
        y = [r.outcome for r in self.rows]
        actual = [r.actual_shares for r in self.rows]

        def block(name: str) -> dict[str, float | None]:
            return score_all([r.p[name] for r in self.rows], y, [r.shares[name] for r in self.rows], actual)

        per_dao = {dao: _subset([r for r in self.rows if r.dao == dao]) for dao in sorted({r.dao for r in self.rows})}
        with_talk = [r for r in self.rows if r.discussion_posts > 0]
        discussion = dict(self.discussion)
        discussion["scored_with_pre_vote_posts"] = len(with_talk)
        discussion["scored_with_5_pre_vote_posts"] = sum(1 for r in with_talk if r.discussion_posts >= 5)
        return {
            "n": len(self.rows),
            "model": block("model"),
            "baselines": {name: block(name) for name in BASELINES},
            "skipped": dict(sorted(self.skipped.items())),
            "n_skipped": sum(self.skipped.values()),
            "n_history_only": self.history_only,
            "n_with_vote_shares": sum(1 for a in actual if a is not None),
            "refits": self.refits,
            "model_fallbacks_to_base_rate": self.fallbacks,
            "per_dao": per_dao,
            "discussion": discussion,
            "with_discussion": {**_subset(with_talk), "daos": sorted({r.dao for r in with_talk})},
            "notes": self.notes,
        }


def _subset(rows: list[ScoredRow]) -> dict[str, Any]:
    """n, pass rate and every predictor's metrics over ``rows`` (metrics None when ``rows`` is empty)."""
    ys = [r.outcome for r in rows]
    return {
        "n": len(rows),
        "pass_rate": sum(ys) / len(ys) if ys else None,
        **{
            name: score_all([r.p[name] for r in rows], ys, [r.shares[name] for r in rows], [r.actual_shares for r in rows])
            for name in ("model", *BASELINES)
        },
    }


def walk_forward(
    data: GovData,
    *,
    since: float | None = None,
    refit_every: int = 25,
    calibration: str = "platt",
    stance: StanceClassifier | None = None,
) -> WalkForwardResult:
    """Run the walk-forward evaluation over ``data``; proposals opened before ``since`` are history only."""
    result = WalkForwardResult(notes=list(data.notes))
    labelled: list[ProposalRecord] = []
    for p in data.proposals:
        if p.has_label:
            labelled.append(p)
        else:
            result.skipped[p.status if p.status != "passed" and p.status != "failed" else "no-time"] += 1
    builder = FeatureBuilder(data, stance=stance)
    by_close = sorted(labelled, key=lambda p: (p.closed_at, p.id))
    close_times = [p.closed_at for p in by_close]
    features = {p.id: builder.vector(p) for p in labelled}
    talk = {p.id: len(builder.pre_vote_posts(p)) for p in labelled}
    result.discussion = {
        "posts": dict(data.post_stats),
        "proposals_with_linked_posts": sum(1 for p in data.proposals if data.posts_by_proposal.get(p.id)),
        "labelled_with_pre_vote_posts": sum(1 for n in talk.values() if n >= 1),
        "labelled_with_5_pre_vote_posts": sum(1 for n in talk.values() if n >= 5),
        "stance_texts_classified": builder.stance_calls,
    }
    targets = sorted(labelled, key=lambda p: (p.opened_at, p.id))
    if since is not None:
        result.history_only = sum(1 for p in targets if p.opened_at < since)  # type: ignore[operator]
        targets = [p for p in targets if p.opened_at >= since]  # type: ignore[operator]
    h = builder.history
    model = OutcomeModel(calibration=calibration)  # type: ignore[arg-type]
    shares_model = ShareModel()
    fitted_count = -1
    fitted_at: float | None = None
    for target in targets:
        at = target.opened_at
        assert at is not None
        available = bisect.bisect_left(close_times, at)
        if fitted_count < 0 or available - fitted_count >= refit_every:
            train = by_close[:available]
            ok = model.fit([features[p.id] for p in train], [int(bool(p.outcome)) for p in train])
            if not ok:
                model = OutcomeModel(calibration=calibration)  # type: ignore[arg-type]
            with_shares = [(p, canonical_shares(p.choices, p.scores)) for p in train]
            with_shares = [(p, s) for p, s in with_shares if s is not None]
            shares_model = ShareModel()
            shares_model.fit([features[p.id] for p, _ in with_shares], [s for _, s in with_shares])
            fitted_count, fitted_at = available, at
            result.refits += 1
        # the leakage guard, checked on every prediction: the model's newest example closed before this opened
        assert fitted_at is not None and fitted_at <= at
        assert all(p.closed_at < at for p in by_close[:fitted_count])  # type: ignore[operator]
        x = features[target.id]
        base = h.dao_rate(target.dao, at)
        recent = h.dao_rate(target.dao, at, last=50)
        mine = h.proposer_rate(target.dao, target.author, at)
        p_proposer = mine.smoothed if mine.n else base.smoothed
        dao_shares = h.mean_shares(target.dao, at)
        if model.fitted:
            p_model = float(model.predict([x])[0])
            n_train = model.n_train
        else:
            p_model, n_train = base.smoothed, 0
            result.fallbacks += 1
        actual = canonical_shares(target.choices, target.scores)
        shares: dict[str, dict[str, float] | None] = {
            "model": (shares_model.predict([x])[0] if shares_model.fitted else dao_shares) if actual else None,
            "base_rate": dao_shares if actual else None,
            "recent_rate": h.mean_shares(target.dao, at, last=50) if actual else None,
            "proposer_history": (h.mean_shares(target.dao, at, author=target.author) or dao_shares)
            if actual and target.author
            else (dao_shares if actual else None),
        }
        result.rows.append(
            ScoredRow(
                id=target.id,
                dao=target.dao,
                opened_at=at,
                outcome=int(bool(target.outcome)),
                p={"model": p_model, "base_rate": base.smoothed, "recent_rate": recent.smoothed, "proposer_history": p_proposer},
                shares=shares,
                actual_shares=actual,
                n_train=n_train,
                trained_until=fitted_at,
                discussion_posts=talk[target.id],
            )
        )
    return result
