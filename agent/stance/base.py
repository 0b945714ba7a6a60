"""Stance of a post towards a proposal: the labels, one result type, one classifier contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = ["STANCES", "Stance", "StanceClassifier", "StanceResult"]


class Stance(StrEnum):
    """What a post says about the proposal it discusses."""

    FOR = "for"
    AGAINST = "against"
    NEUTRAL = "neutral"
    OFF_TOPIC = "off-topic"


STANCES: tuple[Stance, ...] = (Stance.FOR, Stance.AGAINST, Stance.NEUTRAL, Stance.OFF_TOPIC)


@dataclass(frozen=True)
class StanceResult:
    """One post's stance: the label, the classifier's confidence in it, and every class's probability.

    ``probabilities`` maps each :class:`Stance` the classifier knows to a probability (they sum to 1).
    ``confidence`` is the probability of ``label``. ``model`` names what produced the result.
    """

    label: Stance
    confidence: float
    probabilities: Mapping[Stance, float] = field(default_factory=dict)
    model: str = ""

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view: ``{"label": "for", "confidence": 0.8, "probabilities": {...}, "model": ...}``."""
        return {
            "label": self.label.value,
            "confidence": round(float(self.confidence), 6),
            "probabilities": {str(k.value): round(float(v), 6) for k, v in self.probabilities.items()},
            "model": self.model,
        }


@runtime_checkable
class StanceClassifier(Protocol):
    """Anything that labels texts with stances: the trained MiniLM head, the LLM, a fine-tuned model."""

    def classify(self, texts: Sequence[str]) -> list[StanceResult]:
        """One :class:`StanceResult` per text, in order."""
        ...
