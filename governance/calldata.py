"""Build and explain calldata: Governor votes and proposals, and arbitrary calls given by signature."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from ingest.core.errors import InputError
from ingest.core.governor_abi import abi_signature, governor_entry
from ingest.normalise.governor import SUPPORT_LABELS

__all__ = [
    "cast_vote_calldata",
    "decode_call",
    "describe_vote_call",
    "encode_call",
    "parse_signature_types",
    "propose_calldata",
]

SUPPORT_NAMES = SUPPORT_LABELS
CAST_VOTE_WITH_REASON = abi_signature(governor_entry("castVoteWithReason"))  # castVoteWithReason(uint256,uint8,string)
PROPOSE = abi_signature(governor_entry("propose"))  # propose(address[],uint256[],bytes[],string)


def parse_signature_types(signature: str) -> tuple[str, list[str]]:
    """``transfer(address,uint256)`` -> (``transfer``, [``address``, ``uint256``])."""
    sig = signature.replace(" ", "")
    if "(" not in sig or not sig.endswith(")"):
        raise InputError(f"A function signature looks like 'transfer(address,uint256)'; got {signature!r}.")
    name, args = sig[:-1].split("(", 1)
    types: list[str] = []
    depth = 0
    current = ""
    for ch in args:
        if ch == "," and depth == 0:
            types.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    if current:
        types.append(current)
    return name, types


def encode_call(signature: str, args: Sequence[Any]) -> bytes:
    """Selector + ABI-encoded arguments."""
    sig = signature.replace(" ", "")
    _, types = parse_signature_types(sig)
    if len(types) != len(args):
        raise InputError(f"{sig} takes {len(types)} argument(s), got {len(args)}.")
    return function_signature_to_4byte_selector(sig) + abi_encode(types, list(args))


def decode_call(signature: str, data: bytes) -> list[Any]:
    """Decode calldata for a known signature; refuses data whose selector is not the signature's."""
    sig = signature.replace(" ", "")
    _, types = parse_signature_types(sig)
    if data[:4] != function_signature_to_4byte_selector(sig):
        raise InputError(f"Calldata selector 0x{data[:4].hex()} is not {sig}.")
    return list(abi_decode(types, data[4:]))


def cast_vote_calldata(proposal_id: int, support: int, reason: str) -> bytes:
    """``castVoteWithReason(proposalId, support, reason)``."""
    return encode_call(CAST_VOTE_WITH_REASON, [proposal_id, support, reason])


def propose_calldata(targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes], description: str) -> bytes:
    """``propose(targets, values, calldatas, description)``."""
    return encode_call(PROPOSE, [[to_checksum_address(t) for t in targets], list(values), list(calldatas), description])


def describe_vote_call(governor: str, data: bytes) -> str:
    """The vote call in words, decoded from the bytes that will be signed."""
    proposal_id, support, reason = decode_call(CAST_VOTE_WITH_REASON, data)
    return (
        f"Call {to_checksum_address(governor)}.castVoteWithReason: vote {SUPPORT_NAMES.get(support, support)} "
        f"on proposal {proposal_id} with reason {reason!r}"
    )
