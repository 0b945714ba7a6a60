"""The one canonical Safe transaction of an action, and every way another transaction can differ from it.

An action's columns (chain id, Safe, Governor, proposal, recommended vote, nonce, gas and refund fields) are
the only source of its ``SafeTx``: :func:`canonical_safe_tx` builds it, and that transaction is what is
hashed, shown, signed, checked and executed. The stored copy (``PendingAction.safe_tx``) and what a wallet says
it signed are compared with it field by field; ``governance.policy`` refuses each difference with the
field's own rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from governance.calldata import cast_vote_calldata, describe_vote_call
from governance.chain.safe_tx import ZERO_ADDRESS, SafeTx
from governance.errors import Rule
from ingest.core.domain import PendingAction
from ingest.core.errors import InputError

__all__ = [
    "FIELD_RULES",
    "Difference",
    "TxField",
    "canonical_safe_tx",
    "fields_in_words",
    "signed_difference",
    "stored_difference",
]

#: SafeTx attribute -> (EIP-712 name, the rule that refuses a difference in it).
FIELD_RULES: dict[str, tuple[str, Rule]] = {
    "safe": ("safe", Rule.WRONG_SAFE),
    "chain_id": ("chainId", Rule.WRONG_CHAIN),
    "to": ("to", Rule.TAMPERED_TO),
    "value": ("value", Rule.TAMPERED_VALUE),
    "data": ("data", Rule.TAMPERED_CALLDATA),
    "operation": ("operation", Rule.TAMPERED_OPERATION),
    "safe_tx_gas": ("safeTxGas", Rule.TAMPERED_SAFE_TX_GAS),
    "base_gas": ("baseGas", Rule.TAMPERED_BASE_GAS),
    "gas_price": ("gasPrice", Rule.TAMPERED_GAS_PRICE),
    "gas_token": ("gasToken", Rule.TAMPERED_GAS_TOKEN),
    "refund_receiver": ("refundReceiver", Rule.TAMPERED_REFUND_RECEIVER),
    "nonce": ("nonce", Rule.TAMPERED_NONCE),
}
_ADDRESS_FIELDS = {"safe", "to", "gas_token", "refund_receiver"}


def canonical_safe_tx(action: PendingAction) -> SafeTx:
    """The action's Safe transaction, built from its own columns only (a vote: a plain CALL carrying no value)."""
    recommendation = action.recommendation or {}
    return SafeTx(
        safe=to_checksum_address(action.safe_address),
        chain_id=int(action.chain_id),
        to=to_checksum_address(action.governor_address),
        data=cast_vote_calldata(int(action.proposal_ref), int(recommendation.get("support", 0)),
                                str(recommendation.get("reason", ""))),
        nonce=int(action.safe_nonce),
        value=0,
        operation=0,
        safe_tx_gas=int(action.safe_tx_gas),
        base_gas=int(action.base_gas),
        gas_price=int(action.gas_price),
        gas_token=to_checksum_address(action.gas_token),
        refund_receiver=to_checksum_address(action.refund_receiver),
    )


def _same(name: str, expected: Any, found: Any) -> bool:
    if name in _ADDRESS_FIELDS:
        try:
            return to_checksum_address(str(found)) == to_checksum_address(str(expected))
        except ValueError:
            return False
    if name == "data":
        try:
            found_bytes = found if isinstance(found, bytes) else bytes.fromhex(str(found).removeprefix("0x"))
        except ValueError:
            return False
        return bool(found_bytes == expected)
    try:
        return int(found) == int(expected)
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Difference:
    """One field where a transaction differs from the canonical one."""

    field: str
    label: str
    rule: Rule
    expected: Any
    found: Any

    def message(self, what: str) -> str:
        """``what`` has <field> <found>, the action's own transaction has <expected>."""
        return f"{what} has {self.label} {_shown(self.found)[:80]}, the action's own transaction has {_shown(self.expected)[:80]}."


def _shown(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


def stored_difference(canonical: SafeTx, stored: Mapping[str, Any]) -> Difference | None:
    """The first field (in :data:`FIELD_RULES` order) where stored SafeTx JSON differs from ``canonical``."""
    for name, (label, rule) in FIELD_RULES.items():
        expected = getattr(canonical, name)
        if name not in stored or not _same(name, expected, stored[name]):
            return Difference(name, label, rule, expected, stored.get(name, "(missing)"))
    return None


def signed_difference(canonical: SafeTx, signed: Mapping[str, Any]) -> Difference | None:
    """The first field where EIP-712 typed data a wallet says it signed differs from ``canonical``.

    Fields the wallet omitted are not compared (the signature itself still covers them).
    """
    message = signed.get("message", signed)
    domain = signed.get("domain", {})
    for name, (label, rule) in FIELD_RULES.items():
        found = domain.get("verifyingContract") if name == "safe" else domain.get("chainId") if name == "chain_id" else message.get(label)
        if found is not None and not _same(name, getattr(canonical, name), found):
            return Difference(name, label, rule, getattr(canonical, name), found)
    return None


@dataclass(frozen=True)
class TxField:
    """One SafeTx field as a signer sees it: its EIP-712 name, raw value, meaning in words, and a warning if risky."""

    name: str
    value: Any
    words: str
    warning: str | None = None


def _wei(amount: int) -> str:
    return f"{amount} wei" + (f" ({amount / 10**18:g} ETH)" if amount else "")


def fields_in_words(tx: SafeTx, *, governor: str | None = None) -> list[TxField]:
    """Every field of ``tx`` in words, a non-zero refund, gas price or gas token marked as a warning."""
    refund = tx.gas_price > 0 or tx.gas_token != ZERO_ADDRESS or tx.refund_receiver != ZERO_ADDRESS
    try:
        call: str | None = describe_vote_call(tx.to, tx.data)
    except InputError:
        call = None
    return [
        TxField("safe", tx.safe, f"the Safe {tx.safe} executes this"),
        TxField("chain_id", tx.chain_id, f"chain {tx.chain_id}"),
        TxField("to", tx.to, f"calls contract {tx.to}" + (" (the Governor)" if governor and to_checksum_address(governor) == tx.to else ""),
                None if governor is None or to_checksum_address(governor) == tx.to else "the target is not the configured Governor"),
        TxField("value", tx.value, "sends no ether" if tx.value == 0 else f"sends {_wei(tx.value)}",
                None if tx.value == 0 else "the transaction moves ether out of the Safe"),
        TxField("data", "0x" + tx.data.hex(), call or f"{len(tx.data)} bytes of calldata (not a vote this Safe knows)"),
        TxField("operation", tx.operation,
                "CALL (0): an ordinary call, not a delegatecall" if tx.operation == 0 else f"DELEGATECALL ({tx.operation}): runs foreign code as the Safe",
                None if tx.operation == 0 else "a delegatecall can change the Safe itself"),
        TxField("safeTxGas", tx.safe_tx_gas, "0: the inner call must succeed or the whole transaction reverts"
                if tx.safe_tx_gas == 0 else f"{tx.safe_tx_gas} gas reserved for the inner call, which may then fail while the "
                "transaction succeeds", None if tx.safe_tx_gas == 0 else "a failed vote would still use the Safe's nonce"),
        TxField("baseGas", tx.base_gas, "no base gas refunded" if tx.base_gas == 0 else f"{tx.base_gas} gas added to the refund",
                "base gas is paid out as a refund" if tx.base_gas and refund else None),
        TxField("gasPrice", tx.gas_price, "no gas refund: the relayer pays its own gas" if tx.gas_price == 0
                else f"the Safe refunds gas at {_wei(tx.gas_price)} per gas", "the Safe pays a gas refund" if tx.gas_price else None),
        TxField("gasToken", tx.gas_token, "refunds (if any) in ether" if tx.gas_token == ZERO_ADDRESS else f"refunds paid in token {tx.gas_token}",
                None if tx.gas_token == ZERO_ADDRESS else "refunds are paid in a token"),
        TxField("refundReceiver", tx.refund_receiver, "none: any refund would go to the relayer that sends it"
                if tx.refund_receiver == ZERO_ADDRESS else f"refunds are paid to {tx.refund_receiver}",
                None if tx.refund_receiver == ZERO_ADDRESS else f"refunds go to {tx.refund_receiver}"),
        TxField("nonce", tx.nonce, f"the Safe's transaction number {tx.nonce}"),
    ]
