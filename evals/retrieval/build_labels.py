"""Build ``labels.jsonl``: retrieval queries over the bundled sample's Arbitrum forum, each with the posts that
answer it, taken from links the data's own authors made (no relevance judgement by us).

Two query sets, written in this order:

``proposal_title``
    An Arbitrum proposal's title (Snapshot or Tally, all in the bundled sample); relevant = every post of the forum
    thread(s) the data set links to that proposal (``linked_threads`` in ``../shared/data/proposals.jsonl``: the
    forum topic linked in the proposal body, or an exact normalised title match). Many proposals share a thread
    (100 STIP applications link one thread), so at most ``--titles-per-thread`` distinct titles per thread are
    kept (earliest first); threads with fewer than ``--min-posts`` posts in the sample are left out.
``thread_title``
    A forum thread's title; relevant = the posts of that thread (the thread title is not part of the indexed post
    text). Threads with fewer than ``--min-thread-posts`` posts are left out, as are titles equal to a
    ``proposal_title`` query.

Deterministic: same inputs, same file. Run:
``python -m evals.retrieval.build_labels --proposals ../shared/data/proposals.jsonl`` (ingests the bundled
sample into a temporary SQLite file first).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from ingest.core.domain import Dao, Post, Proposal, Source, Thread
from ingest.core.errors import InputError
from ingest.core.store import Store

__all__ = ["LABELS", "build_labels", "normalise_title"]

LABELS = Path(__file__).with_name("labels.jsonl")


def normalise_title(title: str) -> str:
    """Lower-case words only: what counts as 'the same title'."""
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


def _thread_posts(store: Store, dao: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Forum thread external id -> its post external ids (sorted), and -> its title, for ``dao``'s forum."""
    posts: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, str] = {}
    with store.session() as session:
        rows = session.exec(
            select(Thread.external_id, Thread.title, Post.external_id)
            .join(Post, col(Post.thread_id) == Thread.id)
            .join(Source, col(Source.id) == Thread.source_id)
            .join(Dao, col(Dao.id) == Source.dao_id)
            .where(Dao.slug == dao, Source.kind == "discourse", col(Post.deleted).is_(False), Post.text != "")
        ).all()
    for thread, title, post in rows:
        posts[str(thread)].append(str(post))
        titles[str(thread)] = title or ""
    return {t: sorted(p, key=lambda e: (len(e), e)) for t, p in posts.items()}, titles


def _load_proposals(path: Path, dao: str) -> list[dict[str, Any]]:
    if not path.exists():
        raise InputError(f"{path} does not exist; pass --proposals pointing at the shared data's proposals.jsonl.")
    with path.open(encoding="utf-8") as handle:  # not str.splitlines: bodies hold U+2028
        rows = [json.loads(line) for line in handle if line.strip()]
    return [r for r in rows if r.get("dao") == dao and r.get("linked_threads")]


def build_labels(
    store: Store, proposals_path: Path, *, dao: str = "arbitrum", titles_per_thread: int = 3, min_posts: int = 2,
    min_thread_posts: int = 3,
) -> list[dict[str, Any]]:
    """The label rows (see the module docstring), ``proposal_title`` first, then ``thread_title``."""
    posts, titles = _thread_posts(store, dao)
    with store.session() as session:
        in_sample = set(session.exec(
            select(Proposal.external_id).join(Dao, col(Dao.id) == Proposal.dao_id).where(Dao.slug == dao)
        ).all())
    proposals = sorted(
        (p for p in _load_proposals(proposals_path, dao) if str(p.get("native_id")) in in_sample and p.get("title")),
        key=lambda p: (p.get("start") or p.get("created") or 0, str(p["native_id"])),
    )
    by_title: dict[str, dict[str, Any]] = {}
    per_thread: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for proposal in proposals:
        threads = tuple(sorted(str(t) for t in proposal["linked_threads"]))
        relevant = {e for t in threads for e in posts.get(t, [])}
        title = " ".join(str(proposal["title"]).split())
        key = normalise_title(title)
        if len(relevant) < min_posts or key in per_thread[threads] or len(per_thread[threads]) >= titles_per_thread:
            continue
        per_thread[threads].add(key)
        row = by_title.setdefault(key, {
            "set": "proposal_title", "dao": dao, "query": title, "relevant_post_external_ids": [],
            "evidence": {"proposals": [], "threads": [], "link_methods": []},
        })
        # the same title linked to two threads (a re-posted proposal): one query, both threads relevant
        row["relevant_post_external_ids"] = sorted(relevant | set(row["relevant_post_external_ids"]), key=lambda e: (len(e), e))
        evidence = row["evidence"]
        evidence["proposals"].append(str(proposal["native_id"]))
        evidence["threads"] = sorted(set(evidence["threads"]) | set(threads), key=lambda t: (len(t), t))
        method = proposal.get("link_method")
        if method and method not in evidence["link_methods"]:
            evidence["link_methods"].append(method)
    rows = list(by_title.values())
    taken = set(by_title)
    for thread in sorted(posts, key=lambda t: (len(t), t)):
        title = " ".join(titles[thread].split())
        if len(posts[thread]) < min_thread_posts or not title or normalise_title(title) in taken:
            continue
        taken.add(normalise_title(title))
        rows.append({
            "set": "thread_title", "dao": dao, "query": title, "relevant_post_external_ids": posts[thread],
            "evidence": {"threads": [thread]},
        })
    return rows


def main() -> None:
    from evals.retrieval.corpus import sample_store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=Path, default=Path("../shared/data/proposals.jsonl"))
    parser.add_argument("--titles-per-thread", type=int, default=3)
    parser.add_argument("--min-posts", type=int, default=2)
    parser.add_argument("--min-thread-posts", type=int, default=3)
    parser.add_argument("--out", type=Path, default=LABELS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="concord-labels-") as tmp:
        store = sample_store(Path(tmp) / "sample.db")
        rows = build_labels(store, args.proposals, titles_per_thread=args.titles_per_thread, min_posts=args.min_posts,
                            min_thread_posts=args.min_thread_posts)
        store.close()
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    counts = {s: sum(1 for r in rows if r["set"] == s) for s in ("proposal_title", "thread_title")}
    print(f"{len(rows)} queries ({counts}) written to {args.out}")


if __name__ == "__main__":
    main()
