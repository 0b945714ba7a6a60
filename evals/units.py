"""Unit-type classifier, measured held out: 5-fold cross-validation grouped by thread (no thread's sentences are both
trained on and scored), macro-F1 next to the majority-class baseline in the same run; ``retrain`` then fits the
committed head on every labelled unit. Labels: ``evals/data/unit_labels.jsonl`` (AI-assistant labels, see
``evals/data/unit_guidelines.md``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.units import UNIT_TYPES, UnitType, default_unit_model_path
from agent.units.classifier import UnitTypeClassifier

__all__ = ["LABELS", "evaluate_units", "load_unit_labels"]

DATA = Path(__file__).resolve().parent / "data"
LABELS = DATA / "unit_labels.jsonl"


def load_unit_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _macro_f1(truth: list[str], pred: list[str]) -> dict[str, Any]:
    from sklearn.metrics import f1_score

    labels = [t.value for t in UNIT_TYPES]
    per = f1_score(truth, pred, labels=labels, average=None, zero_division=0)
    return {"macro_f1": round(float(f1_score(truth, pred, labels=labels, average="macro", zero_division=0)), 4),
            "accuracy": round(sum(a == b for a, b in zip(truth, pred, strict=True)) / len(truth), 4),
            "per_type_f1": {label: round(float(v), 4) for label, v in zip(labels, per, strict=True)}}


def stance_examples() -> tuple[list[str], list[str]]:
    """Extra training sentences: the stance-labelled posts (``stance_labels.jsonl``) labelled *for* are support,
    *against* are objection (their first 300 characters). Used for training only, never scored."""
    texts, types = [], []
    for line in (DATA / "stance_labels.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["label"] in ("for", "against"):
            texts.append(row["text"][:300])
            types.append("support" if row["label"] == "for" else "objection")
    return texts, types


def agreement() -> dict[str, Any]:
    """First pass vs the blind second pass (``evals/unit_agreement.py``): n, raw agreement, Cohen's kappa, how made."""
    from evals.unit_agreement import PASSES, load_unit_pairs, unit_agreement

    result = unit_agreement(load_unit_pairs())
    return {"n": result["n"], "raw": result["agreement"], "kappa": result["cohen_kappa"], "passes": PASSES,
            "note": "both passes by AI assistants (Claude, separate sessions; the second blind to the first); no human review"}


def evaluate_units(embedder: Any, *, folds: int = 5, retrain: bool = False) -> dict[str, Any]:
    import numpy as np
    from sklearn.model_selection import GroupKFold

    rows = load_unit_labels()
    texts = [r["text"] for r in rows]
    truth = [r["type"] for r in rows]
    groups = [r["thread"] for r in rows]
    vectors = np.asarray(embedder.embed_batch(texts))
    extra_texts, extra_types = stance_examples()
    extra_vectors = np.asarray(embedder.embed_batch(extra_texts))
    pred = [""] * len(rows)
    base = [""] * len(rows)
    for train, test in GroupKFold(n_splits=folds).split(texts, truth, groups):
        clf = UnitTypeClassifier(embedder).fit(
            [texts[i] for i in train] + extra_texts, [UnitType(truth[i]) for i in train] + [UnitType(t) for t in extra_types],
            vectors=np.vstack([vectors[train], extra_vectors]))
        for i, result in zip(test, clf.classify([texts[i] for i in test], vectors=vectors[test]), strict=True):
            pred[i] = result.type.value
        majority = max({truth[i] for i in train}, key=lambda t: sum(1 for i in train if truth[i] == t))
        for i in test:
            base[i] = majority
    community = [i for i, r in enumerate(rows) if r["role"] == "community"]
    result = {
        "labels": LABELS.name, "n": len(rows), "folds": folds, "split": "GroupKFold by thread", "extra_training_posts": len(extra_texts),
        "counts": {t.value: truth.count(t.value) for t in UNIT_TYPES},
        "model": {"all": _macro_f1(truth, pred), "community": _macro_f1([truth[i] for i in community], [pred[i] for i in community])},
        "majority_baseline": {"all": _macro_f1(truth, base), "community": _macro_f1([truth[i] for i in community], [base[i] for i in community])},
        "agreement": agreement(),
        "tuned_on_scored_data": "C=2.0 and lexical_weight=1.0 were set once, not searched; the labels come from the same 15 sample threads the report eval reads",
    }
    if retrain:
        path = default_unit_model_path()
        UnitTypeClassifier(embedder).fit(texts + extra_texts, [UnitType(t) for t in truth + extra_types],
                                         vectors=np.vstack([vectors, extra_vectors])).save(
            path, {"name": "minilm-tfidf-logreg-unit-types", "labels": LABELS.name, "n": len(rows), "extra_stance_posts": len(extra_texts), "C": 2.0, "lexical_weight": 1.0})
        result["model_file"] = str(path.relative_to(Path(__file__).resolve().parents[1]))
    return result


if __name__ == "__main__":
    import sys

    from agent.stance.trained import make_embedder

    print(json.dumps(evaluate_units(make_embedder(), retrain="--retrain" in sys.argv), indent=2))
