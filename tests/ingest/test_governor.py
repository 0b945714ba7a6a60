"""The Governor source against a real in-process EVM running compiled OpenZeppelin contracts.

ConcordGovernor (no timelock) and ConcordTimelockGovernor (OpenZeppelin's TimelockController as its timelock,
so proposals are really queued with an eta and executed by the timelock) over an ERC20Votes token.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from ingest.core.domain import Proposal, Vote
from ingest.core.store import Store
from ingest.pipeline import run_ingestion
from ingest.sources.governor import GovernorSource, open_governor_proposals

pytestmark = pytest.mark.chain

web3 = pytest.importorskip("web3")
from web3 import HTTPProvider, Web3
from web3.logs import DISCARD
from web3.providers.eth_tester import EthereumTesterProvider

from governance.chain.deploy import (
    create_proposal,
    deploy_governor,
    deploy_timelock_governor,
    mine_until_active,
    send_and_wait,
)
from tests.ingest.rpc_node import RpcNode

MAX_LOG_RANGE = 3


def _number(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


class LimitedNode(EthereumTesterProvider):
    """The in-process chain behind a node limit like Infura's: eth_getLogs over > 3 blocks is refused."""

    def make_request(self, method: Any, params: Any) -> Any:
        if method == "eth_getLogs":
            query = params[0]  # eth-tester's middleware has already turned it into snake_case ints
            low, high = (
                _number(query.get("from_block", query.get("fromBlock"))),
                _number(query.get("to_block", query.get("toBlock"))),
            )
            if high - low + 1 > MAX_LOG_RANGE:
                return {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "error": {"code": -32005, "message": "query returned more than 10000 results"},
                }
        return super().make_request(method, params)


@pytest.fixture
def chain() -> dict[str, Any]:
    w3 = Web3(LimitedNode())
    admin, alice, bob = w3.eth.accounts[:3]
    deployment = deploy_governor(w3, sender=admin, voting_delay=1, voting_period=20)
    token, governor = deployment.token, deployment.governor
    for holder in (alice, bob):
        send_and_wait(w3, token.functions.transfer(holder, 200_000 * 10**18), sender=admin)
    for holder in (admin, alice, bob):
        send_and_wait(w3, token.functions.delegate(holder), sender=holder)
    w3.testing.mine(1)
    return {"w3": w3, "governor": governor, "token": token, "admin": admin, "alice": alice, "bob": bob}


def _propose(chain: dict[str, Any], description: str) -> tuple[int, list[Any]]:
    w3, governor = chain["w3"], chain["governor"]
    action = [[chain["bob"]], [0], [b""]]
    send_and_wait(w3, governor.functions.propose(*action, description), sender=chain["admin"])
    pid = governor.functions.hashProposal(*action, w3.keccak(text=description)).call()
    return int(pid), action


def _source(chain: dict[str, Any], store: Store, **options: Any) -> GovernorSource:
    dao = store.get_dao("test")
    return GovernorSource(
        chain["w3"],
        chain["governor"].address,
        chain_id=131277322940537,
        open_items=open_governor_proposals(store, dao),
        **options,
    )


def test_proposals_votes_and_states_from_real_events(store: Store, chain: dict[str, Any]) -> None:
    w3, governor = chain["w3"], chain["governor"]
    dao = store.ensure_dao("test")
    funded, action = _propose(chain, "# Fund the grants program\n\nSend 0 ETH to Bob as a test.")
    cancelled, cancel_action = _propose(chain, "# Withdrawn idea\n\nCancelled while pending.")
    send_and_wait(
        w3,
        governor.functions.cancel(
            *cancel_action, w3.keccak(text="# Withdrawn idea\n\nCancelled while pending.")
        ),
        sender=chain["admin"],
    )
    mine_until_active(w3, governor, funded)
    send_and_wait(
        w3,
        governor.functions.castVoteWithReason(funded, 1, "Grants grow the ecosystem"),
        sender=chain["admin"],
    )
    send_and_wait(w3, governor.functions.castVote(funded, 0), sender=chain["alice"])
    send_and_wait(
        w3,
        governor.functions.castVoteWithReasonAndParams(funded, 2, "Abstain: conflict of interest", b"\x01"),
        sender=chain["bob"],
    )

    source = _source(chain, store, confirmations=0, chunk_blocks=8)
    first = run_ingestion(store, dao, source)
    assert first.quarantined == 0
    assert source.chunks_read and all(
        end - start + 1 <= MAX_LOG_RANGE for start, end in source.chunks_read
    )  # halved 8 -> 4 -> 2
    assert store.count(Proposal) == 2 and store.count(Vote) == 3
    with store.session() as session:
        p = session.exec(select(Proposal).where(Proposal.external_id == str(funded))).one()
        assert (p.title, p.state, p.author) == ("Fund the grants program", "active", chain["admin"])
        assert p.scores == [200_000.0, 600_000.0, 200_000.0]
        votes = {v.choice_label: v for v in session.exec(select(Vote))}
        assert votes["For"].reason == "Grants grow the ecosystem" and votes["For"].voting_power == 600_000.0
        assert votes["Abstain"].reason == "Abstain: conflict of interest"  # from VoteCastWithParams
        assert votes["Against"].voter == chain["alice"] and votes["Against"].created_at is not None
        c = session.exec(select(Proposal).where(Proposal.external_id == str(cancelled))).one()
        assert (c.state, c.outcome) == ("canceled", "cancelled")

    w3.testing.mine(25)
    send_and_wait(
        w3,
        governor.functions.execute(
            *action, w3.keccak(text="# Fund the grants program\n\nSend 0 ETH to Bob as a test.")
        ),
        sender=chain["admin"],
    )
    second = run_ingestion(store, dao, _source(chain, store, confirmations=0))
    assert second.ingested == 0 and store.count(Vote) == 3
    with store.session() as session:
        p = session.exec(select(Proposal).where(Proposal.external_id == str(funded))).one()
        assert (p.state, p.outcome, p.scores_state) == ("executed", "passed", "final")
    third = run_ingestion(store, dao, _source(chain, store, confirmations=0))
    assert (third.ingested, third.updated, third.quarantined) == (0, 0, 0)


def test_confirmation_depth_leaves_recent_blocks_for_later(
    sqlite_store: Store, chain: dict[str, Any]
) -> None:
    w3, governor = chain["w3"], chain["governor"]
    dao = sqlite_store.ensure_dao("test")
    pid, _ = _propose(chain, "Raise the quorum")
    mine_until_active(w3, governor, pid)
    send_and_wait(w3, governor.functions.castVote(pid, 1), sender=chain["alice"])
    run_ingestion(sqlite_store, dao, _source(chain, sqlite_store, confirmations=3))
    assert (
        sqlite_store.count(Proposal) == 1 and sqlite_store.count(Vote) == 0
    )  # the vote is only 0 blocks deep
    w3.testing.mine(3)
    run_ingestion(sqlite_store, dao, _source(chain, sqlite_store, confirmations=3))
    assert sqlite_store.count(Vote) == 1


def test_vote_window_is_estimated_while_its_blocks_are_ahead_then_read_from_them(
    sqlite_store: Store, chain: dict[str, Any]
) -> None:
    """Voting starts after ``voteStart`` (a block): while that block is ahead the start is an estimate from the
    block rate, kept across runs; once the blocks exist their timestamps replace the estimates."""
    from datetime import UTC, datetime

    w3, governor = chain["w3"], chain["governor"]
    dao = sqlite_store.ensure_dao("test")
    pid, _ = _propose(chain, "# Window\n\nVoting times.")
    start_block, end_block = governor.functions.proposalSnapshot(pid).call(), governor.functions.proposalDeadline(pid).call()
    head = w3.eth.get_block("latest")
    assert start_block > head["number"]

    def stored() -> Proposal:
        with sqlite_store.session() as session:
            return session.exec(select(Proposal)).one()

    def block_time(number: int) -> datetime:
        return datetime.fromtimestamp(w3.eth.get_block(number)["timestamp"], UTC)

    run_ingestion(sqlite_store, dao, _source(chain, sqlite_store, confirmations=0))
    first = stored()
    assert first.extra["estimated_times"] == ["endTime", "startTime"]
    estimate = first.start.replace(tzinfo=UTC)  # type: ignore[union-attr]
    assert estimate > datetime.fromtimestamp(head["timestamp"], UTC)  # ahead of the chain: voting has not started
    run_ingestion(sqlite_store, dao, _source(chain, sqlite_store, confirmations=0))
    assert stored().start.replace(tzinfo=UTC) == estimate  # type: ignore[union-attr]  # kept, not re-estimated

    w3.testing.mine(end_block - head["number"] + 1)
    run_ingestion(sqlite_store, dao, _source(chain, sqlite_store, confirmations=0))
    final = stored()
    assert "estimated_times" not in final.extra
    assert final.start.replace(tzinfo=UTC) == block_time(start_block)  # type: ignore[union-attr]
    assert final.end.replace(tzinfo=UTC) == block_time(end_block)  # type: ignore[union-attr]


def test_cli_reads_a_governor_through_a_json_rpc_node_over_http(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from bots.cli.main import main

    w3 = Web3(EthereumTesterProvider())
    admin, alice = w3.eth.accounts[:2]
    deployment = deploy_governor(w3, sender=admin, voting_delay=1, voting_period=20)
    send_and_wait(w3, deployment.token.functions.transfer(alice, 100_000 * 10**18), sender=admin)
    for holder in (admin, alice):
        send_and_wait(w3, deployment.token.functions.delegate(holder), sender=holder)
    w3.testing.mine(1)
    chain = {"w3": w3, "governor": deployment.governor, "admin": admin, "bob": alice}
    pid, _ = _propose(chain, "# Over HTTP\n\nRead through a JSON-RPC node.")
    mine_until_active(w3, deployment.governor, pid)
    send_and_wait(w3, deployment.governor.functions.castVoteWithReason(pid, 1, "fine"), sender=alice)
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    with RpcNode(w3, max_log_range=2) as node:
        args = [
            "ingest",
            "governor",
            "--dao",
            "test",
            "--rpc-url",
            node.url,
            "--address",
            deployment.governor.address,
            "--confirmations",
            "0",
            "--chunk-blocks",
            "16",
            "--json",
        ]
        assert main(args) == 0
        first = json.loads(capsys.readouterr().out)[0]
        assert main(args) == 0
        second = json.loads(capsys.readouterr().out)[0]
    assert first["ingested"] == 2 and first["quarantined"] == 0  # the proposal and its vote
    assert (second["ingested"], second["updated"]) == (0, 0)
    assert node.calls.count("eth_getLogs") > 3  # 16 -> 8 -> 4 -> 2 blocks after the node refused


# --- OpenZeppelin Governor behind OpenZeppelin's TimelockController: queue (eta), execute, cancel, params ---

TIMELOCK_DELAY = 3600
FUNDED = "# Fund the security council\n\nQueue through the timelock, then execute."
WITHDRAWN = "# Withdrawn draft\n\nCancelled by its proposer while pending."


@pytest.fixture
def timelock_chain() -> dict[str, Any]:
    w3 = Web3(EthereumTesterProvider())
    admin, alice, bob = w3.eth.accounts[:3]
    deployment = deploy_timelock_governor(
        w3, sender=admin, voting_delay=1, voting_period=10, min_delay=TIMELOCK_DELAY
    )
    token = deployment.token
    for holder in (alice, bob):
        send_and_wait(w3, token.functions.transfer(holder, 200_000 * 10**18), sender=admin)
    for holder in (admin, alice, bob):
        send_and_wait(w3, token.functions.delegate(holder), sender=holder)
    w3.testing.mine(1)
    return {
        "w3": w3,
        "governor": deployment.governor,
        "timelock": deployment.timelock,
        "token": token,
        "admin": admin,
        "alice": alice,
        "bob": bob,
    }


def _run(store: Store, node: RpcNode, governor: Any) -> Any:
    """One `concord ingest governor` run: a fresh source over JSON-RPC HTTP, as the CLI builds it."""
    dao = store.get_dao("test")
    source = GovernorSource(
        Web3(HTTPProvider(node.url)),
        governor.address,
        chain_id=131277322940537,
        confirmations=0,
        chunk_blocks=64,
        open_items=open_governor_proposals(store, dao),
    )
    return run_ingestion(store, dao, source)


def _proposal(store: Store, pid: int) -> Proposal:
    with store.session() as session:
        return session.exec(select(Proposal).where(Proposal.external_id == str(pid))).one()


def _queue_execute_cancel_scenario(store: Store, chain: dict[str, Any], *, pruned: bool) -> None:
    """Drive real proposals through queue/execute/cancel, ingesting after each step; checks what is stored."""
    w3, governor, token = chain["w3"], chain["governor"], chain["token"]
    store.ensure_dao("test")
    # The timelock executes: it approves Bob to pull 1 CVOTE from it (a harmless, checkable call).
    calldata = bytes.fromhex(token.encode_abi("approve", args=[chain["bob"], 10**18])[2:])
    action = [[token.address], [0], [calldata]]
    funded = create_proposal(
        w3,
        governor,
        proposer=chain["admin"],
        targets=[token.address],
        values=[0],
        calldatas=[calldata],
        description=FUNDED,
    )
    withdrawn = create_proposal(
        w3,
        governor,
        proposer=chain["admin"],
        targets=[chain["bob"]],
        values=[0],
        calldatas=[b""],
        description=WITHDRAWN,
    )
    canceled = send_and_wait(
        w3,
        governor.functions.cancel([chain["bob"]], [0], [b""], w3.keccak(text=WITHDRAWN)),
        sender=chain["admin"],
    )
    assert (
        governor.events.ProposalCanceled().process_receipt(canceled, errors=DISCARD)[0]["args"]["proposalId"]
        == withdrawn
    )
    mine_until_active(w3, governor, funded)
    send_and_wait(
        w3,
        governor.functions.castVoteWithReason(funded, 1, "The council needs a budget"),
        sender=chain["admin"],
    )
    with_params = send_and_wait(
        w3,
        governor.functions.castVoteWithReasonAndParams(funded, 0, "Against: scope too wide", b"\x01\x02\x03"),
        sender=chain["alice"],
    )
    logged = governor.events.VoteCastWithParams().process_receipt(with_params, errors=DISCARD)[0]["args"]
    assert logged["params"] == b"\x01\x02\x03"  # a real VoteCastWithParams, not a VoteCast
    send_and_wait(w3, governor.functions.castVote(funded, 2), sender=chain["bob"])

    with RpcNode(w3, pruned=pruned) as node:
        first = _run(store, node, governor)
        assert (first.ingested, first.quarantined) == (5, 0)  # 2 proposals + 3 votes
        with store.session() as session:
            votes = {v.voter: v for v in session.exec(select(Vote))}
        assert (votes[chain["admin"]].choice_label, votes[chain["admin"]].reason) == (
            "For",
            "The council needs a budget",
        )
        assert (votes[chain["alice"]].choice, votes[chain["alice"]].reason) == (0, "Against: scope too wide")
        assert (votes[chain["bob"]].choice_label, votes[chain["bob"]].reason) == ("Abstain", None)
        assert votes[chain["alice"]].voting_power == 200_000.0
        assert (_proposal(store, withdrawn).state, _proposal(store, withdrawn).outcome) == (
            "canceled",
            "cancelled",
        )
        stored = _proposal(store, funded)
        # A pruned node cannot run state(id): the proposal keeps the view its events give (created = pending).
        assert stored.state == ("pending" if pruned else "active")
        assert stored.extra["actions"] == [
            {"target": token.address, "value": "0", "signature": "", "calldata": "0x" + calldata.hex()}
        ]

        w3.testing.mine(11)  # voting ends; the proposal succeeded
        queued = send_and_wait(
            w3, governor.functions.queue(*action, w3.keccak(text=FUNDED)), sender=chain["admin"]
        )
        eta = governor.events.ProposalQueued().process_receipt(queued, errors=DISCARD)[0]["args"][
            "etaSeconds"
        ]
        assert eta == governor.functions.proposalEta(funded).call() > 0
        second = _run(store, node, governor)
        assert (second.ingested, second.updated, second.quarantined) == (0, 1, 0)
        stored = _proposal(store, funded)
        assert (stored.state, stored.outcome, stored.extra["eta"]) == ("queued", "passed", eta)

        now = w3.eth.get_block("latest")["timestamp"]
        w3.testing.timeTravel(now + TIMELOCK_DELAY + 1)
        send_and_wait(w3, governor.functions.execute(*action, w3.keccak(text=FUNDED)), sender=chain["admin"])
        assert token.functions.allowance(chain["timelock"].address, chain["bob"]).call() == 10**18
        third = _run(store, node, governor)
        assert (third.ingested, third.updated, third.quarantined) == (0, 1, 0)
        stored = _proposal(store, funded)
        assert (stored.state, stored.outcome, stored.extra["eta"]) == ("executed", "passed", eta)
        if not pruned:
            assert stored.scores == [200_000.0, 600_000.0, 200_000.0] and stored.scores_state == "final"
        fourth = _run(store, node, governor)
        assert (fourth.ingested, fourth.updated, fourth.quarantined) == (0, 0, 0)
    assert store.count(Proposal) == 2 and store.count(Vote) == 3


def test_timelock_governor_queued_executed_canceled_and_params(
    store: Store, timelock_chain: dict[str, Any]
) -> None:
    _queue_execute_cancel_scenario(store, timelock_chain, pruned=False)


def test_pruned_node_states_come_from_lifecycle_events(
    sqlite_store: Store, timelock_chain: dict[str, Any]
) -> None:
    _queue_execute_cancel_scenario(sqlite_store, timelock_chain, pruned=True)
