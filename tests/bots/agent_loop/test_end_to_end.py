"""The agent on a real EVM (eth-tester) with the real Safe (2 of 3) and Governor, and the loopback Discord:
proposal → report, forecast, card and a pending vote → two owners sign through the dashboard → the vote is on
chain with the report hash in its reason → the proposal closes → the forecast is scored and the outcome posted.

What is not real here: the report writer is scripted, the proposal row and its final outcome are written by the
test (read from the Governor's state) instead of by the Governor ingester, and the store's voting start is set
ahead of the chain's so the forecast step runs before the vote. These tests are the quick ones; the same story with
everything ingested from real local peers, the real report builder and a SIGKILLed agent process is in
``test_live_peers.py`` and ``test_live_peers_killed.py``. The Safe Transaction Service path and a vote mined just
before a crash are tested here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlmodel import select
from web3.logs import DISCARD

from agent.report.version import builder_version
from bots.agent_loop.notify import DiscordRestNotifier
from bots.agent_loop.runner import AgentRunner
from bots.services import build_services
from bots.web.app import create_app
from bots.web.security import CSRF_COOKIE
from governance import audit
from governance.chain.keys import NodeAccountSender
from governance.service import build_governance
from ingest.core.domain import (
    AgentStep,
    AuditEntry,
    Author,
    PendingAction,
    Post,
    Proposal,
    ProposalLink,
    ReportRecord,
    Thread,
)
from ingest.core.governor_abi import ProposalState
from ingest.core.settings import load_settings
from ingest.core.store import Store
from tests.bots.agent_loop.conftest import DAO, agent_toml
from tests.discord_loopback import CHANNEL_ID, SIGNER_ROLE_ID, LoopbackDiscord
from tests.governance.conftest import ChainEnv, chain, chain_module, sign_as  # noqa: F401 - fixtures

pytestmark = pytest.mark.chain


class ConsensusReportWriter:
    """A report with the consensus-report fields governance reads (proposal, stance counts, prediction)."""

    def __init__(self, store: Store, directory: Path) -> None:
        self.store, self.directory = store, directory

    def build(self, proposal_id: int) -> dict[str, Any]:
        from agent.report.inputs import load_inputs

        inputs = load_inputs(self.store, proposal_id)
        by_post = [{"post_id": int(p.id), "label": "for", "confidence": 0.9, "proposer": False} for p in inputs.posts]
        body = {"schema": "concord.report/2", "stance": {"by_post": by_post}, "stance_mix": {"threshold": 0.5},
                "prediction": {"probability_pass": 0.9, "model": "scripted (logistic, trained on 40 closed proposals)"},
                "proposal": {"id": proposal_id, "dao": DAO, "external_id": inputs.proposal.external_id, "origin": "governor"},
                "summary": {"text": "Most posters support returning the wei."}}
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{proposal_id}.json"
        path.write_text(json.dumps(body, indent=2))
        with self.store.session() as session:
            record = ReportRecord(proposal_id=proposal_id, schema_version="1", inputs_hash=inputs.hash, report_sha256="",
                                  path=str(path), post_ids=[int(p.id) for p in inputs.posts], manifest={"builder_version": builder_version()})
            session.add(record)
            session.flush()
            return {"report_id": record.id}


def _setup(tmp_path: Path, sqlite_url: str, chain: ChainEnv, *, safe_service_url: str | None = None) -> tuple[Any, Store, int]:  # noqa: F811
    settings = load_settings(
        agent_toml(tmp_path / "concord.toml", extra="recommend = true"), data_dir=tmp_path / "data", database_url=sqlite_url,
        policy={"allowed_daos": [DAO], "min_confidence": 0.7, "cooldown_hours": 0},
        chain={"safe_address": chain.safe.address, "governor_address": chain.governor.address, "safe_tx_service_url": safe_service_url},
    )
    store = Store.open(sqlite_url)
    dao = store.ensure_dao(DAO, "Test DAO")
    source = store.ensure_source(dao, "discourse", "https://forum.test")
    now = datetime.now(UTC)
    with store.session() as session:
        thread = Thread(source_id=source.id, external_id="9", title="Return 1 wei")
        session.add(thread)
        session.flush()
        member = Author(source_id=source.id, handle="delegate-one")
        session.add(member)
        session.flush()
        session.add(Post(source_id=source.id, thread_id=thread.id, external_id="9-1", number=1, text="Yes, return it.",
                         created_at=now, content_hash="p1", author_id=member.id))
        proposal = Proposal(dao_id=dao.id, origin="governor", external_id=str(chain.proposal_id), title="Return 1 wei",
                            choices=["Against", "For", "Abstain"], start=now + timedelta(hours=1), end=now + timedelta(days=2),
                            content_hash="c")
        session.add(proposal)
        session.flush()
        session.add(ProposalLink(proposal_id=proposal.id, thread_id=thread.id, method="url"))
        pid = int(proposal.id or 0)

    services = build_services(settings, store=store)
    services.governance = build_governance(settings, store=store, w3=chain.w3, sender=NodeAccountSender(chain.relayer))
    return services, store, pid


def test_proposal_to_vote_to_scored_outcome(tmp_path: Path, sqlite_url: str, chain: ChainEnv) -> None:  # noqa: F811
    services, store, pid = _setup(tmp_path, sqlite_url, chain)
    settings = services.settings
    with LoopbackDiscord(token="t").serving() as discord:
        runner = AgentRunner(services, notifier=DiscordRestNotifier("t", api_base=discord.base),
                             reports=ConsensusReportWriter(store, tmp_path / "reports"))
        config = settings.agent.daos[DAO]
        first = runner.tick(DAO, config)
        stages = {s.stage: s for s in first.acted()}
        assert {"report", "forecast", "card", "recommend", "signers"} <= set(stages), first.as_dict()
        action_id = stages["recommend"].detail["action_id"]
        assert first.waiting == [{"action": action_id, "on": "Safe owners: 0 of 2 signatures"}]
        notice = next(r.json for r in discord.posted(CHANNEL_ID) if "Pending vote" in r.json["content"])
        assert notice["content"].startswith(f"<@&{SIGNER_ROLE_ID}>")
        assert runner.tick(DAO, config).acted() == []  # nothing repeats while the owners have not signed

        # two owners sign through the dashboard
        client = TestClient(create_app(settings, services=services, results_dir=tmp_path / "results"))
        client.get("/proposals")
        token = client.cookies[CSRF_COOKIE]
        action = services.governance.describe(action_id)
        for key in chain.owner_keys[:2]:
            signed = client.post(f"/api/actions/{action_id}/signatures", headers={"X-CSRF-Token": token},
                                 json={"signer": Account.from_key(key).address, "signature": sign_as(key, action.typed_data)})
            assert signed.status_code == 200, signed.text
        done = services.governance.describe(action_id)
        assert done.status == "executed"
        receipt = chain.w3.eth.get_transaction_receipt(done.executed_tx_hash)
        vote = chain.governor.events.VoteCast().process_receipt(receipt, errors=DISCARD)[0]["args"]
        assert f"sha256:{done.report_sha256}" in vote["reason"]
        assert runner.tick(DAO, config).waiting == []  # executed: nothing waits, nothing is sent twice

        # the vote closes; the outcome comes from the Governor's state
        chain.w3.testing.mine(1001)
        state = ProposalState(chain.governor.functions.state(chain.proposal_id).call()).label
        assert state in ("Succeeded", "Defeated")
        with store.session() as session:
            row = session.get(Proposal, pid)
            row.outcome, row.end = ("passed" if state == "Succeeded" else "failed"), datetime.now(UTC) - timedelta(seconds=1)
            session.add(row)
        runner.tick(DAO, config)
        runner.tick(DAO, config)
        outcome = [r.json["content"] for r in discord.posted(CHANNEL_ID) if "Brier score" in r.json["content"]]
        assert len(outcome) == 1
        cards = [r for r in discord.posted(CHANNEL_ID) if "consensus report" in r.json["content"]]
        assert len(cards) == 1 and len(discord.posted(CHANNEL_ID)) == 3  # card, signer notice, outcome: once each
    runner.close()
    with store.session() as session:
        actions = [e.action for e in session.exec(select(AuditEntry)).all()]
    assert actions.count("forecast-commit") == 1 and actions.count("forecast-score") == 1
    assert actions.count("execute") == 1 and actions.count("recommend") == 1
    assert audit.verify(store).ok
    store.close()


def test_killed_after_filing_the_recommendation_files_no_second_one(tmp_path: Path, sqlite_url: str, chain: ChainEnv) -> None:  # noqa: F811
    """Killed after the pending action was written but before its step was marked done: the restart finds the action."""
    services, store, _ = _setup(tmp_path, sqlite_url, chain)
    with LoopbackDiscord(token="t").serving() as discord:
        runner = AgentRunner(services, notifier=DiscordRestNotifier("t", api_base=discord.base),
                             reports=ConsensusReportWriter(store, tmp_path / "reports"))
        config = services.settings.agent.daos[DAO]
        first = runner.tick(DAO, config)
        step = next(s for s in first.acted() if s.stage == "recommend")
        with store.session() as session:
            row = session.exec(select(AgentStep).where(AgentStep.step_key == step.key)).one()
            row.status = "started"  # the state a SIGKILL between the insert and the step's 'done' leaves
            session.add(row)
        again = runner.tick(DAO, config)
        runner.close()
    assert [(s.stage, s.status, s.detail.get("reconciled")) for s in again.acted()] == [("recommend", "done", True)]
    with store.session() as session:
        assert len(session.exec(select(PendingAction)).all()) == 1
    store.close()


def test_confirmations_collected_in_the_safe_transaction_service_are_synced_and_executed_once(
        tmp_path: Path, sqlite_url: str, chain: ChainEnv) -> None:  # noqa: F811
    """Owners queue and confirm the agent's vote in Safe{Wallet} (the loopback Safe Transaction Service), never on the
    dashboard: each tick the agent pulls the confirmations, verifies them like any signature, and once the Safe's
    threshold is met the vote goes on chain, once."""
    from governance.binding import canonical_safe_tx
    from governance.chain.safe_service import SafeTransactionServiceClient
    from governance.contracts import load_safe_artifact
    from tests.governance.safe_service_server import ServiceState, running_safe_service

    state = ServiceState(w3=chain.w3, safe_abi=load_safe_artifact("Safe_V1_4_1")["abi"])
    with running_safe_service(state) as sts_url, LoopbackDiscord(token="t").serving() as discord:
        services, store, _ = _setup(tmp_path, sqlite_url, chain, safe_service_url=sts_url)
        runner = AgentRunner(services, notifier=DiscordRestNotifier("t", api_base=discord.base),
                             reports=ConsensusReportWriter(store, tmp_path / "reports"))
        config = services.settings.agent.daos[DAO]
        first = runner.tick(DAO, config)
        action_id = next(s for s in first.acted() if s.stage == "recommend").detail["action_id"]
        assert f"sync:{action_id}" in first.skipped  # not queued in the service yet: said, not fatal
        with store.session() as session:
            row = session.get(PendingAction, action_id)
        tx = canonical_safe_tx(row)
        typed = services.governance.describe(action_id).typed_data
        first_owner, second_owner = chain.owner_keys[0], chain.owner_keys[1]
        with SafeTransactionServiceClient(sts_url) as wallet:  # Safe{Wallet}: an owner queues it, signing as they do
            wallet.propose(tx, sender=Account.from_key(first_owner).address, signature=sign_as(first_owner, typed))
            one = runner.tick(DAO, config)
            assert one.waiting == [{"action": action_id, "on": "Safe owners: 1 of 2 signatures"}]
            assert not chain.governor.functions.hasVoted(chain.proposal_id, chain.safe.address).call()
            wallet.confirm(row.safe_tx_hash, signature=sign_as(second_owner, typed))
        runner.tick(DAO, config)
        done = services.governance.describe(action_id)
        assert done.status == "executed"
        receipt = chain.w3.eth.get_transaction_receipt(done.executed_tx_hash)
        vote = chain.governor.events.VoteCast().process_receipt(receipt, errors=DISCARD)[0]["args"]
        assert vote["voter"] == chain.safe.address and f"sha256:{done.report_sha256}" in vote["reason"]
        assert runner.tick(DAO, config).acted() == []  # nothing is sent twice
        notices = [r for r in discord.posted(CHANNEL_ID) if "Pending vote" in r.json["content"]]
        assert len(notices) == 1
    runner.close()
    with store.session() as session:
        audited = [e for e in session.exec(select(AuditEntry)).all() if e.subject == f"action:{action_id}"]
    assert [e.action for e in audited].count("execute") == 1
    assert sorted(e.actor for e in audited if e.action == "approve") == sorted(Account.from_key(k).address for k in (first_owner, second_owner))
    assert chain.governor.functions.proposalVotes(chain.proposal_id).call()[1] == 100_000 * 10**18
    assert any(r.startswith(f"GET /api/v2/multisig-transactions/{row.safe_tx_hash}") for r in state.requests), state.requests
    assert audit.verify(store).ok
    store.close()


def test_a_vote_mined_before_a_crash_is_found_on_chain_and_recorded_not_resent(tmp_path: Path, sqlite_url: str, chain: ChainEnv) -> None:  # noqa: F811
    """The agent sends execTransaction and dies before governance records it: the restart finds the Safe's
    ExecutionSuccess for that Safe tx hash, records the execution, and sends nothing."""
    services, store, _ = _setup(tmp_path, sqlite_url, chain)
    governance = services.governance
    governance.auto_execute = False  # the owners' signatures are collected; the agent is the one that executes
    relayer = governance.sender

    class CrashAfterSend:
        def send(self, w3: Any, call: Any) -> Any:
            relayer.send(w3, call)
            raise SystemExit("killed after the transaction was mined")  # not an Exception: nothing catches it

    with LoopbackDiscord(token="t").serving() as discord:
        runner = AgentRunner(services, notifier=DiscordRestNotifier("t", api_base=discord.base),
                             reports=ConsensusReportWriter(store, tmp_path / "reports"))
        config = services.settings.agent.daos[DAO]
        action_id = next(s for s in runner.tick(DAO, config).acted() if s.stage == "recommend").detail["action_id"]
        typed = governance.describe(action_id).typed_data
        for key in chain.owner_keys[:2]:
            governance.submit_signature(action_id, signature=sign_as(key, typed), signer=Account.from_key(key).address)
        governance.sender = CrashAfterSend()
        with pytest.raises(SystemExit):
            runner.tick(DAO, config)
        assert governance.describe(action_id).status == "pending"  # mined, not recorded
        governance.sender = relayer
        again = runner.tick(DAO, config)
        runner.close()
    assert [(s.stage, s.status, s.detail.get("reconciled")) for s in again.acted()] == [("execute", "done", True)]
    done = governance.describe(action_id)
    assert done.status == "executed"
    votes = chain.governor.events.VoteCast().get_logs(from_block=0)
    assert [v["args"]["voter"] for v in votes] == [chain.safe.address]  # one vote: the restart sent nothing
    assert votes[0]["transactionHash"].hex().removeprefix("0x") == done.executed_tx_hash.removeprefix("0x")
    with store.session() as session:
        executions = [e for e in session.exec(select(AuditEntry)).all() if e.action == "execute"]
    assert len(executions) == 1 and executions[0].payload["recovered_from_chain"] is True
    assert audit.verify(store).ok
    store.close()
