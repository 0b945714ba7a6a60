"""Score faithfulness checkers on the labelled quotes: precision, recall and F1 of flagging *unsupported* quotes,
overall, per path (camp-quote citations, quotes inside generated summaries) and per case type.

Concord's checker (:mod:`agent.report.faithfulness`) is scored next to a naive baseline measured in the same run:
a quote is supported when it occurs as an exact substring of the cited post (and, in summaries, quoted spans are
found by a simple non-greedy pairing of quote marks).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.core.errors import InputError

__all__ = [
    "CHECKERS",
    "LABELS",
    "POSTS",
    "Checker",
    "LabelSet",
    "concord_checker",
    "evaluate_checkers",
    "exact_substring_checker",
    "load_label_set",
    "score",
]

DATA = Path(__file__).resolve().parent.parent / "data"
LABELS = DATA / "faithfulness_labels.jsonl"
POSTS = DATA / "faithfulness_posts.jsonl"


@dataclass(frozen=True)
class Checker:
    """A faithfulness checker under evaluation.

    ``citation(quote, post_id, posts)`` says whether a quote cited to ``post_id`` is supported (kept);
    ``summary(text, cited_ids, posts)`` returns the generated text with unsupported quoted spans removed.
    """

    name: str
    description: str
    citation: Callable[[str, int, Mapping[int, str]], bool]
    summary: Callable[[str, Sequence[int], Mapping[int, str]], str]


def concord_checker() -> Checker:
    """Concord's checker, exactly as reports and answers call it."""
    from agent.report.faithfulness import check_citations, strip_unsupported_quotes
    from agent.report.model import Citation, Faithfulness

    def citation(quote: str, post_id: int, posts: Mapping[int, str]) -> bool:
        return bool(check_citations([Citation(post_id=post_id, quote=quote)], posts, Faithfulness()))

    def summary(text: str, cited: Sequence[int], posts: Mapping[int, str]) -> str:
        return strip_unsupported_quotes(text, list(cited), posts, Faithfulness())

    return Checker("concord", "agent/report/faithfulness.py (check_citations, strip_unsupported_quotes)", citation, summary)


_NAIVE_QUOTED = re.compile(r"[\"“](.+?)[\"”]")


def exact_substring_checker() -> Checker:
    """Baseline: supported iff the quote is a non-empty exact substring of a cited post."""

    def citation(quote: str, post_id: int, posts: Mapping[int, str]) -> bool:
        return bool(quote) and quote in posts.get(post_id, "")

    def summary(text: str, cited: Sequence[int], posts: Mapping[int, str]) -> str:
        def keep(m: re.Match[str]) -> str:
            return m.group(0) if any(citation(m.group(1), p, posts) for p in cited) else "[removed]"

        return _NAIVE_QUOTED.sub(keep, text)

    return Checker("exact_substring", "exact substring of the cited post; quoted spans by non-greedy pairing", citation, summary)


CHECKERS: dict[str, Callable[[], Checker]] = {"concord": concord_checker, "exact_substring": exact_substring_checker}


@dataclass(frozen=True)
class LabelSet:
    """The labelled quotes and the posts they cite (integer ids as in a report's inputs)."""

    labels: list[dict[str, Any]]
    posts: dict[int, str]
    ids: dict[str, int]
    sha256: str


def load_label_set(labels_path: Path = LABELS, posts_path: Path = POSTS) -> LabelSet:
    """Read both files; every label must name its case, expected verdict and (except ``missing_post``) a known post."""
    for path in (labels_path, posts_path):
        if not path.exists():
            raise InputError(f"No faithfulness data at {path}; rebuild it with `python -m evals.faithfulness.build_labels`.")
    with posts_path.open(encoding="utf-8") as handle:
        post_rows = [json.loads(line) for line in handle if line.strip()]
    ids = {r["key"]: int(r["id"]) for r in post_rows}
    with labels_path.open(encoding="utf-8") as handle:
        labels = [json.loads(line) for line in handle if line.strip()]
    for row in labels:
        if row.get("expected") not in {"supported", "unsupported"} or "quote" not in row or not row.get("case"):
            raise InputError(f"{labels_path}: row {row.get('id')!r} needs 'case', 'quote' and expected supported/unsupported.")
        cited = str(row.get("cited") or "")
        if not cited.startswith("missing:") and cited not in ids:
            raise InputError(f"{labels_path}: row {row.get('id')!r} cites {cited!r}, which is not in {posts_path}.")
    digest = hashlib.sha256(labels_path.read_bytes() + posts_path.read_bytes()).hexdigest()
    return LabelSet(labels, {int(r["id"]): r["text"] for r in post_rows}, ids, digest)


def score(pairs: Sequence[tuple[str, bool]]) -> dict[str, Any]:
    """Precision/recall/F1 of flagging ``unsupported`` from (expected, flagged) pairs, plus accuracy and counts."""
    tp = sum(1 for e, f in pairs if e == "unsupported" and f)
    fp = sum(1 for e, f in pairs if e == "supported" and f)
    fn = sum(1 for e, f in pairs if e == "unsupported" and not f)
    tn = sum(1 for e, f in pairs if e == "supported" and not f)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(pairs), "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "accuracy": round((tp + tn) / len(pairs), 4) if pairs else 0.0,
            "true_quotes_dropped": fp, "false_quotes_kept": fn}


def _cited_id(row: Mapping[str, Any], data: LabelSet) -> int:
    cited = str(row["cited"])
    return -1 - data.ids[cited.removeprefix("missing:")] if cited.startswith("missing:") else data.ids[cited]


def _judge(checker: Checker, row: Mapping[str, Any], data: LabelSet) -> tuple[bool, bool]:
    """(flagged as unsupported, collateral damage) for one labelled row."""
    post_id = _cited_id(row, data)
    if row["path"] == "citation":
        return not checker.citation(row["quote"], post_id, data.posts), False
    before = row["summary"]
    after = checker.summary(before, [post_id], data.posts)
    flagged = row["quote"] not in after
    outside = [p for p in before.split(row["quote"]) if p]  # the sentence around the quote must survive
    return flagged, not all(_outside_kept(part, after) for part in outside)


def _outside_kept(part: str, after: str) -> bool:
    words = re.findall(r"[A-Za-z]{3,}", part)
    return all(w in after for w in words if w not in {"On"})


def evaluate_checkers(checkers: Sequence[Checker], data: LabelSet, *, show_errors: int = 8) -> dict[str, Any]:
    """Scores per checker: ``all``, per path, per case type (with style for summaries), and a few errors."""
    out: dict[str, Any] = {}
    for checker in checkers:
        by: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        collateral = 0
        errors = []
        for row in data.labels:
            flagged, damaged = _judge(checker, row, data)
            collateral += damaged
            pair = (row["expected"], flagged)
            for key in ("all", row["path"], f"{row['path']}/{row['case']}"):
                by[key].append(pair)
            if row["path"] == "summary":
                by[f"summary/style/{row.get('style', '')}"].append(pair)
            if flagged != (row["expected"] == "unsupported") and len(errors) < show_errors:
                errors.append({"id": row["id"], "case": row["case"], "expected": row["expected"], "quote": row["quote"][:160]})
        out[checker.name] = {
            "description": checker.description,
            "all": score(by["all"]),
            "paths": {p: score(by[p]) for p in ("citation", "summary") if by[p]},
            "cases": {k: {**score(v), "expected": v[0][0], "correct": sum(1 for e, f in v if f == (e == "unsupported"))}
                      for k, v in sorted(by.items()) if k.count("/") == 1},
            "summary_styles": {k.rsplit("/", 1)[1]: score(v) for k, v in sorted(by.items()) if k.startswith("summary/style/")},
            "summary_collateral": collateral,
            "first_errors": errors,
        }
    return out


def run_faithfulness_eval(
    *, labels_path: Path = LABELS, posts_path: Path = POSTS, checkers: Sequence[str] = ("concord", "exact_substring"),
) -> dict[str, Any]:
    """Load the labelled set and score the named checkers on it."""
    unknown = [c for c in checkers if c not in CHECKERS]
    if unknown:
        raise InputError(f"Unknown checker {unknown[0]!r}; choose from {', '.join(CHECKERS)}.")
    data = load_label_set(labels_path, posts_path)
    counts: dict[str, int] = defaultdict(int)
    for row in data.labels:
        counts[row["expected"]] += 1
    return {
        "labels": labels_path.name if labels_path == LABELS else str(labels_path),
        "labels_sha256": data.sha256,
        "posts": len(data.posts),
        "n": len(data.labels),
        "expected": dict(sorted(counts.items())),
        "positive_class": "unsupported",
        "checkers": evaluate_checkers([CHECKERS[c]() for c in checkers], data),
    }
