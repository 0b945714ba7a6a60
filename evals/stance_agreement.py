"""Agreement between the committed stance labels and an independent, blind second pass over a random 100 of them.

Run: ``.venv/bin/python -m evals.stance_agreement [--json]``. The second pass (``evals/data/stance_labels_second_pass.jsonl``)
labelled the posts from their text, thread title and the guidelines alone, without seeing the first labels.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.stance.base import STANCES

__all__ = ["agreement", "cohen_kappa", "load_pairs"]

_DATA = Path(__file__).resolve().parent / "data"


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's kappa: observed agreement corrected for the agreement the two label distributions give by chance."""
    n = len(first)
    if n == 0 or n != len(second):
        raise ValueError(f"Need two equally long, non-empty label lists (got {len(first)} and {len(second)}).")
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    a, b = Counter(first), Counter(second)
    chance = sum(a[label] * b[label] for label in set(a) | set(b)) / (n * n)
    return 1.0 if chance == 1 else (observed - chance) / (1 - chance)


def load_pairs(first: Path = _DATA / "stance_labels.jsonl", second: Path = _DATA / "stance_labels_second_pass.jsonl") -> list[tuple[str, str]]:
    """(first label, second label) for every post of the second pass, matched by id."""
    labels = {row["id"]: row["label"] for row in map(json.loads, first.read_text(encoding="utf-8").splitlines()) if row}
    pairs = []
    for row in map(json.loads, second.read_text(encoding="utf-8").splitlines()):
        if row["id"] not in labels:
            raise KeyError(f"Second-pass id {row['id']!r} is not in {first}")
        pairs.append((labels[row["id"]], row["label"]))
    return pairs


def agreement(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """n, raw agreement, Cohen's kappa and the confusion matrix (first pass in rows, second in columns)."""
    first, second = [p[0] for p in pairs], [p[1] for p in pairs]
    labels = [s.value for s in STANCES]
    counts = Counter(pairs)
    return {
        "n": len(pairs),
        "agreement": round(sum(a == b for a, b in pairs) / len(pairs), 4),
        "cohen_kappa": round(cohen_kappa(first, second), 4),
        "confusion": {a: {b: counts[(a, b)] for b in labels} for a in labels},
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = agreement(load_pairs())
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"n={result['n']} agreement={result['agreement']:.2f} kappa={result['cohen_kappa']:.2f}")
    for label, row in result["confusion"].items():
        print(f"  {label:>9}: " + " ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
