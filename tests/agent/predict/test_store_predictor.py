"""The store's predictor runs what measured best walk-forward: one model pooled across the stored DAOs, its
calibration and recency weighting chosen walk-forward on earlier proposals only (never one still open), and
``concord forecast commit`` commits the same prediction the reports show."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlmodel import select

from agent.predict.pooled import POOLED_MODEL_NAME, PooledPrediction, load_store_all, predict_pooled
from agent.predict.predictor import StorePredictor
from agent.predict.records import DAY, GovData, HistoryProposal
from agent.predict.selection import choose_config
from agent.predict.service import MODEL_NAME, predict_proposal
from agent.predict.walkforward import DAO_CALIBRATION_CANDIDATES
from governance.forecasts import commit_forecast
from ingest.core.domain import Dao, Proposal
from ingest.core.store import Store

KEY = "0x" + "22" * 32
T0 = 1_600_000_000.0
CONFIG_NAMES = {f"{c}/{'equal' if h is None else f'{h:g}d'}" for c, h in DAO_CALIBRATION_CANDIDATES}


def _seasoned_arbitrum_proposal(store: Store, own_at_least: int = 40) -> Proposal:
    """The first Arbitrum proposal with a voting start whose DAO alone had ``own_at_least`` closed proposals."""
    with store.session() as session:
        dao = session.exec(select(Dao).where(Dao.slug == "arbitrum")).one()
        rows = session.exec(select(Proposal).where(Proposal.dao_id == dao.id)).all()
    closed = sorted(p.end for p in rows if p.outcome in ("passed", "failed") and p.end is not None)
    for p in sorted((p for p in rows if p.start is not None), key=lambda p: p.start):  # type: ignore[arg-type, return-value]
        if sum(1 for end in closed if end < p.start) >= own_at_least:  # type: ignore[operator]
            return p
    raise AssertionError("the sample has no Arbitrum proposal with enough history")


def test_the_store_predictor_pools_every_dao_even_where_the_dao_could_train_its_own(sample_store: Store) -> None:
    proposal = _seasoned_arbitrum_proposal(sample_store)
    got = StorePredictor(sample_store, bootstrap=0).prediction(proposal)
    assert isinstance(got, PooledPrediction) and got.method == "pooled"
    assert got.model_id.startswith(POOLED_MODEL_NAME + ":")
    assert set(got.trained_by_dao) == {"arbitrum", "compound"} and got.own_n >= 40
    assert got.n_train == sum(got.trained_by_dao.values())
    assert got.config in CONFIG_NAMES
    data = load_store_all(sample_store)
    target = next(p for p in data.proposals if p.id == str(proposal.id))
    direct = predict_pooled(data, target, bootstrap=0)
    assert direct is not None and got.p_pass == pytest.approx(direct.p_pass, rel=1e-12)
    # not the per-DAO model it used to run
    own = predict_proposal(sample_store, proposal, bootstrap=0)
    assert own.model_id.startswith(MODEL_NAME + ":") and own.n_train < got.n_train
    assert own.p_pass != pytest.approx(got.p_pass, abs=1e-9)


def test_forecast_commit_signs_the_pooled_prediction(sample_store: Store) -> None:
    proposal = _seasoned_arbitrum_proposal(sample_store)
    assert proposal.start is not None
    record = commit_forecast(sample_store, proposal, key=KEY, now=proposal.start - timedelta(hours=1))
    assert record.body["model_id"].startswith(POOLED_MODEL_NAME + ":")
    expected = StorePredictor(sample_store).prediction(proposal)
    assert record.body["p_pass"] == round(expected.p_pass, 4)


def _proposals(n: int = 80) -> list[HistoryProposal]:
    """Two DAOs, one proposal a day, each voting two days; long bodies usually pass."""
    out = []
    for i in range(n):
        opened = T0 + i * DAY
        long = i % 2 == 1
        passes = long != (i % 9 == 0)
        out.append(HistoryProposal(id=f"p{i}", dao=("x", "y")[i % 4 // 2], title=f"proposal {i}", body="text " * (40 if long else 2),
                                   author=f"u{i % 7}", opened_at=opened, closed_at=opened + 2 * DAY, outcome=passes,
                                   status="passed" if passes else "failed"))
    return out


def _features(proposals: list[HistoryProposal]) -> dict[str, list[float]]:
    from agent.predict.features import FeatureBuilder

    builder = FeatureBuilder(GovData(proposals=proposals))
    return {p.id: builder.vector(p) for p in proposals}


def test_selection_scores_each_candidate_out_of_sample_and_picks_the_lowest_log_loss() -> None:
    from agent.predict.metrics import log_loss
    from agent.predict.model import OutcomeModel

    proposals = _proposals()
    at = float(proposals[-1].opened_at)  # type: ignore[arg-type]
    train = sorted((p for p in proposals if p.closed_at < at), key=lambda p: (p.closed_at, p.id))  # type: ignore[operator]
    features = _features(proposals)
    configs = (("platt", None), ("platt_group", 30.0))
    chosen, resolved = choose_config(train, features, at, configs, window=32, refit_every=1)
    assert len(resolved) >= 30 and all(r[0] < at for r in resolved)
    losses = [log_loss([r[2][i] for r in resolved], [r[1] for r in resolved]) for i in range(len(configs))]
    assert chosen == min(range(len(configs)), key=lambda i: (losses[i], i))
    # the newest scored proposal was predicted by models fitted only on proposals closed before it opened
    last = max(train, key=lambda p: (p.opened_at, p.id))
    earlier = [p for p in train if p.closed_at < last.opened_at]  # type: ignore[operator]
    for i, (calibration, half_life) in enumerate(configs):
        model = OutcomeModel(calibration=calibration, half_life_days=half_life)  # type: ignore[arg-type]
        assert model.fit([features[p.id] for p in earlier], [int(bool(p.outcome)) for p in earlier],
                         times=[float(p.closed_at) for p in earlier], groups=[p.dao for p in earlier])  # type: ignore[arg-type]
        assert resolved[-1][2][i] == pytest.approx(float(model.predict([features[last.id]], [last.dao])[0]), rel=1e-9)
    # outcomes known only after ``at`` change nothing
    late = [dataclasses.replace(p, outcome=not p.outcome) if p.closed_at >= at else p for p in proposals]  # type: ignore[operator]
    assert choose_config(train, _features(late), at, configs, window=32, refit_every=1) == (chosen, resolved)
    with pytest.raises(ValueError, match="closed before the target opened"):
        choose_config([*train, proposals[-1]], features, at, configs)
