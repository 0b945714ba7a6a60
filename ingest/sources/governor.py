"""On-chain Governor source: event logs of an OpenZeppelin Governor or Compound GovernorBravo over JSON-RPC.

Reads ``ProposalCreated``, ``VoteCast``, ``VoteCastWithParams``, ``ProposalQueued``, ``ProposalExecuted`` and
``ProposalCanceled`` (the two contracts share these event signatures: Bravo's ``ProposalQueued(uint id, uint
eta)`` is OpenZeppelin's ``ProposalQueued(uint256 proposalId, uint256 etaSeconds)``) with ``eth_getLogs`` in
block chunks that halve when the node says "too many results". Only blocks at least ``confirmations`` deep are
read, so a reorg cannot leave rows from an orphaned block; the ``logs`` cursor is the last block read.

A proposal's state comes from ``state(id)`` at the chunk's last block where the node can answer it, else
from its lifecycle events (queued with its eta, executed, canceled): a pruned node that cannot run calls
at old blocks still yields the right states. Tallies come from ``proposalVotes`` (OpenZeppelin) or the
``proposals(id)`` getter (Bravo). Proposals whose state may still change are re-read on every run until
they are final. The proposal's actions (targets, values, Bravo's ``signatures``, calldatas) and the eta
are kept in ``Proposal.extra``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ingest.core.domain import Dao, Proposal, ProposalOrigin, SourceKind
from ingest.core.errors import InputError
from ingest.core.governor_abi import ProposalState, abi_signature, governor_abi, governor_events
from ingest.core.store import Store
from ingest.normalise.governor import governor_proposal, governor_vote
from ingest.normalise.outcome_rule import outcome_from_state
from ingest.pipeline import Batch, RawItem
from ingest.records import Record

if TYPE_CHECKING:  # pragma: no cover
    from web3 import Web3

__all__ = ["GovernorSource", "open_governor_proposals"]

_FINAL = {state.key for state in ProposalState if state.final}
_TOO_MANY = re.compile(
    r"more than \d+ results|too many (results|logs)|response size|limit exceeded|block range", re.IGNORECASE
)
# What a lifecycle event says about a proposal when the node cannot answer ``state(id)``.
_EVENT_STATE = {
    "ProposalQueued": ProposalState.QUEUED.key,
    "ProposalExecuted": ProposalState.EXECUTED.key,
    "ProposalCanceled": ProposalState.CANCELED.key,
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def open_governor_proposals(store: Store, dao: Dao) -> list[dict[str, Any]]:
    """Stored Governor proposals of ``dao`` whose state may still change, in the source's item shape."""
    from sqlmodel import col, select

    with store.session() as session:
        rows = session.exec(
            select(Proposal).where(
                Proposal.dao_id == dao.id,
                Proposal.origin == ProposalOrigin.GOVERNOR,
                col(Proposal.state).is_(None) | col(Proposal.state).not_in(_FINAL),
            )
        ).all()
    return [
        {
            "proposalId": p.external_id,
            "proposer": p.author,
            "description": p.body,
            "createdTime": p.created_at.isoformat() if p.created_at else None,
            "voteStart": (p.extra or {}).get("vote_start"),
            "voteEnd": (p.extra or {}).get("vote_end"),
            "startTime": p.start.isoformat() if p.start else None,
            "endTime": p.end.isoformat() if p.end else None,
            "estimatedTimes": (p.extra or {}).get("estimated_times") or [],
            "eta": (p.extra or {}).get("eta"),
            "actions": (p.extra or {}).get("actions"),
            "state": p.state,
            "outcome": p.outcome,
        }
        for p in rows
    ]


def _actions(args: dict[str, Any]) -> list[dict[str, Any]]:
    """ProposalCreated's parallel arrays as one list of calls (values as strings: they may exceed 2**63)."""
    targets, values = list(args.get("targets") or []), list(args.get("values") or [])
    signatures, calldatas = list(args.get("signatures") or []), list(args.get("calldatas") or [])
    return [
        {
            "target": target,
            "value": str(values[i]) if i < len(values) else "0",
            "signature": signatures[i] if i < len(signatures) else "",
            "calldata": calldatas[i] if i < len(calldatas) else "0x",
        }
        for i, target in enumerate(targets)
    ]


@dataclass
class GovernorSource:
    """One Governor contract on one chain, read through any JSON-RPC node (``web3.Web3``)."""

    w3: Web3
    address: str
    chain_id: int
    from_block: int = 0
    confirmations: int = 12
    chunk_blocks: int = 5_000
    vote_decimals: int = 18
    open_items: list[dict[str, Any]] = field(default_factory=list)
    kind: str = SourceKind.GOVERNOR
    chunks_read: list[tuple[int, int]] = field(default_factory=list)
    _clock_mode: str | None = field(default=None, repr=False)

    @property
    def locator(self) -> str:
        return f"chain:{self.chain_id}/{self.address.lower()}"

    @property
    def name(self) -> str:
        return self.address

    def _contract(self) -> Any:
        from web3 import Web3

        return self.w3.eth.contract(
            address=Web3.to_checksum_address(self.address), abi=governor_abi()
        )

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        contract = self._contract()
        topics = {
            self.w3.keccak(text=abi_signature(e)).hex().removeprefix("0x"): e["name"]
            for e in governor_events()
        }
        safe_head = int(self.w3.eth.block_number) - self.confirmations
        known = {str(item["proposalId"]): dict(item) for item in self.open_items}
        refreshed: dict[str, int] = {}  # proposal id -> block its state and tallies were last read at
        start = max(int(cursor_of("logs") or self.from_block - 1) + 1, self.from_block)
        read_to = start - 1  # the last block whose logs are stored
        size = self.chunk_blocks
        while start <= safe_head:
            end = min(start + size - 1, safe_head)
            try:
                logs = self.w3.eth.get_logs({"address": contract.address, "fromBlock": start, "toBlock": end})
            except Exception as exc:  # noqa: BLE001 - nodes signal limits with many error types
                if _TOO_MANY.search(str(exc)) and size > 1:
                    size = max(1, size // 2)
                    continue
                yield Batch(
                    [
                        RawItem(
                            "governor-error",
                            f"blocks {start}-{end}",
                            {"error": f"{type(exc).__name__}: {exc}"},
                        )
                    ]
                )
                break
            self.chunks_read.append((start, end))
            yield Batch(self._items(contract, topics, logs, known, refreshed, end), ("logs", str(end)))
            read_to, start = end, end + 1
        # Open proposals change state without events (voting starts and ends): re-read them, but only at the
        # last block whose logs are stored, so a state is never stored ahead of the events (an eta) behind it.
        stale = [
            pid
            for pid, item in known.items()
            if item.get("state") not in _FINAL and refreshed.get(pid) != read_to
        ]
        if stale and read_to >= 0:
            yield Batch([self._refresh(contract, known[pid], read_to, refreshed) for pid in stale])

    def _items(
        self,
        contract: Any,
        topics: dict[str, str],
        logs: list[Any],
        known: dict[str, dict[str, Any]],
        refreshed: dict[str, int],
        end: int,
    ) -> list[RawItem]:
        items: list[RawItem] = []
        touched: set[str] = set()
        times: dict[int, int] = {}
        for log in logs:
            ref = f"{log['blockNumber']}:{_jsonable(log['transactionHash'])}:{log['logIndex']}"
            raw_topics = log.get("topics") or []
            name = topics.get(_jsonable(raw_topics[0]).removeprefix("0x")) if raw_topics else None
            if name is None:
                continue  # another event of this contract (settings changes and the like)
            try:
                decoded = getattr(contract.events, name)().process_log(log)
            except Exception as exc:  # noqa: BLE001 - an undecodable log is quarantined, not fatal
                items.append(
                    RawItem(
                        "governor-error",
                        ref,
                        {"error": f"cannot decode {name}: {exc}", "log": _jsonable(dict(log))},
                    )
                )
                continue
            block = int(log["blockNumber"])
            if block not in times:
                times[block] = int(self.w3.eth.get_block(block)["timestamp"])
            args = _jsonable(dict(decoded["args"]))
            pid = str(args["proposalId"])
            when = datetime.fromtimestamp(times[block], UTC).isoformat()
            if name == "ProposalCreated":
                known[pid] = {
                    "proposalId": pid,
                    "proposer": args["proposer"],
                    "description": args["description"],
                    "createdTime": when,
                    "voteStart": args["voteStart"],
                    "voteEnd": args["voteEnd"],
                    "actions": _actions(args),
                    "state": "pending",
                }
                touched.add(pid)
            elif name in ("VoteCast", "VoteCastWithParams"):
                items.append(
                    RawItem(
                        "governor-vote",
                        ref,
                        {
                            "proposalId": pid,
                            "voter": args["voter"],
                            "support": args["support"],
                            "votes": args["weight"] / 10**self.vote_decimals,
                            "reason": args.get("reason") or None,
                            "time": when,
                            "transactionHash": _jsonable(log["transactionHash"]),
                        },
                    )
                )
                touched.add(pid)
            else:
                if pid in known:  # the event's view; state(id) below overrides it where the node can answer
                    state = _EVENT_STATE[name]
                    known[pid].update(state=state, outcome=outcome_from_state(state).outcome)
                    if name == "ProposalQueued":
                        known[pid]["eta"] = args["etaSeconds"]
                touched.add(pid)
        # Proposals first (the writer needs them before their votes); each with its state at the chunk's end.
        updates = [
            self._refresh(contract, known[pid], end, refreshed) for pid in sorted(touched) if pid in known
        ]
        return updates + items

    def _refresh(self, contract: Any, item: dict[str, Any], block: int, refreshed: dict[str, int]) -> RawItem:
        """The proposal as of ``block``: ``state(id)`` and tallies where the node answers, else the events' view.

        ``item`` (an entry of ``known``) is updated in place, so later chunks start from this view.
        """
        pid = int(item["proposalId"])
        try:
            state = ProposalState(int(contract.functions.state(pid).call(block_identifier=block))).key
            item["state"] = state
            item["outcome"] = outcome_from_state(state).outcome
        except Exception:  # noqa: BLE001, S110 - a pruned node, or an unknown id: keep the events' view
            pass
        tallies = self._tallies(contract, pid, block)
        if tallies is not None:
            scale = 10**self.vote_decimals
            against, for_, abstain = tallies
            item.update(againstVotes=against / scale, forVotes=for_ / scale, abstainVotes=abstain / scale)
        self._vote_times(contract, item, block)
        refreshed[str(item["proposalId"])] = block
        return RawItem("governor-proposal", f"proposal {pid}", dict(item))

    def _vote_times(self, contract: Any, item: dict[str, Any], block: int) -> None:
        """``startTime``/``endTime`` of the vote window from ``voteStart``/``voteEnd`` (the Governor's clock).

        A timestamp clock gives them exactly. A block clock gives the block's time once the node has the block;
        a block still ahead of ``block`` is estimated once from the recent block rate and kept (listed in
        ``estimatedTimes``) until the block exists: voting cannot have started while its start block is ahead.
        """
        if self._clock_mode is None:
            try:
                self._clock_mode = str(contract.functions.CLOCK_MODE().call())
            except Exception:  # noqa: BLE001 - Bravo and pre-4.9 OpenZeppelin have no ERC-6372 clock: blocks
                self._clock_mode = "mode=blocknumber"
        estimated = set(item.get("estimatedTimes") or [])
        for point_key, key in (("voteStart", "startTime"), ("voteEnd", "endTime")):
            point = item.get(point_key)
            if not isinstance(point, int) and not (isinstance(point, str) and point.isdigit()):
                continue
            point = int(point)
            try:
                if "timestamp" in self._clock_mode or point <= block:
                    seconds = point if "timestamp" in self._clock_mode else int(self.w3.eth.get_block(point)["timestamp"])
                    item[key] = datetime.fromtimestamp(seconds, UTC).isoformat()
                    estimated.discard(key)
                elif key not in estimated or not item.get(key):
                    now = int(self.w3.eth.get_block(block)["timestamp"])
                    window = min(block, 1_000)
                    rate = (now - int(self.w3.eth.get_block(block - window)["timestamp"])) / window if window else 12.0
                    item[key] = datetime.fromtimestamp(now + round((point - block) * max(rate, 1.0)), UTC).isoformat()
                    estimated.add(key)
            except Exception:  # noqa: BLE001, S112 - a node without that block (pruned, a replay): the time stays as it was
                continue
        item["estimatedTimes"] = sorted(estimated)

    @staticmethod
    def _tallies(contract: Any, pid: int, block: int) -> tuple[int, int, int] | None:
        """(against, for, abstain) in token units: OpenZeppelin's ``proposalVotes``, else Bravo's ``proposals``."""
        try:
            against, for_, abstain = contract.functions.proposalVotes(pid).call(block_identifier=block)
            return int(against), int(for_), int(abstain)
        except Exception:  # noqa: BLE001, S110 - not an OpenZeppelin Governor (or a pruned node): try Bravo's getter
            pass
        try:
            row = contract.functions.proposals(pid).call(block_identifier=block)
            return int(row[6]), int(row[5]), int(row[7])
        except Exception:  # noqa: BLE001 - neither getter answers (a pruned node): tallies stay unknown
            return None

    def normalise(self, item: RawItem) -> list[Record]:
        if item.kind == "governor-proposal":
            return [governor_proposal(item.payload)]
        if item.kind == "governor-vote":
            return [governor_vote(item.payload)]
        if item.kind == "governor-error":
            raise InputError(str(item.payload.get("error")))
        raise InputError(f"Governor source cannot read a {item.kind!r} item")

