"""Rebuild the bundled demo sample from ../shared/data (run once by a developer; output is committed).

    python -m ingest.sample.build_sample --data ../shared/data

Each file under ingest/sample/data/ is a *recording*: payloads in the shape the live API
returns (Discourse JSON, Snapshot hub GraphQL, decoded Governor events, DiscordChatExporter
JSON), so the demo ingests them through the same normalisers and writer a live source uses.
Fields the public source does not have are null, or, where the API shape requires a value,
derived as PROVENANCE.md says. Nothing is invented beyond that.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.sample.corrections import correct_proposal_row

OUT = Path(__file__).parent / "data"
CUTOFF = datetime(2025, 1, 1, tzinfo=UTC)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _write(name: str, payload: Any) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    # mtime=0: the same input gives byte-identical files, so a rebuild changes only what changed
    with gzip.GzipFile(OUT / name, "wb", compresslevel=9, mtime=0) as handle:
        handle.write(text.encode("utf-8"))


def _cooked(text: str) -> str:
    """Discourse's `cooked` HTML for a post whose source kept only text: one <p> per paragraph."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _iso(ts: Any) -> str | None:
    if ts in (None, ""):
        return None
    if isinstance(ts, (int, float)):
        return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    return str(ts) if str(ts).endswith("Z") or "+" in str(ts) else f"{ts}Z"


def _before_cutoff(proposal: dict[str, Any]) -> bool:
    for key in ("start", "created"):
        value = proposal.get(key)
        if value is None:
            continue
        when = (
            datetime.fromtimestamp(value, UTC)
            if isinstance(value, (int, float))
            else datetime.fromisoformat(str(value).replace("Z", "")).replace(tzinfo=UTC)
        )
        return when < CUTOFF
    return True


def build_discourse(posts: list[dict[str, Any]], proposals: list[dict[str, Any]]) -> None:
    forum = [p for p in posts if p["dao"] == "arbitrum" and p.get("source_type") != "discord"]
    by_thread: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for post in forum:
        by_thread[int(post["thread_id"])].append(post)
    responses: dict[str, Any] = {}
    topics = []
    for topic_id, thread_posts in sorted(by_thread.items()):
        ordered = sorted(thread_posts, key=lambda p: (p.get("post_number") or 0, p.get("reply_index_in_file") or 0))
        first = ordered[0]
        stream = []
        for number, post in enumerate(ordered, start=1):
            stream.append(
                {
                    "id": topic_id * 10_000 + number,
                    "post_number": number,
                    "username": post["author"],
                    "name": None,
                    "created_at": None,
                    "updated_at": None,
                    "cooked": _cooked(post["text"]),
                    "reply_to_post_number": None,
                    "topic_id": topic_id,
                }
            )
        topic = {
            "id": topic_id,
            "title": first["thread_title"],
            "slug": str(topic_id),
            "posts_count": len(stream),
            "highest_post_number": len(stream),
            "created_at": None,
            "bumped_at": None,
            "last_posted_at": None,
            "category_name": first.get("category"),
        }
        topics.append(topic)
        responses[f"/t/{topic_id}.json"] = {**topic, "post_stream": {"posts": stream, "stream": [p["id"] for p in stream]}}
    responses["/latest.json"] = {"topic_list": {"topics": topics, "more_topics_url": None}}
    _write(
        "discourse-arbitrum.json.gz",
        {"dao": "arbitrum", "base_url": "https://forum.arbitrum.foundation", "responses": responses},
    )


def build_snapshot(proposals: list[dict[str, Any]]) -> None:
    rows = [
        p for p in proposals
        if p["dao"] == "arbitrum" and p["platform"].startswith("snapshot") and _before_cutoff(p)
    ]
    gql = []
    for p in rows:
        gql.append(
            {
                "id": p["native_id"],
                "title": p["title"],
                "body": p.get("body") or "",
                "choices": p["choices"] or [],
                "type": p.get("proposal_type") or "single-choice",
                "start": p["start"],
                "end": p["end"],
                "created": p.get("created") or p["start"],
                "state": p.get("state"),
                "author": p.get("author"),
                "scores": p.get("scores"),
                "scores_total": p.get("scores_total"),
                "scores_state": "final" if p.get("scores") else None,
                "votes": p.get("voters"),
                "quorum": p.get("quorum") or 0,
                "discussion": p.get("discussion_url") or "",
                "link": p.get("link"),
                "space": {"id": "arbitrumfoundation.eth", "name": "Arbitrum DAO"},
            }
        )
    _write(
        "snapshot-arbitrum.json.gz",
        {"dao": "arbitrum", "space": {"id": "arbitrumfoundation.eth", "name": "Arbitrum DAO"}, "proposals": gql, "votes": []},
    )


_TALLY_STATUS = re.compile(r"Tally status '([a-z]+)'")


def _tally_state(p: dict[str, Any]) -> str | None:
    """The proposal's Tally status: the row's ``state``, or, where that is the scrape's ``CONFIRMED`` (not a status),
    the status the outcome was taken from (named in ``outcome_source``)."""
    state = p.get("state")
    if state == "CONFIRMED":
        found = _TALLY_STATUS.search(str(p.get("outcome_source") or ""))
        return found.group(1) if found else None
    return state


def _governor_proposal(p: dict[str, Any], *, outcome_from_state: bool = False) -> dict[str, Any]:
    # `p` has been through correct_proposal_row: scores are in `choices` order (the shared data stores Compound and
    # Uniswap Governor scores For-first under choices Against/For/Abstain; evidence in ingest/sample/corrections.py).
    scores = p.get("scores") or []
    choices = p.get("choices") or []
    tallies = {c.lower(): s for c, s in zip(choices, scores, strict=False)}
    title = p.get("title") or ""
    body = p.get("body") or ""
    description = body if body.lstrip().startswith("#") else f"# {title}\n\n{body}"
    return {
        "proposalId": p["native_id"],
        "proposer": p.get("author"),
        "description": description,
        "voteStart": p.get("start_block") or p.get("start"),
        "voteEnd": p.get("end_block") or p.get("end"),
        "startTime": _iso(p.get("start")),
        "endTime": _iso(p.get("end")),
        "createdTime": _iso(p.get("created")),
        # A live Tally/Governor read gives a lifecycle state; the store derives the outcome from it by the stated
        # rule (ingest.normalise.outcome_rule). Compound's outcomes come from its lifecycle events and are kept.
        "state": _tally_state(p) if outcome_from_state else p.get("state"),
        "outcome": None if outcome_from_state else p.get("outcome"),
        "forVotes": tallies.get("for"),
        "againstVotes": tallies.get("against"),
        "abstainVotes": tallies.get("abstain"),
        "voters": p.get("voters"),
        "quorum": p.get("quorum"),
        "discussion": p.get("discussion_url"),
        "link": p.get("link"),
    }


def build_governors(proposals: list[dict[str, Any]], votes: list[dict[str, Any]]) -> None:
    tally = [p for p in proposals if p["platform"] == "tally (onchain)" and _before_cutoff(p)]
    _write(
        "governor-arbitrum.json.gz",
        {"dao": "arbitrum", "governor": "Arbitrum Core/Treasury Governor (via Tally)", "chain_id": 42161,
         "proposals": [_governor_proposal(p, outcome_from_state=True) for p in tally], "votes": []},
    )
    bravo = [p for p in proposals if p["platform"] == "governorbravo compound (onchain)"]
    ids = {p["id"] for p in bravo}
    support = {"Against": 0, "For": 1, "Abstain": 2}
    compound_votes = [
        {
            "proposalId": v["native_proposal_id"],
            "voter": v["voter"],
            "support": support[v["choice"]],
            "votes": v["vp"],
            "reason": v.get("reason") or "",
            "blockNumber": v.get("block_number"),
            "transactionHash": v.get("txhash"),
            "time": _iso(v.get("created")),
        }
        for v in votes
        if v["proposal_id"] in ids
    ]
    _write(
        "governor-compound.json.gz",
        {"dao": "compound", "governor": "Compound GovernorBravo", "chain_id": 1,
         "proposals": [_governor_proposal(p) for p in bravo], "votes": compound_votes},
    )


def build_discord(posts: list[dict[str, Any]]) -> None:
    rows = [p for p in posts if p["dao"] == "aave" and p.get("source_type") == "discord"]
    rows.sort(key=lambda p: p.get("post_number") or 0)
    messages = []
    for row in rows:
        handle = row["author"]
        name, _, discriminator = handle.partition("#")
        messages.append(
            {
                "id": f"csv-row-{row['post_number']}",
                "type": "Default",
                "timestamp": f"{row['created']}:00+00:00" if row.get("created") else None,
                "timestampEdited": None,
                "isPinned": False,
                "content": row["text"],
                "author": {"id": row.get("author_id"), "name": name, "discriminator": discriminator or "0000",
                           "nickname": name, "isBot": False},
                "attachments": [],
                "reactions": [],
                "mentions": [],
            }
        )
    first = rows[0]
    _write(
        "discord-aave.json.gz",
        {
            "guild": {"id": "aave-community", "name": "Aave Community"},
            "channel": {"id": first["thread_id"], "type": "GuildTextChat", "category": "AAVE Token",
                        "name": "governance", "topic": None},
            "dateRange": {"after": None, "before": None},
            "messages": messages,
            "messageCount": len(messages),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    # Known errors of the read-only shared data (Governor For/Against scores swapped, outcomes derived from them)
    # are corrected on reading, by the same function agent.predict.loader uses; see ingest/sample/corrections.py.
    proposals = [correct_proposal_row(p) for p in _read_jsonl(args.data / "proposals.jsonl")]
    posts = _read_jsonl(args.data / "posts.jsonl")
    votes = _read_jsonl(args.data / "votes.jsonl")
    build_discourse(posts, proposals)
    build_snapshot(proposals)
    build_governors(proposals, votes)
    build_discord(posts)
    for path in sorted(OUT.glob("*.gz")):
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
