"""The live-peers scenario with the agent as a real `concord agent run --once` process, SIGKILLed in the middle.

The chain is reached over JSON-RPC (``tests.governance.rpc_bridge``), the hub, forum and Discord over HTTP, as in
production. At each phase the agent first kills itself at a named point (``agent.die_at``): after the forecast,
after the card's POST, after its ``execTransaction`` is mined but before it is
recorded; then it is restarted. The end state must be the uninterrupted run's
(``test_live_peers.expected_state``): one message per marker, one forecast, one action, one vote on chain, nothing
unfinished, the audit chain intact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from bots.services import build_services
from bots.web.app import create_app
from ingest.core.domain import AgentStep, PendingAction, Proposal
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
from tests.bots.agent_loop.test_live_peers import agent_settings, expected_state

pytestmark = [pytest.mark.chain, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def deployed() -> Chain:
    return deploy_chain()


@pytest.fixture
def peers(deployed: Chain) -> Iterator[Peers]:
    snapshot = deployed.w3.testing.snapshot()
    with running_peers(deployed) as running:
        yield running
    deployed.w3.testing.revert(snapshot)


class Agent:
    """`concord agent run --once --dao arbitrum` in a fresh process each time, configured like production."""

    def __init__(self, tmp_path: Path, sqlite_url: str, peers: Peers) -> None:
        peers.agent_toml(tmp_path / "concord.toml")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
        self.env.update({"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                         "CONCORD_CONFIG": str(tmp_path / "concord.toml"), "CONCORD_DATABASE_URL": sqlite_url,
                         "CONCORD_DATA_DIR": str(tmp_path / "data"), "CONCORD_DISCORD__TOKEN": "agent-test-token",
                         "CONCORD_DISCORD__API_BASE": peers.discord.base})
        self.runs: list[tuple[str | None, int]] = []

    def run(self, *, die_at: str | None = None) -> dict[str, Any] | None:
        env = dict(self.env, **({"CONCORD_AGENT__DIE_AT": die_at} if die_at else {}))
        done = subprocess.run([sys.executable, "-m", "bots.cli.main", "agent", "run", "--once", "--dao", DAO, "--json"],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        self.runs.append((die_at, done.returncode))
        if die_at is not None:
            assert done.returncode == -signal.SIGKILL, f"expected to die at {die_at}: {done.returncode}\n{done.stderr[-3000:]}"
            return None
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)[0]


def _acted(report: dict[str, Any] | None) -> dict[str, str]:
    return {s["stage"]: s["status"] for s in (report or {}).get("steps", [])}


def test_sigkill_at_each_side_effect_then_restart_ends_in_the_uninterrupted_state(tmp_path: Path, sqlite_url: str, peers: Peers) -> None:
    agent = Agent(tmp_path, sqlite_url, peers)
    pid_on_chain = peers.announce()
    agent.run(die_at="forecast:after")  # the signed forecast is stored; the step is not marked done
    agent.run(die_at="card:after")  # the card is posted; the step is not marked done

    peers.open_voting()
    opened = _acted(agent.run())
    assert (opened.get("card"), opened.get("recommend"), opened.get("signers")) == ("done", "done", "done")

    store = Store.open(sqlite_url)
    dashboard = build_services(agent_settings(tmp_path, sqlite_url, peers, relayer=False), store=store)
    with store.session() as session:
        action = session.exec(select(PendingAction)).one()
    client = TestClient(create_app(dashboard.settings, services=dashboard, results_dir=tmp_path / "results"))
    sign_through_dashboard(client, dashboard, int(action.id), peers.chain.owner_keys[:2])  # type: ignore[arg-type]
    agent.run(die_at="execute:sent")
    assert len(peers.votes_cast()) == 1 and dashboard.governance.describe(int(action.id)).status == "pending"  # type: ignore[union-attr,arg-type]
    assert _acted(agent.run()).get("execute") == "done"  # found on chain and recorded; nothing resent

    assert peers.close_voting() in ("Succeeded", "Defeated")
    assert _acted(agent.run()).get("outcome") == "done"

    with store.session() as session:
        proposal = session.exec(select(Proposal).where(Proposal.external_id == str(pid_on_chain))).one()
        action = session.get(PendingAction, action.id)
        steps = {r.stage: r for r in session.exec(select(AgentStep)).all() if r.stage in ("forecast", "card", "execute")}
    assert all(steps[stage].detail.get("reconciled") is True for stage in ("forecast", "card", "execute")), steps
    assert final_state(store, peers) == expected_state(int(proposal.id), str(pid_on_chain), peers,  # type: ignore[arg-type]
                                                       support=int(action.recommendation["support"]))  # type: ignore[union-attr]
    assert [die_at for die_at, code in agent.runs if code == -signal.SIGKILL] == ["forecast:after", "card:after", "execute:sent"]
    store.close()
