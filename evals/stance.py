"""Evaluate stance classifiers on held-out labels: macro-F1, per-class precision/recall/F1, confusion matrix,
against the majority-class baseline; separately for vote reasons, posts, and randomly sampled posts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from agent.stance.base import STANCES, Stance, StanceClassifier
from agent.stance.dataset import LabelledText

__all__ = ["classification_report", "evaluate_classifier"]


def classification_report(gold: Sequence[Stance], pred: Sequence[Stance]) -> dict[str, Any]:
    """Macro-F1 over the classes present in ``gold``, per-class P/R/F1/support, accuracy, confusion matrix."""
    classes = [s for s in STANCES if s in set(gold)]
    per: dict[str, dict[str, float]] = {}
    for c in classes:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[c.value] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
    labels = [s.value for s in STANCES]
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for g, p in zip(gold, pred, strict=True):
        confusion[g.value][p.value] += 1
    return {
        "n": len(gold),
        "macro_f1": sum(v["f1"] for v in per.values()) / len(per) if per else None,
        "accuracy": sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold) if gold else None,
        "per_class": per,
        "confusion": confusion,
    }


def evaluate_classifier(classifier: StanceClassifier, train: Sequence[LabelledText], test: Sequence[LabelledText]) -> dict[str, Any]:
    """Scores of ``classifier`` and of the majority-class baseline on ``test`` and on its subsets; the baseline
    predicts the most common label among the *training* texts of the same subset."""
    texts = [x.text for x in test]
    if getattr(classifier, "reads_titles", False):  # chat models see the proposal/thread title, as in training
        results = classifier.classify(texts, proposal_titles=[x.context for x in test])  # type: ignore[call-arg]
    else:
        results = classifier.classify(texts)
    pred = [r.label for r in results]
    subsets = {
        "all": lambda x: True,
        "vote_reasons": lambda x: x.origin == "vote-reason",
        "posts": lambda x: x.origin == "post",
        "posts_random_sample": lambda x: x.origin == "post" and x.selection == "random",
    }
    out: dict[str, Any] = {}
    for name, keep in subsets.items():
        idx = [i for i, x in enumerate(test) if keep(x)]
        if not idx:
            continue
        gold = [test[i].label for i in idx]
        same_kind = [x.label for x in train if keep(x)] or [x.label for x in train]
        majority = Counter(same_kind).most_common(1)[0][0]
        out[name] = {
            "model": classification_report(gold, [pred[i] for i in idx]),
            "majority_baseline": {"label": majority.value, **classification_report(gold, [majority] * len(idx))},
        }
    return out
