"""The other signature forms a Safe accepts: eth_sign and EIP-1271 contract owners; and a Safe's Snapshot vote."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from governance.chain.deploy import deploy_safe
from governance.chain.gateway import ChainGateway
from governance.chain.keys import NodeAccountSender
from governance.chain.safe_message import safe_message_typed_data
from governance.errors import GovernanceRefusal, Rule
from governance.policy import VotePolicy
from governance.reports import DirectoryReportSource
from governance.service import GovernanceService
from governance.signatures import OwnerSignature, encode_safe_signatures, parse_hex_signature
from governance.snapshot import (
    safe_vote_signing_request,
    snapshot_envelope,
    snapshot_vote_message,
    verify_safe_snapshot_vote,
)
from ingest.core.store import Store
from tests.governance.conftest import ChainEnv, sign_as
from tests.governance.test_vote_flow import make_service, recommend

pytestmark = pytest.mark.chain


def test_eth_sign_form_is_accepted_and_executes(sqlite_url: str, chain: ChainEnv, report_dir: Path) -> None:
    """Also: the relayer is a key Concord holds (LocalKeySender), funded for gas and not an owner."""
    from governance.chain.keys import LocalKeySender

    store = Store.open(sqlite_url)
    service = make_service(store, chain, report_dir)
    relayer = LocalKeySender("0x" + f"{99:064x}")
    chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_transaction({"from": chain.deployer, "to": relayer.address, "value": 10**18}))
    service.sender = relayer
    action = recommend(service, chain, report_dir, choice="against")
    personal = Account.sign_message(encode_defunct(primitive=bytes.fromhex(action.safe_tx_hash[2:])), chain.owner_keys[0])
    first = service.submit_signature(action.id, signature="0x" + bytes(personal.signature).hex())
    assert first.signed_by[0].kind == "eth_sign"
    done = service.submit_signature(action.id, signature=sign_as(chain.owner_keys[1], action.typed_data))
    assert done.status == "executed"
    against, for_votes, _ = chain.governor.functions.proposalVotes(chain.proposal_id).call()
    assert against == 100_000 * 10**18 and for_votes == 0
    assert chain.w3.eth.get_transaction(done.executed_tx_hash)["from"] == relayer.address
    assert relayer.address not in chain.safe.functions.getOwners().call()


def test_contract_owner_signs_through_eip1271(sqlite_url: str, chain: ChainEnv, report_dir: Path) -> None:
    """A council Safe whose owners are a nested Safe (a contract) and two people."""
    w3 = chain.w3
    nested_key = chain.owner_keys[2]
    nested = deploy_safe(w3, chain.infra, owners=[Account.from_key(nested_key).address], threshold=1, sender=chain.deployer, salt_nonce=11)
    people = [Account.from_key(k).address for k in chain.owner_keys[:2]]
    council = deploy_safe(w3, chain.infra, owners=[nested.address, *people], threshold=2, sender=chain.deployer, salt_nonce=12)

    store = Store.open(sqlite_url)
    store.ensure_dao("testdao", "Test DAO")
    service = GovernanceService(
        store,
        policy=VotePolicy(allowed_daos=("testdao",)),
        reports=DirectoryReportSource(report_dir),
        chain=ChainGateway(w3, safe_address=council.address, governor_address=chain.governor.address),
        sender=NodeAccountSender(chain.relayer),
    )
    action = recommend(service, chain, report_dir)
    message = bytes.fromhex(action.contract_owner_message[2:])
    nested_request = safe_message_typed_data(safe=nested.address, chain_id=w3.eth.chain_id, message=message)

    outsider_sig = sign_as("0x" + f"{7:064x}", nested_request)
    with pytest.raises(GovernanceRefusal) as refused:
        service.submit_signature(action.id, signature=outsider_sig, signer=nested.address)
    assert refused.value.rule == Rule.BAD_SIGNATURE

    contract_sig = sign_as(nested_key, nested_request)
    first = service.submit_signature(action.id, signature=contract_sig, signer=nested.address)
    assert (first.signed_by[0].owner, first.signed_by[0].kind) == (nested.address, "eip1271")
    done = service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], action.typed_data))
    assert done.status == "executed"
    assert chain.governor.functions.hasVoted(chain.proposal_id, council.address).call()


def test_safe_snapshot_vote_is_built_and_verified_by_the_safe(chain: ChainEnv) -> None:
    w3 = chain.w3
    vote = snapshot_vote_message(
        voter=chain.safe.address, space="testdao.eth", proposal="0x" + "ab" * 32, choice=1,
        reason="Concord report sha256:" + "cd" * 32, timestamp=1_700_000_000,
    )
    request = safe_vote_signing_request(w3.eth.chain_id, safe=chain.safe.address, vote=vote)
    sigs = [
        OwnerSignature(owner=Account.from_key(k).address, kind="eip712", signature=parse_hex_signature(sign_as(k, request)))
        for k in chain.owner_keys[:2]
    ]
    packed = encode_safe_signatures(sigs)
    assert verify_safe_snapshot_vote(w3, safe=chain.safe.address, vote=vote, signature=packed)
    assert not verify_safe_snapshot_vote(w3, safe=chain.safe.address, vote=vote, signature=encode_safe_signatures(sigs[:1]))
    changed = {**vote, "message": {**vote["message"], "choice": 2}}
    assert not verify_safe_snapshot_vote(w3, safe=chain.safe.address, vote=changed, signature=packed)
    envelope = snapshot_envelope(vote, address=chain.safe.address, signature="0x" + packed.hex())
    assert envelope["data"]["types"]["Vote"][3] == {"name": "proposal", "type": "bytes32"}
    assert "EIP712Domain" not in envelope["data"]["types"]
