"""What the governance service reads from and sends to the chain: one Safe and one Governor.

The gateway never holds an owner key. Transactions (``execTransaction``) are sent by a
:class:`~governance.chain.keys.TransactionSender` — a relayer that pays gas; the Safe checks the owners' signatures itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_utils import to_checksum_address

from governance.chain.keys import TransactionSender
from governance.chain.safe_tx import SafeTx
from governance.contracts import load_safe_artifact
from governance.errors import GovernanceRefusal, Rule
from ingest.core.errors import ConfigError
from ingest.core.governor_abi import ProposalState, governor_abi

if TYPE_CHECKING:  # pragma: no cover
    from web3 import Web3

__all__ = ["ChainGateway", "ExecutionResult", "revert_reason"]


@dataclass(frozen=True)
class ExecutionResult:
    """What ``execTransaction`` did."""

    tx_hash: str
    success: bool
    block_number: int


def revert_reason(exc: BaseException) -> str:
    """A short reason from eth-tester's ``TransactionFailed`` or web3's ``ContractLogicError``."""
    text = str(exc.args[0] if exc.args else exc)
    return text.replace("execution reverted: ", "")


class ChainGateway:
    """Reads a Safe's owners, threshold and nonce and a Governor's proposals; submits ``execTransaction``."""

    def __init__(self, w3: Web3, *, safe_address: str, governor_address: str) -> None:
        self.w3 = w3
        self.safe = w3.eth.contract(address=to_checksum_address(safe_address), abi=load_safe_artifact("Safe_V1_4_1")["abi"])
        self.governor = w3.eth.contract(address=to_checksum_address(governor_address), abi=governor_abi())

    @property
    def chain_id(self) -> int:
        """The connected chain's id."""
        return int(self.w3.eth.chain_id)

    def owners(self) -> list[str]:
        """The Safe's owners, read from the chain."""
        return [to_checksum_address(o) for o in self.safe.functions.getOwners().call()]

    def threshold(self) -> int:
        """How many owner signatures the Safe needs."""
        return int(self.safe.functions.getThreshold().call())

    def nonce(self) -> int:
        """The Safe's next transaction nonce."""
        return int(self.safe.functions.nonce().call())

    def onchain_tx_hash(self, tx: SafeTx) -> bytes:
        """The Safe's own ``getTransactionHash`` for ``tx`` (a cross-check of our EIP-712 hashing)."""
        return bytes(
            self.safe.functions.getTransactionHash(
                tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas, tx.gas_price, tx.gas_token,
                tx.refund_receiver, tx.nonce,
            ).call()
        )

    def proposal_state(self, proposal_id: int) -> str:
        """The Governor's state name for a proposal (``Active``, ``Succeeded``…)."""
        try:
            return ProposalState(int(self.governor.functions.state(proposal_id).call())).label
        except OSError as exc:  # connection refused, timeouts (requests' errors are OSErrors)
            raise ConfigError(f"Cannot reach the chain's RPC endpoint: {exc}. Check CONCORD_CHAIN__RPC_URL or --rpc-url.") from exc
        except Exception as exc:
            raise GovernanceRefusal(
                Rule.UNKNOWN_PROPOSAL, f"Governor {self.governor.address} has no proposal {proposal_id} ({revert_reason(exc)})."
            ) from exc

    def proposal_votes(self, proposal_id: int) -> dict[str, int]:
        """Votes counted so far: against, for, abstain."""
        against, for_, abstain = self.governor.functions.proposalVotes(proposal_id).call()
        return {"against": int(against), "for": int(for_), "abstain": int(abstain)}

    def has_voted(self, proposal_id: int, account: str) -> bool:
        """Whether ``account`` (the Safe) already voted."""
        return bool(self.governor.functions.hasVoted(proposal_id, to_checksum_address(account)).call())

    def exec_transaction(self, tx: SafeTx, signatures: bytes, *, sender: TransactionSender) -> ExecutionResult:
        """Submit ``execTransaction``; the Safe verifies the packed owner signatures itself."""
        from web3.logs import DISCARD

        call = self.safe.functions.execTransaction(
            tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas, tx.gas_price, tx.gas_token,
            tx.refund_receiver, signatures,
        )
        try:
            receipt = sender.send(self.w3, call)
        except Exception as exc:
            raise GovernanceRefusal(Rule.SAFE_REJECTED, f"the Safe refused execTransaction: {revert_reason(exc)}.") from exc
        success = bool(self.safe.events.ExecutionSuccess().process_receipt(receipt, errors=DISCARD))
        return ExecutionResult(tx_hash="0x" + bytes(receipt["transactionHash"]).hex(), success=success, block_number=int(receipt["blockNumber"]))
