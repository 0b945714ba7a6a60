"""The agent on real local peers, seeing everything through its own ingest step.

A proposal appears on the Governor (eth-tester, real Governor and 2-of-3 Safe 1.4.1) and its discussion on the
loopback forum; the hub holds 40 real closed Arbitrum proposals, so the outcome model is trained, not a base
rate. Within a few ticks the real report builder (embedded default: the template digest, MiniLM stance head)
writes the report, the signed forecast is committed, the card goes to the loopback Discord; once voting opens a
pending action waits and the signer role is mentioned. Two owners sign through the dashboard (which only
collects signatures here: the agent holds the relayer and sends ``execTransaction``); the vote is on chain
with the report hash in its reason. Voting closes on the chain; the agent ingests the outcome, scores the
forecast and posts it. Each message once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from bots.agent_loop.runner import AgentRunner
from bots.agent_loop.tick import TickReport
from bots.services import build_services
from bots.web.app import create_app
from ingest.core.domain import ForecastRecord, PendingAction, Proposal, ReportRecord
from ingest.core.settings import ConcordSettings, load_settings
from ingest.core.store import Store
from tests.bots.agent_loop.live_peers import (
    DAO,
    Chain,
    Peers,
    deploy_chain,
    final_state,
    running_peers,
    sign_through_dashboard,
)
from tests.discord_loopback import CHANNEL_ID, SIGNER_ROLE_ID

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.fixture(scope="module")
def deployed() -> Chain:
    return deploy_chain()


@pytest.fixture
def peers(deployed: Chain) -> Iterator[Peers]:
    snapshot = deployed.w3.testing.snapshot()
    with running_peers(deployed) as running:
        yield running
    deployed.w3.testing.revert(snapshot)


def agent_settings(tmp_path: Path, sqlite_url: str, peers: Peers, *, relayer: bool = True, **extra: Any) -> ConcordSettings:
    settings = load_settings(peers.agent_toml(tmp_path / "concord.toml", **extra), data_dir=tmp_path / "data", database_url=sqlite_url,
                             discord={"token": "agent-test-token", "api_base": peers.discord.base})
    if not relayer:  # the dashboard: collects owners' signatures, sends nothing
        settings = settings.model_copy(update={"chain": settings.chain.model_copy(update={"relayer_address": None})})
    return settings


def tick_until(runner: AgentRunner, done: Callable[[TickReport], bool], *, most: int = 3) -> list[TickReport]:
    """Tick until ``done`` says so, at most ``most`` times ("within a few ticks")."""
    config = runner.settings.agent.daos[DAO]
    reports = []
    for _ in range(most):
        reports.append(runner.tick(DAO, config))
        if done(reports[-1]):
            return reports
    raise AssertionError(f"not done after {most} ticks: {[r.as_dict() for r in reports]}")


def acted(reports: list[TickReport]) -> dict[str, str]:
    return {s.stage: s.status for r in reports for s in r.acted()}


def test_a_new_proposal_goes_from_ingest_to_a_scored_forecast_on_real_peers(tmp_path: Path, sqlite_url: str, peers: Peers) -> None:
    settings = agent_settings(tmp_path, sqlite_url, peers)
    store = Store.open(sqlite_url)
    services = build_services(settings, store=store)
    runner = AgentRunner(services)
    assert runner.reports is not None and runner.forecaster is not None  # the production report writer and forecaster

    quiet = runner.tick(DAO, settings.agent.daos[DAO])
    assert all(v["ok"] for v in quiet.ingested.values()), quiet.ingested
    assert peers.discord.posted(CHANNEL_ID) == [] and quiet.acted() == []  # 40 closed proposals: nothing to say

    pid_on_chain = peers.announce()
    first = tick_until(runner, lambda r: "forecast" in acted([r]))
    with store.session() as session:
        proposal = session.exec(select(Proposal).where(Proposal.external_id == str(pid_on_chain))).one()
        record = session.exec(select(ReportRecord).where(ReportRecord.proposal_id == proposal.id)).one()
        forecast = session.exec(select(ForecastRecord).where(ForecastRecord.proposal_id == proposal.id)).one()
    assert proposal.title == "Fund the developer grants programme" and proposal.outcome is None
    assert acted(first)["report"] == "done" and acted(first)["card"] == "done"
    assert "recommend" not in acted(first)  # no vote can be filed while the proposal is pending: nothing fails, it waits
    assert first[-1].waiting == [{"proposal": str(pid_on_chain), "on": "voting to open (the proposal is pending)"}]
    data = services.reports.get_report(int(proposal.id))  # type: ignore[union-attr,arg-type]
    assert len(data["stance"]["by_post"]) == 4  # the four forum posts, read through the link the agent made
    assert "(model, trained on 40 closed proposals)" in data["prediction"]["model"]  # the hub's history, not a base rate
    assert forecast.voting_starts_at.replace(tzinfo=None) > forecast.committed_at.replace(tzinfo=None)
    (card,) = peers.discord.posted(CHANNEL_ID)
    assert "Fund the developer grants programme" in card.json["content"] and f"P(pass) = {forecast.p_pass:.2f}" in card.json["content"]
    assert record.report_sha256 and record.report_sha256[:16] in card.json["content"]

    peers.open_voting()
    waiting = tick_until(runner, lambda r: bool(r.waiting))
    assert acted(waiting).get("recommend") == "done" and acted(waiting).get("signers") == "done"
    with store.session() as session:
        action = session.exec(select(PendingAction)).one()
    assert waiting[-1].waiting == [{"action": action.id, "on": "Safe owners: 0 of 2 signatures"}]
    notice = next(r.json for r in peers.discord.posted(CHANNEL_ID) if "Pending vote" in r.json["content"])
    assert notice["content"].startswith(f"<@&{SIGNER_ROLE_ID}>") and notice["allowed_mentions"]["roles"] == [str(SIGNER_ROLE_ID)]

    dashboard = build_services(agent_settings(tmp_path, sqlite_url, peers, relayer=False), store=store)
    client = TestClient(create_app(dashboard.settings, services=dashboard, results_dir=tmp_path / "results"))
    sign_through_dashboard(client, dashboard, int(action.id), peers.chain.owner_keys[:2])  # type: ignore[arg-type]
    assert dashboard.governance.describe(int(action.id)).status == "pending"  # type: ignore[union-attr,arg-type]
    executed = tick_until(runner, lambda r: "execute" in acted([r]))
    assert acted(executed)["execute"] == "done"
    done = services.governance.describe(int(action.id))  # type: ignore[union-attr,arg-type]
    (vote,) = peers.votes_cast()
    assert vote["voter"] == peers.chain.safe.address and f"sha256:{done.report_sha256}" in vote["reason"]

    assert peers.close_voting() in ("Succeeded", "Defeated")
    tick_until(runner, lambda r: "outcome" in acted([r]))
    assert runner.tick(DAO, settings.agent.daos[DAO]).acted() == []  # and nothing after that
    state = final_state(store, peers)
    outcome = next(r.json["content"] for r in peers.discord.posted(CHANNEL_ID) if "Brier score" in r.json["content"])
    assert f"P(pass) = {forecast.p_pass:.2f}" in outcome
    assert state == expected_state(int(proposal.id), str(pid_on_chain), peers, support=int(action.recommendation["support"]))
    runner.close()
    store.close()


def expected_state(proposal_id: int, proposal_ref: str, peers: Peers, *, support: int) -> dict[str, Any]:
    """The end of the scenario: each message once, one forecast (scored), one action (executed), one vote cast as
    recommended with the report hash in its reason, nothing unfinished, an intact audit chain."""
    return {
        "messages": {"card": 1, "signers": 1, "outcome": 1},
        "markers": [1, 1, 1],
        "forecasts": [(proposal_id, True)],
        "actions": [(proposal_ref, "executed")],
        "votes": [(peers.chain.safe.address, support, True)],
        "unfinished": [],
        "audit": {"forecast-commit": 1, "forecast-score": 1, "recommend": 1, "approve": 2, "execute": 1},
        "audit_ok": True,
    }
