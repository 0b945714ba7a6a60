"""Queue through the Safe Transaction Service as a proposer; owners confirm there; Concord verifies and executes."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from governance.chain.keys import LocalProposerKey
from governance.chain.safe_service import SafeServiceError, SafeTransactionServiceClient
from governance.chain.safe_tx import SafeTx, safe_tx_hash
from governance.contracts import load_safe_artifact
from governance.errors import GovernanceRefusal, Rule
from ingest.core.store import Store
from tests.governance.conftest import ChainEnv, sign_as
from tests.governance.safe_service_server import ServiceState, running_safe_service
from tests.governance.test_vote_flow import make_service, recommend

pytestmark = pytest.mark.chain

PROPOSER_KEY = "0x" + f"{8:064x}"


def test_our_safe_tx_hash_equals_safe_eth_py() -> None:
    from safe_eth.safe.safe_tx import SafeTx as Reference

    tx = SafeTx(safe="0x" + "11" * 20, chain_id=100, to="0x" + "22" * 20, data=b"\x01\x02", nonce=7, value=3)
    ref = Reference(None, tx.safe, tx.to, 3, b"\x01\x02", 0, 0, 0, 0, None, None, safe_nonce=7, safe_version="1.4.1", chain_id=100)
    assert safe_tx_hash(tx) == bytes(ref.safe_tx_hash)


def test_proposer_queues_owners_confirm_in_the_service_and_concord_executes(sqlite_url: str, chain: ChainEnv, report_dir: Path) -> None:
    store = Store.open(sqlite_url)
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    proposer = LocalProposerKey(PROPOSER_KEY)
    state = ServiceState(w3=chain.w3, safe_abi=load_safe_artifact("Safe_V1_4_1")["abi"])
    with running_safe_service(state) as url, SafeTransactionServiceClient(url) as client:
        with pytest.raises(GovernanceRefusal) as unregistered:
            service.propose_to_safe_service(action.id, client=client, proposer=proposer)
        assert unregistered.value.rule == Rule.NOT_A_PROPOSER

        delegator = Account.from_key(chain.owner_keys[0]).address
        state.delegate(proposer.address, delegator=delegator, safe=chain.safe.address)
        service.propose_to_safe_service(action.id, client=client, proposer=proposer)
        queued = client.get_transaction(action.safe_tx_hash)
        # As the real service records it: the owner who delegated is the proposer, the delegate proposed it.
        assert (queued.proposer, queued.proposed_by_delegate) == (delegator, proposer.address)
        assert queued.confirmations == [] and queued.confirmations_required == 2
        assert (queued.nonce, queued.safe_tx_gas, queued.gas_price, queued.refund_receiver) == (action.nonce, 0, 0, "0x" + "0" * 40)
        info = client.get_safe(chain.safe.address)
        assert info.threshold == 2 and info.nonce == action.nonce

        # The proposer cannot confirm: the service (and the Safe) only take owners.
        proposer_sig = sign_as(PROPOSER_KEY, action.typed_data)
        with pytest.raises(SafeServiceError, match="not an owner"):
            client.confirm(action.safe_tx_hash, signature=proposer_sig)

        # Owners confirm in Safe{Wallet} (here: straight to the service with their own keys).
        client.confirm(action.safe_tx_hash, signature=sign_as(chain.owner_keys[0], action.typed_data))
        partial = service.sync_from_safe_service(action.id, client=client)
        assert partial.status == "pending" and len(partial.signed_by) == 1
        client.confirm(action.safe_tx_hash, signature=sign_as(chain.owner_keys[1], action.typed_data))
        done = service.sync_from_safe_service(action.id, client=client)
    assert done.status == "executed" and done.refused_confirmations == []
    assert chain.governor.functions.proposalVotes(chain.proposal_id).call()[1] == 100_000 * 10**18
    # Current routes only: v2 for multisig transactions and delegates, v1 only for Safe info and confirmations.
    v1 = {r for r in state.requests if "/api/v1/" in r}
    assert all(r.endswith("/confirmations/") or r.startswith(f"GET /api/v1/safes/{chain.safe.address}/") for r in v1), v1
    assert f"POST /api/v2/safes/{chain.safe.address}/multisig-transactions/" in state.requests


def test_a_delegation_for_every_safe_counts_and_an_expired_one_does_not(sqlite_url: str, chain: ChainEnv, report_dir: Path) -> None:
    """The service honours a delegation registered without a Safe (for every Safe of its delegator) and ignores an
    expired one or one from a non-owner; ``?safe=`` does not list the first, so Concord must not rely on it."""
    from datetime import UTC, datetime, timedelta

    store = Store.open(sqlite_url)
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    proposer = LocalProposerKey(PROPOSER_KEY)
    owner = Account.from_key(chain.owner_keys[1]).address
    state = ServiceState(w3=chain.w3, safe_abi=load_safe_artifact("Safe_V1_4_1")["abi"])
    with running_safe_service(state) as url, SafeTransactionServiceClient(url) as client:
        state.delegate(proposer.address, delegator=owner, safe=chain.safe.address, expiry=datetime.now(UTC) - timedelta(hours=1))
        state.delegate(proposer.address, delegator=Account.from_key("0x" + f"{7:064x}").address, safe=None)  # not an owner
        with pytest.raises(GovernanceRefusal) as expired:
            service.propose_to_safe_service(action.id, client=client, proposer=proposer)
        assert expired.value.rule == Rule.PROPOSER_EXPIRED
        assert not any(r.startswith("POST") for r in state.requests)

        state.delegate(proposer.address, delegator=owner, safe=None)
        assert client.list_delegates(chain.safe.address) == [proposer.address]  # only the expired one names the Safe
        service.propose_to_safe_service(action.id, client=client, proposer=proposer)
        queued = client.get_transaction(action.safe_tx_hash)
        assert (queued.proposer, queued.proposed_by_delegate) == (owner, proposer.address)


def test_every_page_is_read(chain: ChainEnv) -> None:
    """Lists are paginated (``next``): five queued transactions and three delegations at two per page."""
    state = ServiceState(w3=chain.w3, safe_abi=load_safe_artifact("Safe_V1_4_1")["abi"], page_size=2)
    owner = Account.from_key(chain.owner_keys[0])
    nonce = chain.safe.functions.nonce().call()
    with running_safe_service(state) as url, SafeTransactionServiceClient(url) as client:
        for i in range(5):
            tx = SafeTx(safe=chain.safe.address, chain_id=chain.w3.eth.chain_id, to=chain.governor.address, data=bytes([i]), nonce=nonce + i)
            client.propose(tx, sender=owner.address, signature="0x" + bytes(owner.unsafe_sign_hash(safe_tx_hash(tx)).signature).hex())
        pending = client.pending(chain.safe.address)
        assert sorted(t.nonce for t in pending) == [nonce + i for i in range(5)]
        assert all(t.proposer == owner.address and t.proposed_by_delegate is None for t in pending)
        assert sum(r == f"GET /api/v2/safes/{chain.safe.address}/multisig-transactions/" for r in state.requests) == 3
        for i in range(3):
            state.delegate("0x" + f"{i + 1:040x}", delegator=owner.address, safe=chain.safe.address)
        assert len(client.delegations(safe=chain.safe.address)) == 3


def test_owner_key_is_never_used_as_proposer(sqlite_url: str, chain: ChainEnv, report_dir: Path) -> None:
    store = Store.open(sqlite_url)
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    state = ServiceState(w3=chain.w3, safe_abi=load_safe_artifact("Safe_V1_4_1")["abi"])
    owner_as_proposer = LocalProposerKey(chain.owner_keys[0])
    state.delegate(owner_as_proposer.address, delegator=Account.from_key(chain.owner_keys[1]).address, safe=chain.safe.address)
    with running_safe_service(state) as url, SafeTransactionServiceClient(url) as client, pytest.raises(GovernanceRefusal) as refused:
        service.propose_to_safe_service(action.id, client=client, proposer=owner_as_proposer)
    assert refused.value.rule == Rule.PROPOSER_IS_OWNER
    assert not any(r.startswith("POST") for r in state.requests)


def test_service_errors_are_clear(chain: ChainEnv) -> None:
    state = ServiceState(w3=chain.w3, safe_abi=load_safe_artifact("Safe_V1_4_1")["abi"])
    with running_safe_service(state) as url, SafeTransactionServiceClient(url) as client:
        tx = SafeTx(safe=chain.safe.address, chain_id=chain.w3.eth.chain_id, to=chain.governor.address, data=b"", nonce=chain.safe.functions.nonce().call())
        outsider = Account.from_key("0x" + f"{7:064x}")
        with pytest.raises(SafeServiceError, match="not an owner or delegate"):
            client.propose(tx, sender=outsider.address, signature="0x" + bytes(outsider.unsafe_sign_hash(safe_tx_hash(tx)).signature).hex())
    with SafeTransactionServiceClient(url, timeout=1) as closed, pytest.raises(SafeServiceError, match="did not answer"):
        closed.get_safe(chain.safe.address)
