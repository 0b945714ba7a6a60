"""Safe transactions: the EIP-712 ``SafeTx`` struct, its hash and the typed data owners sign.

Matches Safe >= 1.3 (domain ``EIP712Domain(uint256 chainId,address verifyingContract)``); the hash
equals the Safe's own ``getTransactionHash`` (a test checks this on chain).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

__all__ = [
    "SAFE_TX_TYPEHASH",
    "SafeTx",
    "domain_separator",
    "encode_transaction_data",
    "safe_tx_hash",
    "safe_tx_typed_data",
]

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
DOMAIN_TYPEHASH = keccak(text="EIP712Domain(uint256 chainId,address verifyingContract)")
SAFE_TX_TYPEHASH = keccak(
    text="SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,"
    "uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)"
)


@dataclass(frozen=True)
class SafeTx:
    """One Safe transaction, bound to a Safe on a chain at a nonce."""

    safe: str
    chain_id: int
    to: str
    data: bytes
    nonce: int
    value: int = 0
    operation: int = 0
    safe_tx_gas: int = 0
    base_gas: int = 0
    gas_price: int = 0
    gas_token: str = ZERO_ADDRESS
    refund_receiver: str = ZERO_ADDRESS

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields (data as 0x-hex)."""
        out = asdict(self)
        out["data"] = "0x" + self.data.hex()
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SafeTx:
        """Inverse of :meth:`to_json`."""
        fields = dict(raw)
        data = fields.pop("data")
        return cls(data=bytes.fromhex(data.removeprefix("0x")), **fields)


def domain_separator(*, chain_id: int, safe: str) -> bytes:
    """The Safe's EIP-712 domain separator."""
    return keccak(abi_encode(["bytes32", "uint256", "address"], [DOMAIN_TYPEHASH, chain_id, to_checksum_address(safe)]))


def _struct_hash(tx: SafeTx) -> bytes:
    return keccak(
        abi_encode(
            ["bytes32", "address", "uint256", "bytes32", "uint8", "uint256", "uint256", "uint256", "address", "address", "uint256"],
            [
                SAFE_TX_TYPEHASH,
                to_checksum_address(tx.to),
                tx.value,
                keccak(tx.data),
                tx.operation,
                tx.safe_tx_gas,
                tx.base_gas,
                tx.gas_price,
                to_checksum_address(tx.gas_token),
                to_checksum_address(tx.refund_receiver),
                tx.nonce,
            ],
        )
    )


def encode_transaction_data(tx: SafeTx) -> bytes:
    """``0x19 0x01 || domainSeparator || structHash``: what the Safe passes to EIP-1271 owners."""
    return b"\x19\x01" + domain_separator(chain_id=tx.chain_id, safe=tx.safe) + _struct_hash(tx)


def safe_tx_hash(tx: SafeTx) -> bytes:
    """The 32-byte hash owners sign (``getTransactionHash``)."""
    return keccak(encode_transaction_data(tx))


def safe_tx_typed_data(tx: SafeTx) -> dict[str, Any]:
    """EIP-712 typed data for ``eth_signTypedData_v4`` in the signer's own wallet."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "SafeTx": [
                {"name": "to", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "data", "type": "bytes"},
                {"name": "operation", "type": "uint8"},
                {"name": "safeTxGas", "type": "uint256"},
                {"name": "baseGas", "type": "uint256"},
                {"name": "gasPrice", "type": "uint256"},
                {"name": "gasToken", "type": "address"},
                {"name": "refundReceiver", "type": "address"},
                {"name": "nonce", "type": "uint256"},
            ],
        },
        "primaryType": "SafeTx",
        "domain": {"chainId": tx.chain_id, "verifyingContract": to_checksum_address(tx.safe)},
        "message": {
            "to": to_checksum_address(tx.to),
            "value": tx.value,
            "data": "0x" + tx.data.hex(),
            "operation": tx.operation,
            "safeTxGas": tx.safe_tx_gas,
            "baseGas": tx.base_gas,
            "gasPrice": tx.gas_price,
            "gasToken": to_checksum_address(tx.gas_token),
            "refundReceiver": to_checksum_address(tx.refund_receiver),
            "nonce": tx.nonce,
        },
    }
