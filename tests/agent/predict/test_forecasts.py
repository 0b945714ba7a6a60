"""Forecasts committed before the vote, scored after: the rules a careless operator or a hindsight-lover would test."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlmodel import select

from agent.predict.service import Prediction
from bots.services import Services
from bots.web.app import create_app
from governance import audit
from governance.errors import GovernanceRefusal
from governance.forecasts import (
    commit_forecast,
    forecast_digest,
    score_forecasts,
    track_record,
    verify_forecast,
)
from ingest.core.domain import AuditEntry, ForecastRecord, Proposal
from ingest.core.settings import ConcordSettings
from ingest.core.store import Store

KEY = "0x" + "11" * 32
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _predictor(p: float = 0.7):  # type: ignore[no-untyped-def]
    def predict(store: Store, proposal: Proposal) -> Prediction:
        return Prediction(p_pass=p, low=p - 0.1, high=p + 0.1, vote_share={"For": p, "Against": 1 - p}, n_train=40,
                          model_id="scripted:abc", features={"dao_rate": 0.5})

    return predict


def _proposal(store: Store, external_id: str, *, start: datetime | None, outcome: str | None = None) -> Proposal:
    dao = store.ensure_dao("testdao", "Test DAO")
    with store.session() as session:
        row = Proposal(dao_id=dao.id, origin="snapshot", external_id=external_id, title=f"Proposal {external_id}",
                       choices=["For", "Against"], start=start, end=start + timedelta(days=5) if start else None,
                       outcome=outcome, content_hash="c" * 64)
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def _audit_actions(store: Store) -> list[str]:
    with store.session() as session:
        return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]


def test_commit_before_voting_is_signed_hashed_audited_and_published(store: Store) -> None:
    proposal = _proposal(store, "a", start=NOW + timedelta(hours=1))
    record = commit_forecast(store, proposal, key=KEY, now=NOW, predictor=_predictor(0.7))
    assert record.forecast_sha256 == forecast_digest(record.body) and verify_forecast(record) == []
    assert record.signer == Account.from_key(KEY).address
    assert record.body["committed_at"] == "2026-06-01T12:00:00Z" and record.body["voting_starts_at"] == "2026-06-01T13:00:00Z"
    assert record.body["p_pass"] == 0.7 and record.body["shares"] == {"For": 0.7, "Against": 0.3}
    assert len(record.model_hash) == 64 and len(record.inputs_hash) == 64
    assert record.forecast_sha256 in record.statement and "\n" not in record.statement
    with store.session() as session:
        entry = session.get(AuditEntry, record.audit_entry_id)
        assert entry is not None and entry.action == "forecast-commit"
        assert entry.payload["forecast_sha256"] == record.forecast_sha256
    assert audit.verify(store).ok


@pytest.mark.parametrize("start", [NOW, NOW - timedelta(seconds=1), None])
def test_commit_once_voting_started_or_start_unknown_is_refused_and_leaves_nothing(store: Store, start: datetime | None) -> None:
    proposal = _proposal(store, "late", start=start)
    with pytest.raises(GovernanceRefusal) as refused:
        commit_forecast(store, proposal, key=KEY, now=NOW, predictor=_predictor())
    assert refused.value.rule == "forecast_before_vote"
    assert store.count(ForecastRecord) == 0 and "forecast-commit" not in _audit_actions(store)


def test_a_second_forecast_for_the_same_proposal_is_refused(store: Store) -> None:
    proposal = _proposal(store, "twice", start=NOW + timedelta(days=1))
    first = commit_forecast(store, proposal, key=KEY, now=NOW, predictor=_predictor(0.2))
    with pytest.raises(GovernanceRefusal) as refused:
        commit_forecast(store, proposal, key=KEY, now=NOW + timedelta(minutes=5), predictor=_predictor(0.9))
    assert refused.value.rule == "one_forecast_per_proposal"
    with store.session() as session:
        kept = session.exec(select(ForecastRecord)).all()
    assert [r.forecast_sha256 for r in kept] == [first.forecast_sha256] and kept[0].p_pass == 0.2


def test_scoring_uses_the_committed_probability_and_counts_only_committed_forecasts(store: Store) -> None:
    passed = _proposal(store, "p", start=NOW + timedelta(days=1))
    failed = _proposal(store, "f", start=NOW + timedelta(days=1))
    commit_forecast(store, passed, key=KEY, now=NOW, predictor=_predictor(0.8))
    commit_forecast(store, failed, key=KEY, now=NOW, predictor=_predictor(0.6))
    _proposal(store, "never-committed", start=NOW - timedelta(days=30), outcome="failed")  # hindsight is not scored
    assert score_forecasts(store) == []  # outcomes unknown yet
    with store.session() as session:
        for row, outcome in ((session.get(Proposal, passed.id), "passed"), (session.get(Proposal, failed.id), "failed")):
            row.outcome = outcome  # type: ignore[union-attr]
            session.add(row)
        session.commit()
    scored = score_forecasts(store)
    assert sorted((s.proposal, s.outcome, round(s.brier, 6)) for s in scored) == [("f", "failed", 0.36), ("p", "passed", 0.04)]
    assert score_forecasts(store) == []  # each forecast is scored once
    record = track_record(store, "testdao")
    assert (record.committed, record.scored) == (2, 2)
    assert record.brier == pytest.approx((0.04 + 0.36) / 2) and record.accuracy == pytest.approx(0.5)
    assert sum(b["n"] for b in record.reliability) == 2
    assert _audit_actions(store).count("forecast-score") == 2 and audit.verify(store).ok


def test_a_forecast_changed_after_commitment_is_not_scored(store: Store) -> None:
    proposal = _proposal(store, "t", start=NOW + timedelta(days=1))
    commit_forecast(store, proposal, key=KEY, now=NOW, predictor=_predictor(0.3))
    with store.session() as session:
        row = session.exec(select(ForecastRecord)).one()
        row.body = {**row.body, "p_pass": 0.99}
        row.p_pass = 0.99
        session.add(row)
        target = session.get(Proposal, proposal.id)
        target.outcome = "passed"  # type: ignore[union-attr]
        session.add(target)
        session.commit()
        assert verify_forecast(row)
    with pytest.raises(Exception, match="fails its check"):
        score_forecasts(store)


def test_cli_refuses_a_forecast_for_a_vote_that_already_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bots.cli.main import main

    monkeypatch.setenv("CONCORD_DATA_DIR", str(tmp_path / "d"))
    assert main(["init"]) == 0
    store = Store.open(f"sqlite:///{(tmp_path / 'd' / 'concord.db').as_posix()}")
    _proposal(store, "0xpast", start=datetime(2023, 1, 1, tzinfo=UTC))
    future = _proposal(store, "0xfuture", start=datetime.now(UTC) + timedelta(days=3))
    capsys.readouterr()
    assert main(["forecast", "commit", "0xpast", "--dao", "testdao"]) == 2
    err = capsys.readouterr().err
    assert "Refused by rule 'forecast_before_vote'" in err and "Traceback" not in err
    # the CLI commits what the predictor service (the one reports and the dashboard read) predicts
    monkeypatch.setattr("agent.predict.predictor.predict_store", lambda s, p, **_: _predictor(0.55)(s, p))
    assert main(["forecast", "commit", "0xfuture", "--dao", "testdao", "--json"]) == 0
    committed = json.loads(capsys.readouterr().out)
    assert committed["body"]["proposal"] == "0xfuture" and committed["forecast_sha256"] in committed["statement"]
    assert committed["body"]["p_pass"] == 0.55
    assert main(["forecast", "track-record", "--dao", "testdao", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["committed"], shown["scored"], shown["brier"]) == (1, 0, None)
    assert future.id is not None
    store.close()


def test_dashboard_forecasts_page_shows_the_track_record(store: Store, settings: ConcordSettings, tmp_path: Path) -> None:
    proposal = _proposal(store, "w", start=NOW + timedelta(days=1))
    commit_forecast(store, proposal, key=KEY, now=NOW, predictor=_predictor(0.8))
    with store.session() as session:
        row = session.get(Proposal, proposal.id)
        row.outcome = "passed"  # type: ignore[union-attr]
        session.add(row)
        session.commit()
    score_forecasts(store)
    client = TestClient(create_app(settings, services=Services(store=store, settings=settings), results_dir=tmp_path))
    page = client.get("/forecasts", params={"dao": "testdao"})
    assert page.status_code == 200
    assert 'id="track-record"' in page.text and "0.040" in page.text and 'id="calibration-chart"' in page.text
    assert client.get("/forecasts").status_code == 200
