"""The live forecast of a stored proposal reads only its votes cast before the moment asked about, and a model
fitted on the DAO's stored proposals that closed before it opened; the CLI and the dashboard show it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.predict.live import MIN_TRAIN, live_forecast_from_store
from agent.predict.predictor import StorePredictor
from ingest.core.domain import Proposal, Vote
from ingest.core.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _add(store: Store, dao_id: int, i: int, *, passed: bool | None, late_whale: str | None = None) -> int:
    """Proposal i votes for 4 days from day 10*i; 8 small early votes for the winner, optionally a late whale."""
    start = T0 + timedelta(days=10 * i)
    early = "For" if passed in (True, None) else "Against"
    with store.session() as session:
        p = Proposal(dao_id=dao_id, origin="snapshot", external_id=f"p{i}", title=f"Proposal {i}", choices=["For", "Against"],
                     start=start, end=start + timedelta(days=4),
                     outcome=None if passed is None else ("passed" if passed else "failed"))
        session.add(p)
        session.commit()
        session.refresh(p)
        for k in range(8):
            session.add(Vote(proposal_id=p.id, voter=f"0x{k:040x}", choice_label=early, voting_power=10.0,
                             created_at=start + timedelta(hours=3 + 6 * k)))
        if late_whale:
            session.add(Vote(proposal_id=p.id, voter="0x" + "f" * 40, choice_label=late_whale, voting_power=1_000.0,
                             created_at=start + timedelta(days=3, hours=12)))
        session.commit()
        return int(p.id or 0)


@pytest.fixture
def dao_store(sqlite_url: str) -> Store:
    store = Store.open(sqlite_url)
    dao = store.ensure_dao("d", "D")
    for i in range(MIN_TRAIN + 10):
        _add(store, int(dao.id or 0), i, passed=i % 3 != 0)
    return store


def test_reads_only_votes_cast_before_the_moment(dao_store: Store) -> None:
    dao = dao_store.get_dao("d")
    target = _add(dao_store, int(dao.id or 0), 40, passed=None, late_whale="Against")
    start = (T0 + timedelta(days=400)).timestamp()
    early = live_forecast_from_store(dao_store, target, at=start + 0.5 * 4 * 86_400)
    assert early.votes_so_far == 8 and early.current_shares["against"] == 0.0
    assert early.method.startswith("live model") and early.n_train == MIN_TRAIN + 10
    assert early.p_pass > 0.5  # the early For lead has always won in this DAO's history
    late = live_forecast_from_store(dao_store, target, at=start + 3.9 * 86_400)
    assert late.votes_so_far == 9 and late.current_shares["against"] > 0.9  # the whale's vote is now read
    assert late.p_pass < early.p_pass


def test_too_little_history_falls_back_to_current_shares(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    dao = store.ensure_dao("d", "D")
    for i in range(3):
        _add(store, int(dao.id or 0), i, passed=True)
    target = _add(store, int(dao.id or 0), 5, passed=None)
    forecast = live_forecast_from_store(store, target, at=(T0 + timedelta(days=51)).timestamp())
    assert forecast.method.startswith("current shares are final") and forecast.expected_shares == forecast.current_shares


def test_predictor_gives_a_live_forecast_only_while_voting_is_open(dao_store: Store) -> None:
    dao = dao_store.get_dao("d")
    target = _add(dao_store, int(dao.id or 0), 40, passed=None)
    start = (T0 + timedelta(days=400)).timestamp()
    predictor = StorePredictor(dao_store)
    assert predictor.live(target, at=start - 60) is None
    assert predictor.live(target, at=start + 5 * 86_400) is None
    live = predictor.live(target, at=start + 86_400)
    assert live is not None and 0.2 < live["elapsed"] < 0.3 and live["votes_so_far"] == 4


def test_cli_prints_the_live_forecast(dao_store: Store, sqlite_url: str, tmp_path: Path) -> None:
    from bots.cli.main import app

    dao = dao_store.get_dao("d")
    _add(dao_store, int(dao.id or 0), 40, passed=None)
    env = {"CONCORD_DATABASE_URL": sqlite_url, "CONCORD_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(app, ["forecast", "live", "p40", "--dao", "d", "--at", "2025-02-06T00:00:00Z",
                                      "--json"], env=env)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["votes_so_far"] == 8 and body["elapsed"] == 0.5 and body["method"].startswith("live model")


def test_dashboard_shows_the_live_forecast_while_voting_is_open(dao_store: Store, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from bots.services import Services
    from bots.web.app import create_app
    from ingest.core.settings import ConcordSettings

    dao = dao_store.get_dao("d")
    now = datetime.now(UTC)
    with dao_store.session() as session:
        open_now = Proposal(dao_id=int(dao.id or 0), origin="snapshot", external_id="open", title="Open now",
                            choices=["For", "Against"], start=now - timedelta(days=1), end=now + timedelta(days=3))
        session.add(open_now)
        session.commit()
        session.refresh(open_now)
        session.add(Vote(proposal_id=open_now.id, voter="0x" + "1" * 40, choice_label="Against", voting_power=5.0,
                         created_at=now - timedelta(hours=2)))
        session.commit()
        open_id = int(open_now.id or 0)
    settings = ConcordSettings(data_dir=tmp_path / "data")
    services = Services(store=dao_store, settings=settings, predictor=StorePredictor(dao_store))
    client = TestClient(create_app(settings, services=services, results_dir=tmp_path / "none"))
    page = client.get(f"/proposals/{open_id}").text
    assert 'id="live-forecast"' in page and "1 votes so far" in page and "Against 100%" in page
    api = client.get(f"/api/proposals/{open_id}/live").json()
    assert api["live"]["votes_so_far"] == 1 and 0.2 < api["live"]["elapsed"] < 0.3
    closed = client.get("/proposals/p3").text  # voting ended long ago: no live card
    assert 'id="live-forecast"' not in closed
