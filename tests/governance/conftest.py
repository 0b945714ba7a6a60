"""An in-process EVM (eth-tester + py-evm) with a real OpenZeppelin Governor and a real 2-of-3 Safe 1.4.1.

Owners' keys live here, in the tests, as they would in the humans' wallets; the service never sees them.
The chain is deployed once per module and each test runs between ``snapshot()`` and ``revert()``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

OWNER_KEYS = ["0x" + f"{i:064x}" for i in (2, 3, 4)]
OUTSIDER_KEY = "0x" + f"{7:064x}"


@dataclass
class ChainEnv:
    w3: Any
    deployer: str
    relayer: str
    token: Any
    governor: Any
    safe: Any
    owner_keys: list[str]
    proposal_id: int
    infra: Any = None


def sign_as(key: str, typed_data: dict[str, Any]) -> str:
    """What an owner's wallet does with eth_signTypedData_v4."""
    from eth_account import Account

    return "0x" + bytes(Account.sign_typed_data(key, full_message=typed_data).signature).hex()


def exec_as_owners(w3: Any, safe: Any, *, to: str, data: bytes, keys: list[str], sender: str) -> Any:
    """Run a call through the Safe with the given owners' signatures (test setup only)."""
    from eth_account import Account

    from governance.chain.safe_tx import SafeTx, safe_tx_typed_data
    from governance.signatures import OwnerSignature, encode_safe_signatures, parse_hex_signature

    tx = SafeTx(safe=safe.address, chain_id=w3.eth.chain_id, to=to, data=data, nonce=safe.functions.nonce().call())
    sigs = [
        OwnerSignature(owner=Account.from_key(k).address, kind="eip712", signature=parse_hex_signature(sign_as(k, safe_tx_typed_data(tx))))
        for k in keys
    ]
    call = safe.functions.execTransaction(tx.to, 0, tx.data, 0, 0, 0, 0, tx.gas_token, tx.refund_receiver, encode_safe_signatures(sigs))
    return w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))


def calldata(contract: Any, fn: str, *args: Any) -> bytes:
    """ABI-encoded call to ``contract.fn(*args)``."""
    encoded = contract.encode_abi(fn, args=list(args))
    return bytes.fromhex(encoded[2:] if isinstance(encoded, str) else encoded.hex())


@pytest.fixture(scope="module")
def chain_module() -> Iterator[ChainEnv]:
    from eth_account import Account
    from web3 import EthereumTesterProvider, Web3

    from governance.chain.deploy import (
        create_proposal,
        deploy_governor,
        deploy_safe,
        deploy_safe_infrastructure,
        mine_until_active,
        send_and_wait,
    )

    w3 = Web3(EthereumTesterProvider())
    deployer, relayer = w3.eth.accounts[0], w3.eth.accounts[9]
    owners = [Account.from_key(k).address for k in OWNER_KEYS]
    deployment = deploy_governor(w3, sender=deployer, voting_period=1000)
    infra = deploy_safe_infrastructure(w3, sender=deployer)
    safe = deploy_safe(w3, infra, owners=owners, threshold=2, sender=deployer)
    # The Safe holds 10% of the supply and delegates to itself (through the owners, as it must).
    send_and_wait(w3, deployment.token.functions.transfer(safe.address, 100_000 * 10**18), sender=deployer)
    send_and_wait(w3, deployment.token.functions.delegate(deployer), sender=deployer)
    exec_as_owners(
        w3, safe, to=deployment.token.address,
        data=calldata(deployment.token, "delegate", safe.address),
        keys=OWNER_KEYS[:2], sender=relayer,
    )
    proposal_id = create_proposal(
        w3, deployment.governor, proposer=deployer, targets=[deployment.token.address], values=[0],
        calldatas=[calldata(deployment.token, "transfer", deployer, 1)],
        description="Test proposal: send 1 wei of CVOTE back to the treasury",
    )
    mine_until_active(w3, deployment.governor, proposal_id)
    yield ChainEnv(w3=w3, deployer=deployer, relayer=relayer, token=deployment.token, governor=deployment.governor,
                   safe=safe, owner_keys=list(OWNER_KEYS), proposal_id=proposal_id, infra=infra)


@pytest.fixture
def chain(chain_module: ChainEnv) -> Iterator[ChainEnv]:
    snapshot = chain_module.w3.testing.snapshot()
    yield chain_module
    chain_module.w3.testing.revert(snapshot)


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "reports"
    directory.mkdir()
    return directory


def write_report(directory: Path, report_id: str, body: dict[str, Any]) -> str:
    """Write a report file (pretty-printed, as exports are) and return its canonical hash, computed here independently."""
    (directory / f"{report_id}.json").write_text(json.dumps(body, indent=2))
    canonical = json.dumps({k: v for k, v in body.items() if k != "attestation"}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Any]:
    """One SQLite store, for chain tests whose subject is the chain, not the storage backend (both backends are
    covered by the vote-flow tests)."""
    from ingest.core.store import Store

    opened = Store.open(sqlite_url)
    yield opened
    opened.close()
