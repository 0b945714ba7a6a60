"""Held-out stance evaluation of chat models (base vs tuned) with macro-F1, accuracy and the majority baseline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.finetune.dataset import Example
from agent.finetune.prompts import STANCE_LABELS, stance_prompt_parts

__all__ = ["StanceScores", "evaluate_classifier", "score_labels", "split_prompt"]


@dataclass
class StanceScores:
    name: str
    n: int
    accuracy: float
    macro_f1: float
    per_label_f1: dict[str, float]
    predicted: dict[str, int]
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def score_labels(name: str, gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = STANCE_LABELS) -> StanceScores:
    """Accuracy and macro-F1 over ``labels`` (a label absent from gold and predictions counts as F1 0 only if gold has it)."""
    present = [lab for lab in labels if lab in gold]
    f1s: dict[str, float] = {}
    for lab in present:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == lab and p != lab)
        f1s[lab] = round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0
    confusion = {g: dict(Counter(p for gg, p in zip(gold, predicted, strict=True) if gg == g)) for g in present}
    accuracy = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / max(1, len(gold))
    return StanceScores(
        name=name,
        n=len(gold),
        accuracy=round(accuracy, 4),
        macro_f1=round(sum(f1s.values()) / max(1, len(f1s)), 4),
        per_label_f1=f1s,
        predicted=dict(Counter(predicted)),
        confusion=confusion,
    )


def split_prompt(example: Example) -> tuple[str, str]:
    """(member text, proposal title) recovered from a stance example's user message."""
    return stance_prompt_parts(example.messages)


def evaluate_classifier(name: str, classify: Callable[[list[str], list[str]], list[str]], test: list[Example]) -> StanceScores:
    """Score ``classify(texts, titles) -> labels`` on the held-out stance examples."""
    rows = [e for e in test if e.task == "stance"]
    texts, titles = zip(*(split_prompt(e) for e in rows), strict=True) if rows else ((), ())
    predicted = classify(list(texts), list(titles))
    return score_labels(name, [e.answer for e in rows], predicted)
