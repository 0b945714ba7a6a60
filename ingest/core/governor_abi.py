"""The Governor ABI and proposal states shared by ingestion and governance.

``governor_abi.json`` beside this module is the part of the compiled Governor artifacts
(``governance/contracts/artifacts``) that Concord reads and calls: the lifecycle and vote events,
``state``, ``proposalVotes``, ``hasVoted``, ``castVoteWithReason``, ``propose`` (OpenZeppelin) and
``proposals`` (Compound Bravo's tally getter). ``governance/contracts/governor_abi.js`` writes it; a test
checks it still equals the artifacts. It lives here, in the foundation, because ingestion must not import
governance.

``ProposalState`` is the Governor's ``state(id)`` enum (the same 0..7 for OpenZeppelin and Bravo). The
outcome a state implies is :func:`ingest.normalise.outcome_rule.outcome_from_state`.
"""

from __future__ import annotations

import copy
import json
from enum import IntEnum
from functools import cache
from importlib import resources
from typing import Any

from ingest.core.errors import NotFoundError

__all__ = ["ProposalState", "abi_signature", "governor_abi", "governor_entry", "governor_events"]


class ProposalState(IntEnum):
    """What ``Governor.state(proposalId)`` returns."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7

    @property
    def label(self) -> str:
        """The name as the Governor's sources spell it: ``Active``."""
        return self.name.title()

    @property
    def key(self) -> str:
        """The name as the store keeps it in ``Proposal.state``: ``active``."""
        return self.name.lower()

    @property
    def final(self) -> bool:
        """True when no later block can change the state (succeeded and queued still can)."""
        return self in (ProposalState.CANCELED, ProposalState.DEFEATED, ProposalState.EXPIRED, ProposalState.EXECUTED)


@cache
def _table() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("governor_abi.json").read_text(encoding="utf-8"))


def governor_abi() -> list[dict[str, Any]]:
    """Every shared ABI entry (a fresh copy: callers may hand it to web3)."""
    return copy.deepcopy(_table()["abi"])


def governor_events() -> list[dict[str, Any]]:
    """The event entries: ProposalCreated, VoteCast, VoteCastWithParams, ProposalQueued/Executed/Canceled."""
    return [entry for entry in governor_abi() if entry["type"] == "event"]


def governor_entry(name: str) -> dict[str, Any]:
    """The one entry called ``name``; NotFoundError names the ones there are."""
    for entry in governor_abi():
        if entry.get("name") == name:
            return entry
    known = ", ".join(sorted(e["name"] for e in governor_abi()))
    raise NotFoundError(
        f"The shared Governor ABI has no entry {name!r} (it has {known}); add it to "
        "governance/contracts/governor_abi.js and run `node governor_abi.js` there."
    )


def abi_signature(entry: dict[str, Any]) -> str:
    """``castVoteWithReason(uint256,uint8,string)``: the text a selector or event topic is hashed from."""
    return f"{entry['name']}({','.join(_canonical_type(i) for i in entry['inputs'])})"


def _canonical_type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in param["components"]) + ")" + kind[len("tuple"):]
    return kind
