"""The keys Concord may hold, and how transactions are sent: never an owner key.

    ProposerKey / LocalProposerKey      a Safe *proposer* (a delegate in the Safe Transaction Service): it may queue
                                        a transaction for the owners, never approve or execute one
    TransactionSender                   sends a prepared call (``execTransaction``) and returns the receipt
    NodeAccountSender / LocalKeySender  a relayer that pays gas: an unlocked node account, or a key Concord holds
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from eth_utils import to_checksum_address

if TYPE_CHECKING:  # pragma: no cover
    from web3 import Web3

__all__ = ["LocalKeySender", "LocalProposerKey", "NodeAccountSender", "ProposerKey", "TransactionSender"]


@runtime_checkable
class ProposerKey(Protocol):
    """A Safe *proposer* key (a delegate that may only queue transactions; never an owner)."""

    @property
    def address(self) -> str: ...

    def sign_hash(self, digest: bytes) -> bytes: ...


class LocalProposerKey:
    """A proposer key held by Concord (passed in by the caller); it can queue, not approve."""

    def __init__(self, private_key: str) -> None:
        from eth_account import Account

        self._account = Account.from_key(private_key)

    @property
    def address(self) -> str:
        """The proposer's address."""
        return str(self._account.address)

    def sign_hash(self, digest: bytes) -> bytes:
        """ECDSA over a 32-byte hash (v = 27/28)."""
        return bytes(self._account.unsafe_sign_hash(digest).signature)


@runtime_checkable
class TransactionSender(Protocol):
    """Sends a prepared contract call and returns the mined receipt."""

    def send(self, w3: Web3, call: Any) -> Any: ...


@dataclass(frozen=True)
class NodeAccountSender:
    """Send from an account the node unlocks (dev chains, eth-tester)."""

    address: str

    def send(self, w3: Web3, call: Any) -> Any:
        """Transact and wait for the receipt."""
        tx_hash = call.transact({"from": to_checksum_address(self.address)})
        return w3.eth.wait_for_transaction_receipt(tx_hash)


class LocalKeySender:
    """Send from a relayer key held by Concord (pays gas only; it is never a Safe owner)."""

    def __init__(self, private_key: str) -> None:
        from eth_account import Account

        self._account = Account.from_key(private_key)

    @property
    def address(self) -> str:
        """The relayer's address."""
        return str(self._account.address)

    def send(self, w3: Web3, call: Any) -> Any:
        """Build, sign with the relayer key, send and wait for the receipt."""
        tx = call.build_transaction({"from": self._account.address, "nonce": w3.eth.get_transaction_count(self._account.address)})
        signed = self._account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        return w3.eth.wait_for_transaction_receipt(tx_hash)
