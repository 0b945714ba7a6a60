"""Build ``compound_bravo_events.json`` from ../shared/data alone (run from the repository root):

    .venv/bin/python tests/ingest/data/build_compound_bravo.py --data ../shared/data

The Governor logs of Compound GovernorBravo proposals 43 (executed) and 63 (canceled) as a node would return them,
decoded. Real, from ../shared/data: proposal ids, proposers, start/end blocks, descriptions, creation times, final
states; every vote's voter, support, voting power, reason, block, time and transaction hash. Not in the shared data,
so derived here and marked in ``derived``: the proposals' actions (left empty), the creation block (start block - 1),
the lifecycle events' blocks and times (after voting ended), the eta (queue time + Compound's 2-day timelock delay),
log indexes, and the transaction hashes of non-vote events. The test re-encodes these into raw logs with Bravo's
event ABI.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ADDRESS = "0xc0Da02939E1441F497fd74F78cE7Decb17B66529"  # Compound GovernorBravo proxy, mainnet
PROPOSALS = (43, 63)
TIMELOCK_DELAY = timedelta(days=2)
NO_REASON_VOTES = 3  # per proposal, besides every vote with a reason: the earliest ones without


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _derived_hash(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(map(str, ("derived", *parts))).encode()).hexdigest()


def build(data: Path) -> dict[str, Any]:
    rows = {json.loads(line)["id"]: json.loads(line) for line in (data / "proposals.jsonl").open(encoding="utf-8")}
    votes = [json.loads(line) for line in (data / "votes.jsonl").open(encoding="utf-8")]
    events: list[dict[str, Any]] = []
    for pid in PROPOSALS:
        row = rows[f"compound-governorbravo-{pid}"]
        mine = sorted((v for v in votes if v["native_proposal_id"] == pid), key=lambda v: (v["block_number"], v["txhash"]))
        chosen = [v for v in mine if (v.get("reason") or "").strip()]
        chosen += [v for v in mine if not (v.get("reason") or "").strip()][:NO_REASON_VOTES]
        chosen += [v for v in mine if v["choice_index"] == 2 and v not in chosen]  # every abstention
        events.append({
            "event": "ProposalCreated", "blockNumber": row["start_block"] - 1, "logIndex": 0,
            "transactionHash": _derived_hash(pid, "created"), "timestamp": _iso(_time(row["created"])),
            "args": {"id": pid, "proposer": row["author"], "targets": [], "values": [], "signatures": [], "calldatas": [],
                     "startBlock": row["start_block"], "endBlock": row["end_block"], "description": row["body"]},
        })
        for index, vote in enumerate(sorted(chosen, key=lambda v: (v["block_number"], v["txhash"]))):
            events.append({
                "event": "VoteCast", "blockNumber": vote["block_number"], "logIndex": index, "transactionHash": vote["txhash"],
                "timestamp": _iso(_time(vote["created"])),
                "args": {"voter": vote["voter"], "proposalId": pid, "support": vote["choice_index"],
                         "votes": str(round(vote["vp"] * 10**18)), "reason": vote.get("reason") or ""},
            })
        closed = max(_time(v["created"]) for v in mine) + timedelta(hours=1)
        if row["state"] == "executed":
            queued_at = closed
            events.append({"event": "ProposalQueued", "blockNumber": row["end_block"] + 1, "logIndex": 0,
                           "transactionHash": _derived_hash(pid, "queued"), "timestamp": _iso(queued_at),
                           "args": {"id": pid, "eta": int((queued_at + TIMELOCK_DELAY).timestamp())}})
            events.append({"event": "ProposalExecuted", "blockNumber": row["end_block"] + 13_000, "logIndex": 0,
                           "transactionHash": _derived_hash(pid, "executed"), "timestamp": _iso(queued_at + TIMELOCK_DELAY),
                           "args": {"id": pid}})
        elif row["state"] == "canceled":
            events.append({"event": "ProposalCanceled", "blockNumber": row["end_block"] + 1, "logIndex": 0,
                           "transactionHash": _derived_hash(pid, "canceled"), "timestamp": _iso(closed), "args": {"id": pid}})
    return {
        "about": __doc__.split("\n\n")[1].strip(),
        "source": {"path": "../shared/data/proposals.jsonl + votes.jsonl",
                   "upstream": "bhemen/dao-governance data/compound_governor_bravo.csv @885c6c956cbe31c7c44f7cfa4338bb51ae8ccecf (via ../shared/data)"},
        "derived": ["ProposalCreated actions (empty: not in the shared data) and block (start block - 1)",
                    "ProposalQueued/Executed/Canceled blocks and times (after the last vote), eta (queue time + 2 days)",
                    "logIndex values; transactionHash of non-vote events (sha256 of 'derived:...')",
                    "VoteCast votes as round(vp * 1e18) (the shared data keeps vp as a float)"],
        "chain_id": 1,
        "address": ADDRESS,
        "events": events,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("compound_bravo_events.json"))
    args = parser.parse_args()
    args.out.write_text(json.dumps(build(args.data), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
