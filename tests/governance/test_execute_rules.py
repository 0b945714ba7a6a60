"""``execute`` re-checks every rule itself, on the real Safe and Governor: each test names the rule it guards.

Signatures are collected with ``auto_execute=False``; then the world changes before ``execute`` runs.
Without the rule the Safe or the Governor would refuse later with an unnamed revert (or, for
``execution_failed``, the action would be marked executed while no vote was cast).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from governance.chain.gateway import ChainGateway
from governance.errors import GovernanceRefusal, Rule
from governance.service import GasTerms
from ingest.core.store import Store
from tests.governance.conftest import ChainEnv, sign_as
from tests.governance.test_safe_tx_binding import weaker_safe  # noqa: F401 - fixture
from tests.governance.test_vote_flow import make_service, recommend

pytestmark = pytest.mark.chain


@pytest.fixture
def store(sqlite_store: Store) -> Store:
    return sqlite_store


def signed_by_two(store: Store, chain: ChainEnv, report_dir: Path, **policy: Any) -> tuple[Any, dict[str, Any]]:
    service = make_service(store, chain, report_dir, **policy)
    service.auto_execute = False
    action = recommend(service, chain, report_dir)
    for key in chain.owner_keys[:2]:
        service.submit_signature(action.id, signature=sign_as(key, action.typed_data), signer=Account.from_key(key).address)
    return service, action


def assert_no_vote(chain: ChainEnv, service: Any, action_id: int) -> None:
    assert chain.governor.functions.proposalVotes(chain.proposal_id).call() == [0, 0, 0]
    assert service.describe(action_id).status == "pending"


def test_execute_checks_the_configured_safe(store: Store, chain: ChainEnv, report_dir: Path, weaker_safe: Any) -> None:  # noqa: F811
    service, action = signed_by_two(store, chain, report_dir)
    service.chain = ChainGateway(chain.w3, safe_address=weaker_safe.address, governor_address=chain.governor.address)
    with pytest.raises(GovernanceRefusal) as refused:
        service.execute(action.id)
    assert refused.value.rule == Rule.WRONG_SAFE
    assert not chain.governor.functions.hasVoted(chain.proposal_id, weaker_safe.address).call()
    assert_no_vote(chain, service, action.id)


class VotedElsewhere(ChainGateway):
    """The Safe voted by another route that leaves its nonce alone (e.g. an EIP-1271 castVoteBySig)."""

    def has_voted(self, proposal_id: int, account: str) -> bool:
        return True


def test_execute_checks_the_safe_has_not_voted(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service, action = signed_by_two(store, chain, report_dir)
    service.chain = VotedElsewhere(chain.w3, safe_address=chain.safe.address, governor_address=chain.governor.address)
    with pytest.raises(GovernanceRefusal) as refused:
        service.execute(action.id)
    assert refused.value.rule == Rule.ALREADY_VOTED
    assert_no_vote(chain, service, action.id)


def test_execute_checks_the_proposal_is_still_active(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service, action = signed_by_two(store, chain, report_dir)
    deadline = chain.governor.functions.proposalDeadline(chain.proposal_id).call()
    chain.w3.testing.mine(deadline - chain.w3.eth.block_number + 1)
    with pytest.raises(GovernanceRefusal) as refused:
        service.execute(action.id)
    assert refused.value.rule == Rule.PROPOSAL_NOT_ACTIVE
    assert_no_vote(chain, service, action.id)


class StaleStateReader(ChainGateway):
    """An RPC node a block behind: it still reports the proposal Active after its voting period ended."""

    def proposal_state(self, proposal_id: int) -> str:
        return "Active"


def test_a_failed_inner_call_is_execution_failed_not_executed(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    """With a non-zero safeTxGas a failing vote does not revert execTransaction: the Safe uses its nonce, emits
    ExecutionFailure, and Concord must say execution_failed, not executed."""
    service = make_service(store, chain, report_dir)
    service.auto_execute = False
    action = recommend(service, chain, report_dir, gas=GasTerms(safe_tx_gas=50_000))
    assert action.typed_data["message"]["safeTxGas"] == 50_000
    assert {f.name: f.warning for f in action.fields}["safeTxGas"] is not None
    for key in chain.owner_keys[:2]:
        service.submit_signature(action.id, signature=sign_as(key, action.typed_data))
    deadline = chain.governor.functions.proposalDeadline(chain.proposal_id).call()
    chain.w3.testing.mine(deadline - chain.w3.eth.block_number + 1)
    service.chain = StaleStateReader(chain.w3, safe_address=chain.safe.address, governor_address=chain.governor.address)
    nonce = chain.safe.functions.nonce().call()
    with pytest.raises(GovernanceRefusal) as refused:
        service.execute(action.id)
    assert refused.value.rule == Rule.EXECUTION_FAILED
    assert chain.safe.functions.nonce().call() == nonce + 1  # the Safe ran it and used the nonce
    assert_no_vote(chain, service, action.id)


def test_refund_terms_need_the_policy(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir)
    terms = GasTerms(base_gas=2_000, gas_price=10**9, refund_receiver=chain.relayer)
    with pytest.raises(GovernanceRefusal) as refused:
        recommend(service, chain, report_dir, gas=terms)
    assert refused.value.rule == Rule.REFUNDS_NOT_ALLOWED
    allowed = make_service(store, chain, report_dir, allow_refunds=True)
    action = recommend(allowed, chain, report_dir, gas=terms)
    assert action.problems == [] and action.typed_data["message"]["refundReceiver"] == chain.relayer
    assert "gasPrice: the Safe pays a gas refund" in action.warnings
