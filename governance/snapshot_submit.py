"""Sending signed Snapshot messages to a sequencer: votes of every voting type, proposals, and a Safe's vote.

Snapshot's sequencer takes ``POST {"address", "sig", "data": {"domain", "types", "message"}}`` and recognises the
message kind by ``sha256(JSON.stringify(types))`` (snapshot.js ``hashedTypes.json``). The typed data differ by voting
type only in ``choice``: ``uint32`` (single-choice, basic), ``uint32[]`` (approval, ranked-choice) or a JSON
``string`` (weighted, quadratic). The author (or the Safe's owners, for a Safe) signs; Concord never holds a key and
sends a Safe's vote only once the owners' threshold of signatures is collected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import httpx
from eth_utils import to_checksum_address

from governance.snapshot import _with_domain, snapshot_envelope
from ingest.core.errors import InputError

__all__ = [
    "ACCEPTED_TYPE_HASHES",
    "VOTING_TYPES",
    "SequencerClient",
    "SequencerError",
    "safe_vote_envelope",
    "types_hash",
    "vote_typed_data",
]

VOTING_TYPES = ("single-choice", "basic", "approval", "ranked-choice", "weighted", "quadratic")

#: Type hashes the sequencer knows (from snapshot.js src/sign/hashedTypes.json) for the shapes built here.
ACCEPTED_TYPE_HASHES = {
    "c2e77cabf40490a8419d35b47bee2dc9f7759f004d51404ba617e7c4b14eb4ec": "vote",
    "bc8c6814ddd5b9b6ef6415c656c9e7b9e05e029cc19b954b7160dc2928a12caf": "vote",
    "09635280c0ac5c801b997b20db5ef0bc71c1b27e01220d52e0d55e9f2612671d": "vote-array",
    "9cf05f3cc08b78654652fb2494d9b2beab8803b723cf1c36e1abaab7427f3823": "vote-array",
    "59b60a06b729bf429bb984f2ce93dd9be08e013fdc59bfb39493114ad31a79d3": "vote-string",
    "40bc49afc0f4084a08af0d768ff67816dde5c61550ff65008c835982a62c351e": "vote-string",
    "9fecffaa3ddb7666a390be8db0aa6b8732e7679ffeebba069e4372597c0eb6c8": "proposal",
}


class SequencerError(InputError):
    """The sequencer refused a message (its one-line reason is in the message)."""


def types_hash(types: dict[str, Any]) -> str:
    """``sha256(JSON.stringify(types))`` as snapshot.js and the sequencer compute it (types without EIP712Domain)."""
    body = {k: v for k, v in types.items() if k != "EIP712Domain"}
    return hashlib.sha256(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def _choice(voting_type: str, choice: Any, n_choices: int) -> tuple[str, Any]:
    def index(c: Any) -> int:
        if not isinstance(c, int) or isinstance(c, bool) or not 1 <= c <= n_choices:
            raise InputError(f"A {voting_type} choice is a 1-based index from 1 to {n_choices}; got {c!r}.")
        return c

    if voting_type in ("single-choice", "basic"):
        if voting_type == "basic" and n_choices != 3:
            raise InputError("A basic vote has exactly three choices (For, Against, Abstain).")
        return "uint32", index(choice)
    if voting_type in ("approval", "ranked-choice"):
        if not isinstance(choice, (list, tuple)) or not choice:
            raise InputError(f"A {voting_type} choice is a non-empty list of 1-based indexes; got {choice!r}.")
        picked = [index(c) for c in choice]
        if len(set(picked)) != len(picked):
            raise InputError(f"A {voting_type} choice lists each option once; got {choice!r}.")
        if voting_type == "ranked-choice" and len(picked) != n_choices:
            raise InputError(f"A ranked-choice vote ranks all {n_choices} options; got {len(picked)}.")
        return "uint32[]", picked
    if voting_type in ("weighted", "quadratic"):
        if not isinstance(choice, dict) or not choice:
            raise InputError(f"A {voting_type} choice maps option indexes to weights, e.g. {{\"1\": 2, \"3\": 1}}; got {choice!r}.")
        weights = {}
        for key, weight in choice.items():
            idx = index(int(key)) if str(key).isdigit() else index(key)
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
                raise InputError(f"Weights are non-negative numbers; got {weight!r} for option {key}.")
            weights[str(idx)] = weight
        if sum(weights.values()) <= 0:
            raise InputError("At least one weight must be positive.")
        return "string", json.dumps(weights, separators=(",", ":"))
    raise InputError(f"Unknown Snapshot voting type {voting_type!r}; use one of {', '.join(VOTING_TYPES)}.")


def vote_typed_data(*, voting_type: str, voter: str, space: str, proposal: str, choice: Any, n_choices: int,
                    timestamp: int, reason: str = "", app: str = "concord", metadata: str = "{}") -> dict[str, Any]:
    """The EIP-712 typed data of a vote of ``voting_type`` (choices are 1-based, as on Snapshot)."""
    choice_type, value = _choice(voting_type, choice, n_choices)
    proposal_type = "bytes32" if proposal.startswith("0x") and len(proposal) == 66 else "string"
    fields = [{"name": "from", "type": "address"}, {"name": "space", "type": "string"}, {"name": "timestamp", "type": "uint64"},
              {"name": "proposal", "type": proposal_type}, {"name": "choice", "type": choice_type},
              {"name": "reason", "type": "string"}, {"name": "app", "type": "string"}, {"name": "metadata", "type": "string"}]
    message = {"from": to_checksum_address(voter), "space": space, "timestamp": int(timestamp), "proposal": proposal,
               "choice": value, "reason": reason, "app": app, "metadata": metadata}
    return _with_domain("Vote", fields, message)


def safe_vote_envelope(vote: dict[str, Any], *, safe: str, packed_signatures: bytes, signers: Sequence[str], threshold: int) -> dict[str, Any]:
    """The envelope of a Safe's vote, refused until ``threshold`` distinct owners have signed."""
    if len({s.lower() for s in signers}) < threshold:
        raise InputError(f"The Safe needs {threshold} owners' signatures before its vote is sent; {len(set(signers))} signed so far.")
    if to_checksum_address(vote["message"]["from"]) != to_checksum_address(safe):
        raise InputError(f"The vote is from {vote['message']['from']}, not from Safe {safe}.")
    return snapshot_envelope(vote, address=safe, signature="0x" + packed_signatures.hex())


class SequencerClient:
    """POSTs envelopes to a Snapshot sequencer URL (``https://seq.snapshot.org/`` or a loopback peer)."""

    def __init__(self, url: str, *, transport: httpx.BaseTransport | None = None, timeout: float = 20.0) -> None:
        self.url = url
        self._client = httpx.Client(transport=transport, timeout=timeout)

    def submit(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Send one signed envelope; the sequencer's JSON reply (with the message ``id``) or SequencerError."""
        kind = ACCEPTED_TYPE_HASHES.get(types_hash(envelope["data"]["types"]))
        if kind is None:
            raise InputError("These typed data are not a shape Snapshot's sequencer accepts; build them with vote_typed_data.")
        try:
            response = self._client.post(self.url, json=envelope)
        except httpx.HTTPError as exc:
            raise SequencerError(f"Could not reach the Snapshot sequencer at {self.url}: {exc}. Check the URL and retry.") from exc
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        if response.status_code != 200:
            raise SequencerError(f"The sequencer refused the {kind}: {body.get('error_description') or body.get('error') or response.status_code}.")
        return body
