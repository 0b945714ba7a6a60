"""The draft's near-duplicate warning, measured on real proposals: precision and recall of "the DAO already discussed
this" at the thresholds, chosen on a train split and reported on a held-out split.

Labelled set, built from the store by a rule (no hand labels):

* a *duplicate* query is a proposal whose normalised title (tags like ``[REVISED]``, ``AIP:``/``Proposal:`` prefixes,
  punctuation and filler words dropped) another proposal of the same DAO also carries (a resubmission, or the
  Snapshot and on-chain copies of one proposal); its idea text is the opening of its own body
  (heading lines dropped, 300 characters, no title), and the warning is right only if it flags one of the
  same-title proposals;
* a *distinct* query is a proposal whose title no other proposal of the DAO carries; any warning is a false alarm.
  (A resubmission under a new title would be mislabelled distinct: the false alarms are listed for reading. The title
  normalisation was written after reading the first run's false alarms on both splits.)

Every query is scored against all the DAO's other proposals exactly as a draft is
(:func:`governance.prior_art.score_candidates`, minus the query itself and its own forum thread). Queries are split
50/50 by a hash of DAO + title, so both copies of a proposal fall on one side. Thresholds are chosen on the train
split (best F1, ties to higher precision); the held-out split is scored once at the chosen and at the shipped ones.

    python -m evals.near_dup --data-dir .concord [--daos arbitrum,compound] [--out evals/results/near_dup.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import col, select

__all__ = ["Query", "build_queries", "choose_thresholds", "main", "score_queries", "scores_at"]

IDEA_CHARS = 300
_HEADING_LINE = re.compile(r"^\s*(#{1,6}\s.*|\*\*[^*\n]{1,80}\*\*\s*:?\s*)$", re.MULTILINE)


_TAG = re.compile(r"\[[^\]]*\]|\([^)]*\)")
_FILLER = frozenset({"proposal", "aip", "non", "constitutional", "revised", "real", "final", "updated", "update", "v2",
                     "to", "the", "a", "an", "of", "for", "and"})


def _norm(title: str) -> str:
    """A title's key: bracketed tags, AIP/proposal/constitutional prefixes, revision marks, punctuation and filler
    words dropped ("AIP 1.05: Return 700M $ARB ... [REAL]" and "Proposal to Establish ..." match their originals)."""
    words = re.sub(r"[^a-z0-9$.]+", " ", _TAG.sub(" ", title.lower())).split()
    return " ".join(w.strip(".") for w in words if w.strip(".") and w.strip(".") not in _FILLER)


def idea_text(body: str) -> str:
    """A body's opening as an idea: heading lines dropped, whitespace collapsed, IDEA_CHARS characters."""
    return " ".join(_HEADING_LINE.sub(" ", body or "").split())[:IDEA_CHARS]


@dataclass
class Query:
    dao: str
    proposal_id: int
    title: str
    idea: str
    duplicate: bool
    split: str
    candidates: list[dict[str, Any]] = field(default_factory=list)  # cosine, title_cosine, same_title, title


def _split(dao: str, title: str) -> str:
    return "train" if int(hashlib.sha256(f"{dao}:{_norm(title)}".encode()).hexdigest(), 16) % 2 == 0 else "test"


def build_queries(store: Any, daos: list[str], *, seed: int = 0, negatives_per_positive: float = 2.0) -> list[Query]:
    from ingest.core.domain import Dao, Proposal

    out: list[Query] = []
    with store.session() as session:
        for slug in daos:
            dao = session.exec(select(Dao).where(Dao.slug == slug)).first()
            if dao is None:
                continue
            rows = session.exec(select(Proposal).where(Proposal.dao_id == dao.id).order_by(col(Proposal.id))).all()
            groups: dict[str, list[Any]] = defaultdict(list)
            for p in rows:
                groups[_norm(p.title)].append(p)
            positives, negatives = [], []
            for members in groups.values():
                bodied = [p for p in members if len(idea_text(p.body or "")) >= 120]
                if not bodied:
                    continue
                query = max(bodied, key=lambda p: (len(p.body or ""), -int(p.id or 0)))
                (positives if len(members) > 1 else negatives).append(query)
            random.Random(seed).shuffle(negatives)
            negatives = sorted(negatives[: int(len(positives) * negatives_per_positive)], key=lambda p: int(p.id or 0))
            for p, dup in [*((p, True) for p in positives), *((p, False) for p in negatives)]:
                out.append(Query(slug, int(p.id or 0), p.title, idea_text(p.body or ""), dup, _split(slug, p.title)))
    return out


def score_queries(store: Any, queries: list[Query], embedder: Any) -> None:
    """Fill each query's shortlisted candidates with their cosines (the query itself and its own thread left out)."""
    from governance.prior_art import score_candidates
    from ingest.core.domain import Thread

    with store.session() as session:
        for q in queries:
            found = score_candidates(session, dao_slug=q.dao, idea=q.idea, embedder=embedder, exclude=[q.proposal_id])
            own = _norm(q.title)
            q.candidates = []
            for i, cos in (found.cosine or {}).items():
                row = found.rows[i]
                same = _norm(row.title) == own
                if same and isinstance(row, Thread):
                    continue  # the query's own forum discussion, not an earlier proposal
                q.candidates.append({"title": row.title, "cosine": round(cos, 4),
                                     "title_cosine": round(found.title_cosine[i], 4), "same_title": same})


def scores_at(queries: list[Query], body: float, title: float, floor: float = 0.0) -> dict[str, Any]:
    """The warning's counts when it flags body cosine >= ``body`` (with title cosine >= ``floor``) or title cosine
    >= ``title``."""
    tp = fp = fn = tn = 0
    false_alarms = []
    for q in queries:
        flagged = [c for c in q.candidates if (c["cosine"] >= body and c["title_cosine"] >= floor) or c["title_cosine"] >= title]
        hit = any(c["same_title"] for c in flagged)
        if q.duplicate:
            tp += hit
            fn += not hit
            fp += bool(flagged) and not hit  # warned, but about another proposal
        elif flagged:
            fp += 1
            best = max(flagged, key=lambda c: max(c["cosine"], c["title_cosine"]))
            false_alarms.append({"query": q.title, "flagged": best["title"], "cosine": best["cosine"],
                                 "title_cosine": best["title_cosine"]})
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"body": body, "title": title, "floor": floor, "precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
            "tp": tp, "fp": fp, "fn": fn, "tn": tn, "queries": len(queries), "duplicates": sum(q.duplicate for q in queries),
            "false_alarms": false_alarms}


def choose_thresholds(train: list[Query]) -> dict[str, Any]:
    """Best F1 on ``train`` over a grid (ties: higher precision, then higher thresholds)."""
    grid_body = [round(0.40 + 0.025 * i, 3) for i in range(23)]  # 0.40 .. 0.95
    grid_title = [round(0.60 + 0.025 * i, 3) for i in range(17)] + [1.01]  # 1.01: title rule off
    grid_floor = [0.0, 0.3, 0.4, 0.5, 0.6]
    best = max((scores_at(train, b, t, f) for b in grid_body for t in grid_title for f in grid_floor),
               key=lambda s: (s["f1"], s["precision"], s["body"], s["title"], s["floor"]))
    return best


def main(argv: list[str] | None = None) -> int:
    from embeddings import cached_embedder
    from governance.prior_art import NEAR_DUPLICATE, NEAR_DUPLICATE_FLOOR, NEAR_DUPLICATE_TITLE
    from ingest.core.settings import load_settings
    from ingest.core.store import Store

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="Concord data dir holding the store (default: settings)")
    parser.add_argument("--daos", default="arbitrum,compound")
    parser.add_argument("--out", type=Path, default=Path("evals/results/near_dup.json"))
    args = parser.parse_args(argv)
    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    store = Store.open(settings.effective_database_url)
    queries = build_queries(store, [d.strip() for d in args.daos.split(",") if d.strip()])
    score_queries(store, queries, cached_embedder(settings))
    train = [q for q in queries if q.split == "train"]
    test = [q for q in queries if q.split == "test"]
    chosen = choose_thresholds(train)
    result = {
        "labels": "rule-built: duplicate = another proposal of the DAO has the same normalised title; distinct = title unique in the DAO",
        "idea": f"the query's own body opening ({IDEA_CHARS} characters, heading lines dropped, no title)",
        "split": "50/50 by a hash of DAO + title; thresholds chosen on train (best F1), scored once on test",
        "daos": args.daos,
        "shipped": {"body": NEAR_DUPLICATE, "title": NEAR_DUPLICATE_TITLE, "floor": NEAR_DUPLICATE_FLOOR,
                    "train": scores_at(train, NEAR_DUPLICATE, NEAR_DUPLICATE_TITLE, NEAR_DUPLICATE_FLOOR),
                    "test": scores_at(test, NEAR_DUPLICATE, NEAR_DUPLICATE_TITLE, NEAR_DUPLICATE_FLOOR)},
        "previous": {"body": 0.6, "title": 0.8, "floor": 0.0, "note": "the thresholds before this evaluation (read off three ideas)",
                     "train": scores_at(train, 0.6, 0.8, 0.0), "test": scores_at(test, 0.6, 0.8, 0.0)},
        "chosen": {"body": chosen["body"], "title": chosen["title"], "floor": chosen["floor"], "train": chosen,
                   "test": scores_at(test, chosen["body"], chosen["title"], chosen["floor"])},
        "queries": [{"dao": q.dao, "proposal_id": q.proposal_id, "title": q.title, "duplicate": q.duplicate, "split": q.split}
                    for q in queries],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name in ("previous", "shipped", "chosen"):
        r = result[name]
        print(f"{name} (body >= {r['body']} with title >= {r['floor']}, or title >= {r['title']}): train P {r['train']['precision']} R {r['train']['recall']} "
              f"(n={r['train']['queries']}, {r['train']['duplicates']} duplicates); held-out P {r['test']['precision']} "
              f"R {r['test']['recall']} F1 {r['test']['f1']} (n={r['test']['queries']}, {r['test']['duplicates']} duplicates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
