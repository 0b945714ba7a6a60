"""Build ``labels.jsonl``: each query is a Snapshot proposal title from the bundled Arbitrum sample; its relevant
posts are the posts of the forum thread the proposal itself names as its discussion (``discussion_url``).

The labels are real links made by the proposal authors, not judgements by us; queries whose thread holds
fewer than 3 posts are left out. Run: ``python -m evals.retrieval.build_labels --db PATH``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlmodel import col, select

from embeddings.scope import linked_thread_ids
from ingest.domain import Dao, Post, Proposal
from ingest.store import Store

__all__ = ["build_labels"]

OUT = Path(__file__).with_name("labels.jsonl")


def build_labels(store: Store, *, dao: str = "arbitrum", limit: int = 40, min_posts: int = 3) -> list[dict[str, object]]:
    rows = []
    seen_threads: set[int] = set()
    with store.session() as session:
        proposals = session.exec(
            select(Proposal).join(Dao, col(Dao.id) == Proposal.dao_id).where(Dao.slug == dao, Proposal.origin == "snapshot")
            .order_by(col(Proposal.start))
        ).all()
        for proposal in proposals:
            threads = [t for t in linked_thread_ids(session, proposal) if t not in seen_threads]
            if not threads:
                continue
            posts = session.exec(select(Post.external_id).where(col(Post.thread_id).in_(threads))).all()
            if len(posts) < min_posts:
                continue
            seen_threads.update(threads)
            rows.append({"dao": dao, "query": proposal.title, "relevant_post_external_ids": sorted(posts)})
            if len(rows) >= limit:
                break
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="SQLite file holding the ingested sample")
    args = parser.parse_args()
    store = Store.open(f"sqlite:///{args.db}")
    rows = build_labels(store)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"{len(rows)} queries written to {OUT}")


if __name__ == "__main__":
    main()
