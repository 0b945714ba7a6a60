"""Safe messages (``SafeMessage(bytes message)``): how a Safe signs off-chain through its owners (EIP-1271).

The Safe's ``CompatibilityFallbackHandler`` answers ``isValidSignature`` by checking the owners'
signatures over ``getMessageHashForSafe(safe, message)``; this module computes that hash, the typed
data each owner signs, and asks the Safe on chain whether a packed signature is valid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from governance.chain.safe_tx import domain_separator

if TYPE_CHECKING:  # pragma: no cover
    from web3 import Web3

__all__ = ["EIP1271_MAGIC", "safe_is_valid_signature", "safe_message_hash", "safe_message_typed_data"]

SAFE_MSG_TYPEHASH = keccak(text="SafeMessage(bytes message)")
EIP1271_MAGIC = bytes.fromhex("1626ba7e")
_IS_VALID_BYTES32_ABI = [
    {
        "name": "isValidSignature",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "_dataHash", "type": "bytes32"}, {"name": "_signature", "type": "bytes"}],
        "outputs": [{"name": "", "type": "bytes4"}],
    }
]


def safe_message_hash(*, safe: str, chain_id: int, message: bytes) -> bytes:
    """``getMessageHashForSafe(safe, message)``: what the owners sign."""
    struct = keccak(abi_encode(["bytes32", "bytes32"], [SAFE_MSG_TYPEHASH, keccak(message)]))
    return keccak(b"\x19\x01" + domain_separator(chain_id=chain_id, safe=safe) + struct)


def safe_message_typed_data(*, safe: str, chain_id: int, message: bytes) -> dict[str, Any]:
    """EIP-712 typed data an owner signs in their wallet to approve ``message`` for the Safe."""
    return {
        "types": {
            "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "SafeMessage": [{"name": "message", "type": "bytes"}],
        },
        "primaryType": "SafeMessage",
        "domain": {"chainId": chain_id, "verifyingContract": to_checksum_address(safe)},
        "message": {"message": "0x" + message.hex()},
    }


def safe_is_valid_signature(w3: Web3, *, safe: str, data_hash: bytes, signature: bytes) -> bool:
    """Ask the Safe (EIP-1271, ``isValidSignature(bytes32,bytes)``) whether ``signature`` signs ``data_hash``."""
    contract = w3.eth.contract(address=to_checksum_address(safe), abi=_IS_VALID_BYTES32_ABI)
    try:
        return bytes(contract.functions.isValidSignature(data_hash, signature).call()) == EIP1271_MAGIC
    except Exception:  # noqa: BLE001 - a revert (GS026, GS020…) means "not valid"
        return False
