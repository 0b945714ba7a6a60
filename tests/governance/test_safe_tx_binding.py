"""Every Safe transaction field is bound: what owners see, sign and the Safe executes is the action's own transaction.

Attacks by someone with write access to the store, on the real Safe 1.4.1 contracts: a gas refund paid to an
outsider, the transaction pointed at another Safe with the same owners and a lower threshold, and each field
of the SafeTx tampered before and after the first owner signed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from governance.chain.safe_tx import SafeTx, safe_tx_hash, safe_tx_typed_data
from governance.errors import GovernanceRefusal, Rule
from governance.signatures import parse_hex_signature, verify_owner_signature
from ingest.core.domain import PendingAction
from ingest.core.store import Store
from tests.governance.conftest import OUTSIDER_KEY, ChainEnv, calldata, exec_as_owners, sign_as
from tests.governance.test_vote_flow import make_service, recommend

pytestmark = pytest.mark.chain


@pytest.fixture
def store(sqlite_store: Store) -> Store:
    return sqlite_store

OUTSIDER = Account.from_key(OUTSIDER_KEY).address
OTHER = "0x00000000000000000000000000000000000000aa"


def tamper_stored_tx(store: Store, action_id: int, **fields: Any) -> None:
    """Edit the stored Safe transaction and recompute its hash, as an attacker with store access would."""
    with store.session() as session:
        row = session.get(PendingAction, action_id)
        assert row is not None
        tx = SafeTx.from_json({**row.safe_tx, **fields})
        row.safe_tx = tx.to_json()
        row.safe_tx_hash = "0x" + safe_tx_hash(tx).hex()
        session.add(row)


def tamper_columns(store: Store, action_id: int, **columns: Any) -> None:
    """Edit the action's own columns, and its stored transaction and hash to match them."""
    with store.session() as session:
        row = session.get(PendingAction, action_id)
        assert row is not None
        for name, value in columns.items():
            setattr(row, name, value)
        session.add(row)
    with store.session() as session:
        row = session.get(PendingAction, action_id)
        json_names = {"safe_address": "safe", "safe_nonce": "nonce", "governor_address": "to"}
        tx = SafeTx.from_json({**row.safe_tx, **{json_names.get(k, k): v for k, v in columns.items()}})
        row.safe_tx = tx.to_json()
        row.safe_tx_hash = "0x" + safe_tx_hash(tx).hex()
        session.add(row)


def test_refund_to_an_outsider_is_refused_and_never_paid(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    """Seen: gasPrice, baseGas and refundReceiver edited before signing; both owners signed; the Safe paid the outsider."""
    chain.w3.eth.send_transaction({"from": chain.deployer, "to": chain.safe.address, "value": 10**18})
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    tamper_stored_tx(store, action.id, gas_price=10**9, base_gas=2_000_000, refund_receiver=OUTSIDER)
    shown = service.describe(action.id)
    # The page shows the action's own transaction (no refund), says why it must not be signed, offers nothing to sign.
    fields = {f.name: f.value for f in shown.fields}
    assert (fields["gasPrice"], fields["baseGas"], fields["refundReceiver"]) == (0, 0, "0x" + "0" * 40)
    assert [p.rule for p in shown.problems] == [Rule.TAMPERED_BASE_GAS] and shown.typed_data is None
    # Owners who sign what the stored (tampered) transaction says are refused.
    tampered_typed = safe_tx_typed_data(SafeTx.from_json(store_row(store, action.id).safe_tx))
    balance = chain.w3.eth.get_balance(OUTSIDER)
    for key in chain.owner_keys[:2]:
        with pytest.raises(GovernanceRefusal) as refused:
            service.submit_signature(action.id, signature=sign_as(key, tampered_typed), signer=Account.from_key(key).address)
        assert refused.value.rule == Rule.TAMPERED_BASE_GAS
    assert chain.w3.eth.get_balance(OUTSIDER) == balance
    assert chain.governor.functions.proposalVotes(chain.proposal_id).call() == [0, 0, 0]


def store_row(store: Store, action_id: int) -> PendingAction:
    with store.session() as session:
        row = session.get(PendingAction, action_id)
        assert row is not None
        return row


@pytest.fixture
def weaker_safe(chain: ChainEnv) -> Any:
    """Another Safe with the same owners and a threshold of one, its nonce brought level with the real Safe's."""
    from governance.chain.deploy import deploy_safe

    owners = [Account.from_key(k).address for k in chain.owner_keys]
    other = deploy_safe(chain.w3, chain.infra, owners=owners, threshold=1, sender=chain.deployer, salt_nonce=99)
    while other.functions.nonce().call() < chain.safe.functions.nonce().call():
        exec_as_owners(chain.w3, other, to=chain.token.address, data=calldata(chain.token, "delegate", other.address),
                       keys=chain.owner_keys[:1], sender=chain.relayer)
    return other


def test_stored_tx_pointed_at_another_safe_is_refused(store: Store, chain: ChainEnv, report_dir: Path, weaker_safe: Any) -> None:
    """Seen: the stored tx pointed at a 1-of-3 Safe with the same owners; one owner's signature executed there."""
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    tamper_stored_tx(store, action.id, safe=weaker_safe.address)
    shown = service.describe(action.id)
    assert {f.name: f.value for f in shown.fields}["safe"] == chain.safe.address
    assert [p.rule for p in shown.problems] == [Rule.WRONG_SAFE] and shown.typed_data is None
    tampered_typed = safe_tx_typed_data(SafeTx.from_json(store_row(store, action.id).safe_tx))
    with pytest.raises(GovernanceRefusal) as refused:
        service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], tampered_typed))
    assert refused.value.rule == Rule.WRONG_SAFE
    assert service.describe(action.id).signed_by == []
    # The columns moved too: the configured Safe is not the action's, so nothing is offered for signing.
    tamper_columns(store, action.id, safe_address=weaker_safe.address)
    shown = service.describe(action.id)
    assert [p.rule for p in shown.problems] == [Rule.WRONG_SAFE] and shown.typed_data is None
    with pytest.raises(GovernanceRefusal) as columns:
        service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], tampered_typed))
    assert columns.value.rule == Rule.WRONG_SAFE


def test_a_signature_concord_accepts_cannot_run_on_another_safe(store: Store, chain: ChainEnv, report_dir: Path, weaker_safe: Any) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    signature = sign_as(chain.owner_keys[0], action.typed_data)
    service.submit_signature(action.id, signature=signature)
    tx = SafeTx.from_json(action.safe_tx)
    moved = SafeTx.from_json({**tx.to_json(), "safe": weaker_safe.address})
    owner = Account.from_key(chain.owner_keys[0]).address
    with pytest.raises(GovernanceRefusal):
        verify_owner_signature(chain.w3, moved, signature=parse_hex_signature(signature), owners=[owner], signer=owner)
    packed = parse_hex_signature(signature)
    call = weaker_safe.functions.execTransaction(moved.to, 0, moved.data, 0, 0, 0, 0, moved.gas_token, moved.refund_receiver, packed)
    with pytest.raises(Exception, match="GS026"):
        call.transact({"from": chain.relayer})


FIELD_TAMPERS: list[tuple[str, Any, Rule]] = [
    ("to", OTHER, Rule.TAMPERED_TO),
    ("value", 1, Rule.TAMPERED_VALUE),
    ("data", "0x1234", Rule.TAMPERED_CALLDATA),
    ("operation", 1, Rule.TAMPERED_OPERATION),
    ("safe_tx_gas", 50_000, Rule.TAMPERED_SAFE_TX_GAS),
    ("base_gas", 2_000_000, Rule.TAMPERED_BASE_GAS),
    ("gas_price", 10**18, Rule.TAMPERED_GAS_PRICE),
    ("gas_token", OTHER, Rule.TAMPERED_GAS_TOKEN),
    ("refund_receiver", OUTSIDER, Rule.TAMPERED_REFUND_RECEIVER),
    ("nonce", 7, Rule.TAMPERED_NONCE),
    ("safe", OTHER, Rule.WRONG_SAFE),
    ("chain_id", 1, Rule.WRONG_CHAIN),
]


@pytest.mark.parametrize(("field", "value", "rule"), FIELD_TAMPERS, ids=[f[0] for f in FIELD_TAMPERS])
def test_each_stored_field_tampered_before_and_after_signing(
    store: Store, chain: ChainEnv, report_dir: Path, field: str, value: Any, rule: Rule
) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    first = sign_as(chain.owner_keys[0], action.typed_data)
    second = sign_as(chain.owner_keys[1], action.typed_data)
    original = store_row(store, action.id).safe_tx
    # Before anyone signed.
    tamper_stored_tx(store, action.id, **{field: value})
    with pytest.raises(GovernanceRefusal) as before:
        service.submit_signature(action.id, signature=first)
    assert before.value.rule == rule
    assert [p.rule for p in service.describe(action.id).problems] == [rule]
    # Put back, one owner signs, then the field is tampered again: the second signature and execution are refused.
    tamper_stored_tx(store, action.id, **original)
    service.submit_signature(action.id, signature=first)
    tamper_stored_tx(store, action.id, **{field: value})
    with pytest.raises(GovernanceRefusal) as after:
        service.submit_signature(action.id, signature=second)
    assert after.value.rule == rule
    with pytest.raises(GovernanceRefusal) as at_exec:
        service.execute(action.id)
    assert at_exec.value.rule == rule
    assert chain.governor.functions.proposalVotes(chain.proposal_id).call() == [0, 0, 0]
    assert not chain.governor.functions.hasVoted(chain.proposal_id, chain.safe.address).call()


SIGNED_TAMPERS: list[tuple[str, Any, Rule]] = [
    ("to", OTHER, Rule.TAMPERED_TO),
    ("value", 1, Rule.TAMPERED_VALUE),
    ("operation", 1, Rule.TAMPERED_OPERATION),
    ("safeTxGas", 50_000, Rule.TAMPERED_SAFE_TX_GAS),
    ("baseGas", 2_000_000, Rule.TAMPERED_BASE_GAS),
    ("gasPrice", 10**18, Rule.TAMPERED_GAS_PRICE),
    ("gasToken", OTHER, Rule.TAMPERED_GAS_TOKEN),
    ("refundReceiver", OUTSIDER, Rule.TAMPERED_REFUND_RECEIVER),
    ("nonce", 7, Rule.TAMPERED_NONCE),
]


@pytest.mark.parametrize(("field", "value", "rule"), SIGNED_TAMPERS, ids=[f[0] for f in SIGNED_TAMPERS])
def test_a_wallet_that_signed_another_field_is_told_which(
    store: Store, chain: ChainEnv, report_dir: Path, field: str, value: Any, rule: Rule
) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    signed = {**action.typed_data, "message": {**action.typed_data["message"], field: value}}
    with pytest.raises(GovernanceRefusal) as refused:
        service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], signed), signed_tx=signed)
    assert refused.value.rule == rule


def test_columns_with_a_refund_are_refused_by_policy_unless_allowed(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    """The action's own columns rewritten (and the stored tx and hash with them): the policy refuses refunds."""
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    for column, value in (("gas_price", 10**9), ("refund_receiver", OUTSIDER), ("gas_token", OTHER)):
        tamper_columns(store, action.id, **{column: value})
        shown = service.describe(action.id)
        assert Rule.REFUNDS_NOT_ALLOWED in {p.rule for p in shown.problems}
        assert shown.typed_data is None
        with pytest.raises(GovernanceRefusal) as refused:
            service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], action.typed_data))
        assert refused.value.rule == Rule.REFUNDS_NOT_ALLOWED
        tamper_columns(store, action.id, **{column: 0 if column == "gas_price" else "0x" + "0" * 40})


def test_columns_rewritten_are_not_what_was_recommended(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    """Gas columns the policy allows, rewritten with a consistent stored tx and hash, differ from the audited recommendation."""
    service = make_service(store, chain, report_dir, allow_refunds=True)
    action = recommend(service, chain, report_dir)
    tamper_columns(store, action.id, base_gas=2_000_000, gas_price=10**9, refund_receiver=OUTSIDER)
    rewritten = service.describe(action.id)
    assert [p.rule for p in rewritten.problems] == [Rule.NOT_AS_RECOMMENDED]
    with pytest.raises(GovernanceRefusal) as refused:
        service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], rewritten.typed_data or action.typed_data))
    assert refused.value.rule == Rule.NOT_AS_RECOMMENDED


def test_every_field_is_shown_in_words(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    fields = {f.name: f for f in action.fields}
    assert list(fields) == ["safe", "chain_id", "to", "value", "data", "operation", "safeTxGas", "baseGas", "gasPrice",
                            "gasToken", "refundReceiver", "nonce"]
    assert fields["operation"].words == "CALL (0): an ordinary call, not a delegatecall"
    assert fields["refundReceiver"].words.startswith("none") and not any(f.warning for f in fields.values())
    assert "castVoteWithReason" in fields["data"].words


def test_executed_transaction_is_the_canonical_one(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], action.typed_data))
    done = service.submit_signature(action.id, signature=sign_as(chain.owner_keys[1], action.typed_data))
    assert done.status == "executed"
    events = chain.safe.events.ExecutionSuccess().process_receipt(
        chain.w3.eth.get_transaction_receipt(done.executed_tx_hash), errors=__import__("web3").logs.DISCARD
    )
    assert "0x" + bytes(events[0]["args"]["txHash"]).hex() == action.safe_tx_hash
