"""Precision of proposal <-> thread links on the real Arbitrum pairs in ../shared/data (not a test).

Ground truth: ``proposals.jsonl`` rows of DAO arbitrum with ``linked_threads`` (forum topic ids), built by
the data set's authors from forum links in proposal bodies (135) and exact normalised titles (11).
The bundled sample (the same proposals and forum scrape, all before 2025-01-01) is ingested into a temp
SQLite store, ``link_dao`` runs, and every stored link is judged:

- precision per method over proposals that have ground-truth links (a link is right when its thread is
  one of the proposal's ``linked_threads``);
- links made for proposals without ground truth are counted but not judged;
- the similarity method is also scored on its own (every ground-truth proposal, titles + bodies only, no
  URLs used) at several thresholds, because in the full pipeline it only sees what explicit links missed.

Run:  .venv/bin/python evals/eval_linking.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

from sqlmodel import select


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()

    from ingest.core.domain import Proposal, ProposalLink, Thread
    from ingest.core.store import Store
    from ingest.linking import link_dao
    from ingest.linking.similarity import best_matches
    from ingest.pipeline import run_ingestion
    from ingest.sources.sample import SAMPLE_DAOS, sample_sources

    truth: dict[str, set[str]] = {}
    for line in (args.data / "proposals.jsonl").open():
        row = json.loads(line)
        if row.get("dao") == "arbitrum" and row.get("linked_threads"):
            truth[str(row["native_id"]).lower()] = {str(t) for t in row["linked_threads"]}

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/eval.db")
        for dao in SAMPLE_DAOS:
            store.ensure_dao(dao.slug, dao.name, forum_url=dao.forum_url, snapshot_space=dao.snapshot_space)
        for slug, source in sample_sources():
            if slug == "arbitrum":
                run_ingestion(store, store.get_dao(slug), source)
        print(link_dao(store, "arbitrum").line())
        with store.session() as session:
            topic_of = {t.id: t.external_id for t in session.exec(select(Thread))}
            proposals = {p.id: p for p in session.exec(select(Proposal))}
            made: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for link in session.exec(select(ProposalLink)):
                key = link.method if link.method == "similarity" else f"{link.method}@{link.confidence:.2f}"
                made[key].append((proposals[link.proposal_id].external_id.lower(), topic_of[link.thread_id]))
            print(
                f"\nground truth: {len(truth)} proposals with {sum(map(len, truth.values()))} linked threads"
            )
            print(
                f"{'method@confidence':<24} {'links':>6} {'judged':>7} {'right':>6} {'precision':>10}  unjudged"
            )
            all_right = all_judged = 0
            for method, pairs in sorted(made.items()):
                judged = [(p, t) for p, t in pairs if p in truth]
                right = sum(t in truth[p] for p, t in judged)
                all_right, all_judged = all_right + right, all_judged + len(judged)
                precision = f"{right / len(judged):.3f}" if judged else "n/a"
                print(
                    f"{method:<24} {len(pairs):>6} {len(judged):>7} {right:>6} {precision:>10}  {len(pairs) - len(judged)}"
                )
            print(
                f"{'all methods':<24} {'':>6} {all_judged:>7} {all_right:>6} {all_right / max(all_judged, 1):>10.3f}"
            )
            found = {(p, t) for pairs in made.values() for p, t in pairs}
            gold = {(p, t) for p, ts in truth.items() for t in ts}
            print(
                f"recall of ground-truth pairs: {len(found & gold)}/{len(gold)} = {len(found & gold) / len(gold):.3f}"
            )

            forum = [t for t in session.exec(select(Thread)) if t.external_id.isdigit()]
            gold_props = [p for p in proposals.values() if p.external_id.lower() in truth]
            by_topic = {t.external_id: t for t in forum}
            print(
                "\nsimilarity (titles) alone on the ground-truth proposals, best thread per proposal, margin 0.05:"
            )
            print(
                f"{'threshold':>9} {'links':>6} {'right':>6} {'precision':>10} {'coverage':>9}  wrong where the truth is a program thread"
            )
            for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
                matches = best_matches(
                    [p.title for p in gold_props], [t.title for t in forum], threshold=threshold
                )
                right = [
                    forum[j].external_id in truth[gold_props[i].external_id.lower()] for i, j, _ in matches
                ]
                umbrella = sum(
                    1
                    for (i, j, _), ok in zip(matches, right)
                    if not ok
                    and all(
                        g in by_topic and "program" in by_topic[g].title.lower()
                        for g in truth[gold_props[i].external_id.lower()]
                    )
                )
                print(
                    f"{threshold:>9.2f} {len(matches):>6} {sum(right):>6} {sum(right) / max(len(matches), 1):>10.3f} {len(matches) / len(gold_props):>9.3f}  {umbrella}"
                )
        store.close()


if __name__ == "__main__":
    main()
