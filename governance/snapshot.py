"""Snapshot (off-chain voting) messages: proposal payloads and votes, including a Safe's vote by EIP-1271.

Snapshot's hub accepts ``{"address", "sig", "data": {"domain", "types", "message"}}`` envelopes whose
typed data uses the domain ``{"name": "snapshot", "version": "0.1.4"}``. A Safe votes by having its
owners sign the vote's hash as a Safe message; the hub then checks ``isValidSignature`` on the Safe.
Concord builds and verifies these; it does not post them to a hub without the owners' approval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from governance.chain.safe_message import safe_is_valid_signature, safe_message_hash, safe_message_typed_data
from ingest.core.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from web3 import Web3

__all__ = [
    "SNAPSHOT_DOMAIN",
    "safe_vote_message_hash",
    "safe_vote_signing_request",
    "snapshot_envelope",
    "snapshot_proposal_message",
    "snapshot_vote_message",
    "typed_data_hash",
    "verify_safe_snapshot_vote",
]

SNAPSHOT_DOMAIN = {"name": "snapshot", "version": "0.1.4"}
_VOTE_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "space", "type": "string"},
    {"name": "timestamp", "type": "uint64"},
]
_VOTE_TAIL = [
    {"name": "reason", "type": "string"},
    {"name": "app", "type": "string"},
    {"name": "metadata", "type": "string"},
]


def typed_data_hash(typed: dict[str, Any]) -> bytes:
    """The EIP-712 digest of a full typed-data message."""
    signable = encode_typed_data(full_message=typed)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def _with_domain(primary: str, fields: list[dict[str, str]], message: dict[str, Any]) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}], primary: fields},
        "primaryType": primary,
        "domain": dict(SNAPSHOT_DOMAIN),
        "message": message,
    }


def snapshot_vote_message(
    *, voter: str, space: str, proposal: str, choice: int, reason: str, timestamp: int, app: str = "concord", metadata: str = "{}"
) -> dict[str, Any]:
    """A single-choice vote (``choice`` is 1-based, as on Snapshot) as EIP-712 typed data."""
    if choice < 1:
        raise InputError(f"Snapshot choices are 1-based; got {choice}.")
    proposal_type = "bytes32" if proposal.startswith("0x") and len(proposal) == 66 else "string"
    fields = [*_VOTE_FIELDS, {"name": "proposal", "type": proposal_type}, {"name": "choice", "type": "uint32"}, *_VOTE_TAIL]
    message = {
        "from": to_checksum_address(voter),
        "space": space,
        "timestamp": int(timestamp),
        "proposal": proposal,
        "choice": int(choice),
        "reason": reason,
        "app": app,
        "metadata": metadata,
    }
    return _with_domain("Vote", fields, message)


def snapshot_proposal_message(
    *,
    author: str,
    space: str,
    title: str,
    body: str,
    choices: Sequence[str],
    start: int,
    end: int,
    snapshot: int,
    timestamp: int,
    discussion: str = "",
    kind: str = "single-choice",
    app: str = "concord",
) -> dict[str, Any]:
    """A Snapshot proposal as EIP-712 typed data (to be signed by its author; never sent by Concord alone)."""
    fields = [
        {"name": "from", "type": "address"},
        {"name": "space", "type": "string"},
        {"name": "timestamp", "type": "uint64"},
        {"name": "type", "type": "string"},
        {"name": "title", "type": "string"},
        {"name": "body", "type": "string"},
        {"name": "discussion", "type": "string"},
        {"name": "choices", "type": "string[]"},
        {"name": "start", "type": "uint64"},
        {"name": "end", "type": "uint64"},
        {"name": "snapshot", "type": "uint64"},
        {"name": "plugins", "type": "string"},
        {"name": "app", "type": "string"},
    ]
    message = {
        "from": to_checksum_address(author),
        "space": space,
        "timestamp": int(timestamp),
        "type": kind,
        "title": title,
        "body": body,
        "discussion": discussion,
        "choices": list(choices),
        "start": int(start),
        "end": int(end),
        "snapshot": int(snapshot),
        "plugins": "{}",
        "app": app,
    }
    return _with_domain("Proposal", fields, message)


def snapshot_envelope(typed: dict[str, Any], *, address: str, signature: str) -> dict[str, Any]:
    """The JSON body Snapshot's sequencer accepts."""
    types = {k: v for k, v in typed["types"].items() if k != "EIP712Domain"}
    return {"address": to_checksum_address(address), "sig": signature, "data": {"domain": typed["domain"], "types": types, "message": typed["message"]}}


def safe_vote_signing_request(w3_chain_id: int, *, safe: str, vote: dict[str, Any]) -> dict[str, Any]:
    """What each Safe owner signs so the Safe's EIP-1271 check accepts the vote."""
    return safe_message_typed_data(safe=safe, chain_id=w3_chain_id, message=typed_data_hash(vote))


def verify_safe_snapshot_vote(w3: Web3, *, safe: str, vote: dict[str, Any], signature: bytes) -> bool:
    """Check a Safe's vote signature exactly as Snapshot does: ``isValidSignature(voteHash, sig)`` on the Safe."""
    if to_checksum_address(vote["message"]["from"]) != to_checksum_address(safe):
        raise InputError(f"The vote is from {vote['message']['from']}, not from Safe {safe}.")
    return safe_is_valid_signature(w3, safe=safe, data_hash=typed_data_hash(vote), signature=signature)


def safe_vote_message_hash(chain_id: int, *, safe: str, vote: dict[str, Any]) -> bytes:
    """The Safe-message hash the owners' signatures cover."""
    return safe_message_hash(safe=safe, chain_id=chain_id, message=typed_data_hash(vote))
