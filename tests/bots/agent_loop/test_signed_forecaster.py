"""The agent's production forecaster is governance.forecasts: signed, stored once, audited with checkpoints, scored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eth_account import Account
from sqlmodel import select

from agent.predict.service import Prediction
from bots.agent_loop.forecast import SignedForecaster
from governance import audit
from governance.audit_checkpoints import Checkpointer
from governance.errors import GovernanceRefusal
from governance.forecasts import track_record, verify_forecast
from ingest.core.domain import ForecastRecord, Proposal
from ingest.core.store import Store

KEY = "0x" + "22" * 32
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _predict(store: Store, proposal: Proposal) -> Prediction:
    return Prediction(p_pass=0.8, low=0.7, high=0.9, vote_share={"For": 0.8, "Against": 0.2}, n_train=40,
                      model_id="scripted:agent", features={"dao_rate": 0.5})


def test_signed_forecaster_commits_once_then_scores_into_the_track_record(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    dao = store.ensure_dao("testdao", "Test DAO")
    with store.session() as session:
        row = Proposal(dao_id=dao.id, origin="snapshot", external_id="p1", title="Fund the thing", choices=["For", "Against"],
                       start=NOW + timedelta(hours=2), end=NOW + timedelta(days=3), content_hash="c" * 64)
        session.add(row)
        session.commit()
        session.refresh(row)
    forecaster = SignedForecaster(store, key=KEY, checkpointer=Checkpointer(key=KEY, every=2, mirror=tmp_path / "mirror.jsonl"),
                                  predictor=_predict, clock=lambda: NOW)
    assert forecaster.committed(row) is None
    body = forecaster.commit(row)
    assert body["p_pass"] == 0.8 and forecaster.committed(row)["forecast_sha256"] == body["forecast_sha256"]
    with pytest.raises(GovernanceRefusal) as refused:
        forecaster.commit(row)
    assert refused.value.rule == "one_forecast_per_proposal"
    with store.session() as session:
        record = session.exec(select(ForecastRecord)).one()
    assert verify_forecast(record) == [] and record.signer == Account.from_key(KEY).address

    assert forecaster.score("testdao") == []  # no outcome yet
    with store.session() as session:
        stored = session.get(Proposal, row.id)
        stored.outcome = "passed"
        session.add(stored)
        session.commit()
    assert forecaster.score("testdao") == [{"proposal": "p1", "p_pass": 0.8, "outcome": "passed", "brier": 0.04}]
    record_so_far = track_record(store, "testdao")
    assert (record_so_far.committed, record_so_far.scored, record_so_far.brier) == (1, 1, pytest.approx(0.04))
    verification = audit.verify(store)
    assert verification.ok and verification.checkpoints >= 1, verification.problem
