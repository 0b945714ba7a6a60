"""What the governance service reads from and sends to the chain: one Safe and one Governor.

The gateway never holds an owner key. Transactions (``execTransaction``) are sent by a
:class:`~governance.chain.keys.TransactionSender` — a relayer that pays gas; the Safe checks the owners' signatures itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from governance.chain.keys import TransactionSender
from governance.chain.safe_tx import SafeTx
from governance.contracts import load_safe_artifact
from governance.errors import GovernanceRefusal, Rule
from ingest.core.errors import ConfigError
from ingest.core.governor_abi import ProposalState, governor_abi

if TYPE_CHECKING:  # pragma: no cover
    from web3 import Web3

__all__ = ["CLOCK_SKEW", "LOG_RANGE_BLOCKS", "ChainGateway", "ExecutionResult", "first_block_after", "revert_reason"]

LOG_RANGE_BLOCKS = 2_000  # blocks per eth_getLogs call: what public JSON-RPC providers accept (some cap at 2,000)
CLOCK_SKEW = timedelta(hours=1)  # how far this host's clock and a chain's block times may disagree


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


def first_block_after(time: int, *, latest: int, timestamp_of: Callable[[int], int]) -> int:
    """The first block (of 0..``latest``) stamped after ``time``, by bisection; ``latest + 1`` when none is yet."""
    low, high = 0, latest + 1
    while low < high:
        middle = (low + high) // 2
        if timestamp_of(middle) > time:
            high = middle
        else:
            low = middle + 1
    return low


class ChainGateway:
    """Reads a Safe's owners, threshold and nonce and a Governor's proposals; submits ``execTransaction``.

    Every read is made at the chain's latest block and kept for that block (its number and hash, so a reorganised
    or reverted chain is a new block): a page that shows the same action again, or several actions of one Safe,
    asks the node only for the latest block until a new one arrives (what a view returns at a given block cannot
    change). Errors are never kept.
    """

    def __init__(self, w3: Web3, *, safe_address: str, governor_address: str) -> None:
        self.w3 = w3
        self._lock = threading.Lock()
        self._block: tuple[int, bytes] | None = None
        self._reads: dict[tuple[Any, ...], Any] = {}
        self.safe = w3.eth.contract(address=to_checksum_address(safe_address), abi=load_safe_artifact("Safe_V1_4_1")["abi"])
        self.governor = w3.eth.contract(address=to_checksum_address(governor_address), abi=governor_abi())

    def _at_latest_block(self, key: tuple[Any, ...], read: Callable[[int], Any]) -> Any:
        """``read(number)``'s value, kept while the latest block stays the same block."""
        latest = self.w3.eth.get_block("latest")
        block = (int(latest["number"]), bytes(latest["hash"]))
        with self._lock:
            if block != self._block:
                self._reads.clear()
                self._block = block
            elif key in self._reads:
                return self._reads[key]
        value = read(block[0])
        with self._lock:
            if self._block == block:
                self._reads[key] = value
        return value

    @property
    def chain_id(self) -> int:
        """The connected chain's id."""
        return int(self._at_latest_block(("chain_id",), lambda _block: self.w3.eth.chain_id))

    def owners(self) -> list[str]:
        """The Safe's owners, read from the chain."""
        found = self._at_latest_block(("owners",), lambda block: self.safe.functions.getOwners().call(block_identifier=block))
        return [to_checksum_address(o) for o in found]

    def threshold(self) -> int:
        """How many owner signatures the Safe needs."""
        return int(self._at_latest_block(("threshold",), lambda block: self.safe.functions.getThreshold().call(block_identifier=block)))

    def nonce(self) -> int:
        """The Safe's next transaction nonce."""
        return int(self._at_latest_block(("nonce",), lambda block: self.safe.functions.nonce().call(block_identifier=block)))

    def onchain_tx_hash(self, tx: SafeTx) -> bytes:
        """The Safe's own ``getTransactionHash`` for ``tx`` (a cross-check of our EIP-712 hashing)."""
        fields = (tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas, tx.gas_price, tx.gas_token,
                  tx.refund_receiver, tx.nonce)
        return bytes(self._at_latest_block(
            ("tx_hash", *fields), lambda block: self.safe.functions.getTransactionHash(*fields).call(block_identifier=block)
        ))

    def proposal_state(self, proposal_id: int) -> str:
        """The Governor's state name for a proposal (``Active``, ``Succeeded``…)."""
        try:
            state = self._at_latest_block(("state", proposal_id),
                                          lambda block: self.governor.functions.state(proposal_id).call(block_identifier=block))
            return ProposalState(int(state)).label
        except OSError as exc:  # connection refused, timeouts (requests' errors are OSErrors)
            raise ConfigError(f"Cannot reach the chain's RPC endpoint: {exc}. Check CONCORD_CHAIN__RPC_URL or --rpc-url.") from exc
        except Exception as exc:
            raise GovernanceRefusal(
                Rule.UNKNOWN_PROPOSAL, f"Governor {self.governor.address} has no proposal {proposal_id} ({revert_reason(exc)})."
            ) from exc

    def proposal_votes(self, proposal_id: int) -> dict[str, int]:
        """Votes counted so far: against, for, abstain."""
        against, for_, abstain = self._at_latest_block(
            ("votes", proposal_id), lambda block: self.governor.functions.proposalVotes(proposal_id).call(block_identifier=block))
        return {"against": int(against), "for": int(for_), "abstain": int(abstain)}

    def has_voted(self, proposal_id: int, account: str) -> bool:
        """Whether ``account`` (the Safe) already voted."""
        voter = to_checksum_address(account)
        return bool(self._at_latest_block(
            ("voted", proposal_id, voter), lambda block: self.governor.functions.hasVoted(proposal_id, voter).call(block_identifier=block)))

    def find_execution(self, safe_tx_hash: str, *, nonce: int, since: datetime) -> ExecutionResult | None:
        """The Safe's ``ExecutionSuccess`` for ``safe_tx_hash`` (a transaction with Safe nonce ``nonce``, prepared at
        ``since``), if the chain has one: how a restart learns that an ``execTransaction`` sent before a crash went
        through.

        Nothing is scanned while the Safe's nonce has not passed ``nonce`` (the transaction cannot have run yet).
        Otherwise the logs are filtered by the event's indexed hash and read newest first, ``LOG_RANGE_BLOCKS`` blocks
        per ``eth_getLogs`` call (public nodes refuse wider ranges), back to the first block stamped after ``since``
        less ``CLOCK_SKEW``: the transaction cannot have run before it was prepared. Block times bound the scan on
        every chain, also where a Governor's clock is not this chain's block number (timestamps, or the L1 block
        numbers an Arbitrum contract reads).
        """
        from web3.exceptions import Web3Exception

        if self.nonce() <= nonce:
            return None
        wanted = bytes.fromhex(safe_tx_hash.removeprefix("0x"))
        event = self.safe.events.ExecutionSuccess()
        try:
            high = int(self.w3.eth.block_number)
            earliest = first_block_after(int((since - CLOCK_SKEW).timestamp()), latest=high,
                                         timestamp_of=lambda number: int(self.w3.eth.get_block(number)["timestamp"]))
            while high >= earliest:
                low = max(earliest, high - LOG_RANGE_BLOCKS + 1)
                for log in event.get_logs(argument_filters={"txHash": wanted}, from_block=low, to_block=high):
                    if bytes(log["args"]["txHash"]) == wanted:
                        return ExecutionResult(tx_hash="0x" + bytes(log["transactionHash"]).hex(), success=True,
                                               block_number=int(log["blockNumber"]))
                high = low - 1
        except (OSError, Web3Exception) as exc:  # the node timed out, refused the range or answered an error
            raise ConfigError(
                f"Cannot tell whether Safe transaction {safe_tx_hash} ran: the chain's RPC endpoint failed while "
                f"Concord read the Safe's logs ({revert_reason(exc)}). Nothing is sent again until it can tell; check "
                "CONCORD_CHAIN__RPC_URL or --rpc-url."
            ) from exc
        return None

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
