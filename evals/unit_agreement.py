"""Agreement between the two unit-type labelling passes over the same 339 argument units.

    python -m evals.unit_agreement            # prints and writes evals/results/unit_agreement.json

How the passes were made (both by AI assistants, no human has reviewed either):

- **First pass** (``unit_labels.jsonl``): an AI assistant (Claude, a helper session on 2026-12-01) read each sentence
  once with its thread and author in view and wrote its type.
- **Second pass, blind** (``unit_labels_blind.jsonl``): a *separate* AI-assistant session (Claude, helper "room",
  2026-12-02) labelled the label-free export ``unit_blind_export.jsonl`` (written by ``python -m
  evals.unit_blind_export``: thread id and title, opening poster, author, post number, the sentence and its
  neighbours in the post) following ``unit_guidelines.md``, and committed its labels before reading the first
  pass's types.

Per type: the count in each pass, positive agreement (2·both / (first + second), the per-type F1 of one pass against
the other) and the one-vs-rest kappa.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.units import UNIT_TYPES
from evals.stance_agreement import cohen_kappa

__all__ = ["PASSES", "load_unit_pairs", "unit_agreement"]

_DATA = Path(__file__).resolve().parent / "data"
FIRST = _DATA / "unit_labels.jsonl"
BLIND = _DATA / "unit_labels_blind.jsonl"
RESULT = Path(__file__).resolve().parent / "results" / "unit_agreement.json"

PASSES = {
    "first": "unit_labels.jsonl: an AI assistant (Claude helper session, 2026-12-01), each sentence read once with its thread and author in view",
    "second": ("unit_labels_blind.jsonl: a separate AI-assistant session (Claude helper 'room', 2026-12-02), blind: labelled the "
               "label-free export unit_blind_export.jsonl (python -m evals.unit_blind_export) by unit_guidelines.md and committed "
               "before reading the first pass's types"),
    "reviewed_by_a_human": False,
}


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_unit_pairs(first: Path = FIRST, second: Path = BLIND) -> list[tuple[str, str]]:
    """(first type, second type) for every unit of the second pass, matched by id."""
    types = {row["id"]: row["type"] for row in _rows(first)}
    pairs = []
    for row in _rows(second):
        if row["id"] not in types:
            raise KeyError(f"Second-pass unit {row['id']!r} is not in {first.name}; re-export with `python -m evals.unit_blind_export`.")
        pairs.append((types[row["id"]], row["type"]))
    return pairs


def unit_agreement(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """n, raw agreement, Cohen's kappa, per-type agreement and the confusion matrix (first pass in rows)."""
    if not pairs:
        raise ValueError("No unit pairs to compare.")
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    labels = [t.value for t in UNIT_TYPES]
    counts = Counter(pairs)
    per_type = {}
    for label in labels:
        in_first, in_second = first.count(label), second.count(label)
        both = counts[(label, label)]
        per_type[label] = {
            "first": in_first, "second": in_second, "both": both,
            "positive_agreement": round(2 * both / (in_first + in_second), 4) if in_first + in_second else None,
            "kappa_one_vs_rest": round(cohen_kappa([a == label for a in first], [b == label for b in second]), 4),
        }
    return {
        "n": len(pairs),
        "agreement": round(sum(a == b for a, b in pairs) / len(pairs), 4),
        "cohen_kappa": round(cohen_kappa(first, second), 4),
        "per_type": per_type,
        "confusion_first_rows_second_columns": {a: {b: counts[(a, b)] for b in labels} for a in labels},
        "passes": PASSES,
    }


def main() -> dict[str, Any]:
    result = unit_agreement(load_unit_pairs())
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
