"""Walk-forward evaluation: each proposal is predicted by a model trained only on proposals that had closed
before it opened, next to three baselines measured on the same proposals.

The model is refitted whenever ``refit_every`` more proposals have closed since the last fit (and at the first
scored proposal). A fit made at time T uses only proposals with ``closed_at < T`` and serves proposals opened at
or after T, so no model ever sees a proposal that was still open when the one it predicts opened. The model's vote
shares come from :class:`agent.predict.shares.ShareForecaster`, which follows the same rule.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from threadpoolctl import threadpool_limits

from agent.predict.features import FeatureBuilder, FeatureProbe
from agent.predict.metrics import score_all, share_mae
from agent.predict.model import OutcomeModel
from agent.predict.records import GovData, HistoryProposal
from agent.predict.shares import CANDIDATES, ShareForecaster
from agent.stance.base import StanceClassifier

__all__ = ["DAO_CALIBRATION_CANDIDATES", "ScoredRow", "WalkForwardResult", "choose_by_log_loss", "walk_forward"]

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
    #: which vote-share estimate the model used (see :mod:`agent.predict.shares`) and every estimate it made
    share_method: str | None = None
    share_candidates: dict[str, dict[str, float]] | None = None
    #: per-choice final scores exist (``actual_shares`` is None when none of the choices is a For or Against)
    per_choice_scores: bool = False


@dataclass
class WalkForwardResult:
    rows: list[ScoredRow] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    history_only: int = 0
    refits: int = 0
    share_refits: int = 0
    fallbacks: int = 0
    notes: list[str] = field(default_factory=list)
    #: how posts were linked (from the loader) plus proposals with pre-vote posts; see :meth:`summary`
    discussion: dict[str, Any] = field(default_factory=dict)
    #: how often each (calibration / recency half-life) configuration made the model's prediction
    chosen: Counter[str] = field(default_factory=Counter)

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
            "n_per_choice_without_for_against": sum(1 for r in self.rows if r.per_choice_scores and r.actual_shares is None),
            "refits": self.refits,
            "vote_share": self._vote_share_summary(),
            "model_fallbacks_to_base_rate": self.fallbacks,
            "per_dao": per_dao,
            "discussion": discussion,
            "with_discussion": {**_subset(with_talk), "daos": sorted({r.dao for r in with_talk})},
            "notes": self.notes,
            "configs_chosen": dict(sorted(self.chosen.items())),
        }

    def _vote_share_summary(self) -> dict[str, Any]:
        """How the model's vote shares were made: proposals scored, estimate chosen, and each estimate's own MAE."""
        rows = [r for r in self.rows if r.actual_shares is not None and r.share_candidates is not None]
        actual = [r.actual_shares for r in rows]
        return {
            "n_scored": len(rows),
            "methods": dict(sorted(Counter(r.share_method for r in rows if r.share_method).items())),
            "estimates_mae": {
                name: share_mae([r.share_candidates[name] for r in rows], actual)  # type: ignore[index]
                for name in CANDIDATES
            },
            "pooled_refits": self.share_refits,
        }


def _subset(rows: list[ScoredRow]) -> dict[str, Any]:
    """n, pass rate and every predictor's metrics over ``rows`` (metrics None when ``rows`` is empty)."""
    ys = [r.outcome for r in rows]
    return {
        "n": len(rows),
        "pass_rate": sum(ys) / len(ys) if ys else None,
        "n_vote_shares": sum(1 for r in rows if r.actual_shares is not None and r.shares["model"] is not None),
        **{
            name: score_all([r.p[name] for r in rows], ys, [r.shares[name] for r in rows], [r.actual_shares for r in rows])
            for name in ("model", *BASELINES)
        },
    }


#: (calibration, recency half-life in days or None) tried by ``select=True``
CANDIDATES_CONFIGS: tuple[tuple[str, float | None], ...] = (
    ("platt", None), ("platt", 365.0), ("platt", 180.0), ("isotonic", None), ("isotonic", 365.0),
)
#: per-DAO (``platt_group``) or common sigmoids, with equal weights or recency half-lives of 365/180 days: the
#: candidates the store's predictor chooses among (:mod:`agent.predict.selection`)
DAO_CALIBRATION_CANDIDATES: tuple[tuple[str, float | None], ...] = (
    ("platt_group", None), ("platt_group", 365.0), ("platt_group", 180.0), ("platt", None), ("platt", 365.0),
)
#: how many of the latest already-resolved predictions the walk-forward selection compares configurations on
SELECTION_WINDOW = 200
SELECTION_MIN = 30


def walk_forward(
    data: GovData,
    *,
    since: float | None = None,
    refit_every: int = 25,
    calibration: str = "platt",
    stance: StanceClassifier | None = None,
    families: tuple[str, ...] = (),
    embed: Any = None,
    select: bool = False,
    learner: str = "logistic",
    candidates: tuple[tuple[str, float | None], ...] | None = None,
    per_dao: bool = False,
    probe: FeatureProbe | None = None,
) -> WalkForwardResult:
    """Run the walk-forward evaluation over ``data``; proposals opened before ``since`` are history only.

    ``families`` switches on feature families beyond history (:data:`agent.predict.features.FAMILIES`; ``text``
    needs ``embed``). With ``select``, every configuration in :data:`CANDIDATES_CONFIGS` (calibration and recency
    weighting) is refitted side by side and each proposal gets the one with the lowest log loss on the latest
    :data:`SELECTION_WINDOW` earlier predictions whose outcomes were already known when it opened. ``learner``
    is the outcome model's learner (:class:`agent.predict.model.OutcomeModel`); ``candidates`` replaces
    :data:`CANDIDATES_CONFIGS` for ``select``. With ``per_dao`` each DAO gets its own model fitted on its own
    proposals only (what the store's predictor did before it was pooled), instead of one model pooled over all DAOs.
    ``probe`` appends an evaluation's candidate features (:class:`agent.predict.features.FeatureProbe`).
    """
    result = WalkForwardResult(notes=list(data.notes))
    labelled: list[HistoryProposal] = []
    for p in data.proposals:
        if p.has_label:
            labelled.append(p)
        else:
            result.skipped[p.status if p.status != "passed" and p.status != "failed" else "no-time"] += 1
    builder = FeatureBuilder(data, stance=stance, families=families, embed=embed, probe=probe)
    by_close = sorted(labelled, key=lambda p: (p.closed_at, p.id))
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
    import sklearn.linear_model  # noqa: F401  (loads the BLAS/OpenMP libraries first: only loaded ones get limited)

    # The models are small: one thread each is as fast, and on a shared machine their default thread pools
    # oversubscribe the cores (a run took 3-4 times longer). Feature building (stance embeddings) keeps its threads.
    with threadpool_limits(limits=1):
        configs = (candidates or CANDIDATES_CONFIGS) if select else ((calibration, None),)
        _fit_and_score(result, builder, features, by_close, targets, refit_every=refit_every, configs=configs,
                       learner=learner, per_dao=per_dao)
    return result


def _fit_and_score(
    result: WalkForwardResult,
    builder: FeatureBuilder,
    features: dict[str, list[float]],
    by_close: list[HistoryProposal],
    targets: list[HistoryProposal],
    *,
    refit_every: int,
    configs: tuple[tuple[str, float | None], ...],
    learner: str = "logistic",
    per_dao: bool = False,
) -> None:
    """Predict every target with models refitted on proposals closed before it opened; rows go into ``result``."""
    close_times = [p.closed_at for p in by_close]
    h = builder.history
    forecaster = ShareForecaster(h, features, refit_every=refit_every)
    share_predictions = forecaster.predict(p for p in targets if h.shares.get(p.id))
    result.share_refits = forecaster.refits
    def fresh() -> list[OutcomeModel]:
        return [OutcomeModel(calibration=c, half_life_days=h, learner=learner) for c, h in configs]  # type: ignore[arg-type]

    # one model set per DAO with ``per_dao``, else one pooled set (key ""): (models, fitted prefix, fitted at)
    state: dict[str, tuple[list[OutcomeModel], int, float | None]] = {}
    resolved_by: dict[str, list[tuple[float, int, list[float]]]] = {}  # (close time, outcome, each config's p)
    for target in targets:
        at = target.opened_at
        assert at is not None
        key = target.dao if per_dao else ""
        models, fitted_count, fitted_at = state.get(key, ([], -1, None))
        resolved = resolved_by.setdefault(key, [])
        available = bisect.bisect_left(close_times, at)
        if fitted_count < 0 or available - fitted_count >= refit_every:
            train = [p for p in by_close[:available] if not per_dao or p.dao == target.dao]
            X, y = [features[p.id] for p in train], [int(bool(p.outcome)) for p in train]
            times = [float(p.closed_at) for p in train]  # type: ignore[arg-type]
            models = fresh()
            for candidate in models:
                candidate.fit(X, y, times=times, groups=[p.dao for p in train])
            fitted_count, fitted_at = available, at
            state[key] = (models, fitted_count, fitted_at)
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
        model = models[0]
        if model.fitted:
            ps = [float(m.predict([x], [target.dao])[0]) for m in models]
            chosen = choose_by_log_loss(resolved, at) if len(models) > 1 else 0
            p_model, n_train = ps[chosen], model.n_train
            result.chosen[f"{configs[chosen][0]}/{configs[chosen][1] or 'equal'}"] += 1
            resolved.append((float(target.closed_at), int(bool(target.outcome)), ps))  # type: ignore[arg-type]
        else:
            p_model, n_train = base.smoothed, 0
            result.fallbacks += 1
        actual = h.shares.get(target.id)
        share_pred = share_predictions.get(target.id) if actual else None
        shares: dict[str, dict[str, float] | None] = {
            "model": share_pred.shares if share_pred else None,
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
                discussion_posts=len(builder.pre_vote_posts(target)),
                share_method=share_pred.method if share_pred else None,
                share_candidates=share_pred.candidates if share_pred else None,
                per_choice_scores=bool(target.choices and target.scores and len(target.choices) == len(target.scores)),
            )
        )


def choose_by_log_loss(resolved: list[tuple[float, int, list[float]]], at: float) -> int:
    """The configuration with the lowest log loss on the latest earlier predictions already resolved at ``at``."""
    import math

    known = [r for r in resolved if r[0] < at][-SELECTION_WINDOW:]
    if len(known) < SELECTION_MIN:
        return 0
    losses = [
        -sum(math.log(p[i] if y else 1.0 - p[i]) for _, y, p in known) / len(known)
        for i in range(len(known[0][2]))
    ]
    return min(range(len(losses)), key=lambda i: (losses[i], i))
