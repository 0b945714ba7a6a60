"""No look-ahead, checked where a mistake would hide it: every walk-forward row against a model fitted by hand on
exactly the proposals closed before it opened, and the live predictor (what a report and the dashboard show for a
past proposal) against labels that were not yet known when the proposal opened."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from agent.predict.features import FeatureBuilder
from agent.predict.loader import load_directory
from agent.predict.model import OutcomeModel
from agent.predict.records import GovData
from agent.predict.service import predict_proposal, predict_record
from agent.predict.walkforward import walk_forward
from ingest.core.domain import Dao, Proposal
from ingest.core.store import Store
from tests.agent.predict.conftest import DAY, T0, synthetic_proposals

DEMO = "0x66b953a7cf4de9f6de54e6eb87ae291b5cc62f12c7fed68eba91043607883221"


def test_each_walk_forward_row_equals_a_model_fitted_on_exactly_what_had_closed(make_dir: Callable[..., Path]) -> None:
    """Rule: a row's model is trained on the proposals with ``closed_at < opened_at`` of that row, no more, no fewer
    (a look-ahead of even one proposal gives a different training set and a different probability)."""
    data = load_directory(make_dir(synthetic_proposals(70)))
    result = walk_forward(data, since=T0 + 120 * DAY, refit_every=1)
    builder = FeatureBuilder(data)
    labelled = sorted((p for p in data.proposals if p.has_label), key=lambda p: (p.closed_at, p.id))
    checked = 0
    for row in result.rows:
        train = [p for p in labelled if p.closed_at < row.opened_at]  # type: ignore[operator]
        assert row.n_train == len(train), row.id
        model = OutcomeModel()
        assert model.fit([builder.vector(p) for p in train], [int(bool(p.outcome)) for p in train])
        target = next(p for p in data.proposals if p.id == row.id)
        assert row.p["model"] == pytest.approx(float(model.predict([builder.vector(target)])[0]), rel=1e-9), row.id
        checked += 1
    assert checked >= 20


def test_walk_forward_row_ignores_labels_known_only_after_it_opened(make_dir: Callable[..., Path]) -> None:
    """Refitted at the row itself, the prediction for p60 must not move when every later-closing outcome flips."""
    opened = T0 + 60 * 3 * DAY
    plain = walk_forward(load_directory(make_dir(synthetic_proposals(80))), since=opened, refit_every=1)
    flipped = walk_forward(load_directory(make_dir(synthetic_proposals(80, flip_from=opened))), since=opened, refit_every=1)
    a = next(r for r in plain.rows if r.id == "p60")
    b = next(r for r in flipped.rows if r.id == "p60")
    assert a.trained_until == opened and a.n_train > 0
    assert a.p["model"] == pytest.approx(b.p["model"], rel=1e-12)


def _flip_after(data: GovData, at: float) -> GovData:
    """The same data with every outcome that was only known at or after ``at`` reversed."""
    flipped = [
        dataclasses.replace(p, outcome=not p.outcome) if p.has_label and p.closed_at >= at else p  # type: ignore[operator]
        for p in data.proposals
    ]
    return dataclasses.replace(data, proposals=flipped)


def test_live_prediction_trains_only_on_proposals_closed_before_the_target_opened(make_dir: Callable[..., Path]) -> None:
    data = load_directory(make_dir(synthetic_proposals(90)))
    target = next(p for p in data.proposals if p.id == "p40")
    closed_before = sum(1 for p in data.proposals if p.has_label and p.closed_at < target.opened_at)  # type: ignore[operator]
    plain = predict_record(data, target, bootstrap=0)
    assert plain.method == "model" and plain.n_train == closed_before == 39  # p0..p38 end (day 3i+5) before p40 opens (day 120)
    flipped = predict_record(_flip_after(data, target.opened_at), target, bootstrap=0)  # type: ignore[arg-type]
    assert flipped.p_pass == pytest.approx(plain.p_pass, rel=1e-12)
    assert flipped.model_id == plain.model_id


def test_demo_report_prediction_uses_only_arbitrum_history_closed_before_it(sample_store: Store) -> None:
    """The demo proposal (Arbitrum, Rarible) is predicted from its DAO's closed proposals, and rewriting every
    outcome of a proposal that ended after it opened changes nothing."""
    proposal = sample_store.get_proposal(DEMO, dao_slug="arbitrum")
    assert proposal.start is not None
    with sample_store.session() as session:
        dao = session.exec(select(Dao).where(Dao.slug == "arbitrum")).one()
        rows = session.exec(select(Proposal).where(Proposal.dao_id == dao.id)).all()
        known = [p for p in rows if p.outcome in ("passed", "failed") and p.end is not None and p.end < proposal.start]
    before = predict_proposal(sample_store, proposal, bootstrap=0)
    assert before.n_train == len(known) > 0
    with sample_store.session() as session:
        for p in session.exec(select(Proposal).where(Proposal.dao_id == dao.id)).all():
            if p.outcome in ("passed", "failed") and p.end is not None and p.end >= proposal.start:
                p.outcome = "failed" if p.outcome == "passed" else "passed"
                session.add(p)
        session.commit()
    after = predict_proposal(sample_store, sample_store.get_proposal(DEMO, dao_slug="arbitrum"), bootstrap=0)
    assert (after.p_pass, after.n_train) == (before.p_pass, before.n_train)
