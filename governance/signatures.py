"""Verify Safe owners' signatures over a Safe transaction and pack them for ``execTransaction``.

Accepted forms, as the Safe itself accepts them:

* ``eip712`` — ECDSA over the EIP-712 SafeTx hash (``eth_signTypedData_v4``), ``v`` 27/28;
* ``eth_sign`` — ECDSA over ``"\\x19Ethereum Signed Message:\\n32" || hash`` (``personal_sign`` of the
  hash), stored with ``v + 4`` (31/32) as the Safe expects;
* ``eip1271`` — a contract owner (e.g. another Safe): its ``isValidSignature(bytes, bytes)`` is called
  with the transaction's encoded data exactly as Safe 1.4.1's ``checkNSignatures`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_utils import keccak, to_checksum_address

from governance.chain.safe_tx import SafeTx, encode_transaction_data, safe_tx_hash
from governance.errors import GovernanceRefusal, Rule
from ingest.core.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from web3 import Web3

__all__ = [
    "EIP1271_LEGACY_MAGIC",
    "OwnerSignature",
    "encode_safe_signatures",
    "parse_hex_signature",
    "recover_ecdsa",
    "verify_owner_signature",
]

EIP1271_LEGACY_MAGIC = bytes.fromhex("20c13b0b")
_LEGACY_IS_VALID_ABI = [
    {
        "name": "isValidSignature",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "_data", "type": "bytes"}, {"name": "_signature", "type": "bytes"}],
        "outputs": [{"name": "", "type": "bytes4"}],
    }
]


@dataclass(frozen=True)
class OwnerSignature:
    """A verified signature: who, which form, and the bytes the Safe expects for that owner."""

    owner: str
    kind: str
    signature: bytes


def parse_hex_signature(text: str) -> bytes:
    """``0x``-hex to bytes, with an error that says what a signature looks like."""
    raw = text.strip()
    raw = raw[2:] if raw.lower().startswith("0x") else raw
    try:
        data = bytes.fromhex(raw)
    except ValueError as exc:
        raise InputError(f"A signature must be 0x-prefixed hex (65 bytes: r, s, v); got {text[:20]!r}…") from exc
    if not data:
        raise InputError("The signature is empty: sign the action's EIP-712 typed data in your wallet and paste the result.")
    return data


def recover_ecdsa(message_hash: bytes, signature: bytes) -> str | None:
    """The address that produced a 65-byte (r, s, v) signature over ``message_hash``, or None."""
    from eth_keys import keys
    from eth_keys.exceptions import BadSignature

    if len(signature) != 65:
        return None
    v = signature[64]
    if v >= 27:
        v -= 27
    if v not in (0, 1):
        return None
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    try:
        public_key = keys.Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(message_hash)
    except (BadSignature, ValueError):
        return None
    return public_key.to_checksum_address()


def _eth_sign_hash(message_hash: bytes) -> bytes:
    return keccak(b"\x19Ethereum Signed Message:\n32" + message_hash)


def verify_owner_signature(
    w3: Web3 | None,
    tx: SafeTx,
    *,
    signature: bytes,
    owners: Sequence[str],
    signer: str | None = None,
) -> OwnerSignature:
    """Check one owner's signature over ``tx`` and return it in the form the Safe expects.

    Raises :class:`GovernanceRefusal` with rule ``bad_signature`` when the signature does not belong to
    ``signer`` for exactly this transaction (tampered calldata, another chain id or nonce all land
    here), ``not_owner`` when the signer is not an owner.
    """
    owner_set = {to_checksum_address(o) for o in owners}
    tx_hash = safe_tx_hash(tx)
    claimed = to_checksum_address(signer) if signer else None

    if claimed is not None and w3 is not None and w3.eth.get_code(claimed):
        if claimed not in owner_set:
            raise GovernanceRefusal(Rule.NOT_OWNER, f"{claimed} is not an owner of Safe {tx.safe}.")
        contract = w3.eth.contract(address=claimed, abi=_LEGACY_IS_VALID_ABI)
        try:
            result = bytes(contract.functions.isValidSignature(encode_transaction_data(tx), signature).call())
        except Exception as exc:
            raise GovernanceRefusal(
                Rule.BAD_SIGNATURE, f"contract owner {claimed} rejected the signature (EIP-1271 call reverted: {exc})."
            ) from exc
        if result != EIP1271_LEGACY_MAGIC:
            raise GovernanceRefusal(Rule.BAD_SIGNATURE, f"contract owner {claimed} did not confirm the signature (EIP-1271).")
        return OwnerSignature(owner=claimed, kind="eip1271", signature=signature)

    if len(signature) != 65:
        raise GovernanceRefusal(Rule.BAD_SIGNATURE, f"expected a 65-byte ECDSA signature, got {len(signature)} bytes.")
    v = signature[64]
    candidates: list[tuple[str, bytes]] = []
    if v in (31, 32):  # already in the Safe's eth_sign form
        candidates.append(("eth_sign", _eth_sign_hash(tx_hash)))
        body = signature[:64] + bytes([v - 4])
    else:
        body = signature[:64] + bytes([v + 27 if v < 27 else v])
        candidates.extend([("eip712", tx_hash), ("eth_sign", _eth_sign_hash(tx_hash))])

    recovered: list[str] = []
    for kind, digest in candidates:
        address = recover_ecdsa(digest, body)
        if address is None:
            continue
        recovered.append(address)
        if (claimed is None and address in owner_set) or (claimed is not None and address == claimed):
            if address not in owner_set:
                raise GovernanceRefusal(Rule.NOT_OWNER, f"{address} is not an owner of Safe {tx.safe}.")
            stored = body if kind == "eip712" else body[:64] + bytes([body[64] + 4])
            return OwnerSignature(owner=address, kind=kind, signature=stored)
    if claimed is not None:
        raise GovernanceRefusal(
            Rule.BAD_SIGNATURE,
            f"the signature is not {claimed}'s signature over Safe transaction 0x{tx_hash.hex()} "
            "(it was made for different data: tampered calldata, another chain id, Safe or nonce).",
        )
    raise GovernanceRefusal(
        Rule.NOT_OWNER,
        f"the signature recovers to {', '.join(sorted(set(recovered))) or 'no address'}, which is not an owner of "
        f"Safe {tx.safe} for transaction 0x{tx_hash.hex()}.",
    )


def encode_safe_signatures(signatures: Sequence[OwnerSignature]) -> bytes:
    """Pack signatures for ``execTransaction``: sorted by owner, contract signatures' data appended."""
    ordered = sorted(signatures, key=lambda s: int(s.owner, 16))
    static = b""
    dynamic = b""
    offset_base = 65 * len(ordered)
    for sig in ordered:
        if sig.kind == "eip1271":
            r = int(sig.owner, 16).to_bytes(32, "big")
            s = (offset_base + len(dynamic)).to_bytes(32, "big")
            static += r + s + b"\x00"
            dynamic += len(sig.signature).to_bytes(32, "big") + sig.signature
        else:
            static += sig.signature
    return static + dynamic
