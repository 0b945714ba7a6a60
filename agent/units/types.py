"""The six unit types, the stance each implies toward the proposal, and one typed unit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from agent.camps.units import ArgumentUnit

__all__ = ["UNIT_TYPES", "TypedUnit", "UnitType", "UnitTypeResult"]


class UnitType(StrEnum):
    """What a sentence does in the discussion of a proposal."""

    SUPPORT = "support"
    OBJECTION = "objection"
    CONCERN = "concern"
    REQUESTED_CHANGE = "requested_change"
    QUESTION = "question"
    INFORMATION = "information"


UNIT_TYPES: tuple[UnitType, ...] = tuple(UnitType)

# The stance toward the proposal a unit of each type takes: support is for, an objection against; a concern, a
# requested change, a question or information takes no side by itself.
TYPE_STANCE: Mapping[UnitType, str] = {
    UnitType.SUPPORT: "for", UnitType.OBJECTION: "against", UnitType.CONCERN: "neutral",
    UnitType.REQUESTED_CHANGE: "neutral", UnitType.QUESTION: "neutral", UnitType.INFORMATION: "neutral",
}


@dataclass(frozen=True)
class UnitTypeResult:
    """The type, the classifier's probability of it, and every type's probability."""

    type: UnitType
    confidence: float
    probabilities: Mapping[UnitType, float] = field(default_factory=dict)

    @property
    def stance(self) -> str:
        return TYPE_STANCE[self.type]


@dataclass(frozen=True)
class TypedUnit:
    """An argument unit with its type, stance toward the proposal and confidence, and whether it is the
    proposer side speaking or instruction-like text (which is never used as a reason, quote or point)."""

    unit: ArgumentUnit
    type: UnitType
    confidence: float
    stance: str
    proposer: bool = False
    instruction_like: bool = False
    post_number: int | None = None

    @property
    def post_id(self) -> int:
        return self.unit.post_id

    @property
    def author(self) -> str:
        return self.unit.author

    @property
    def text(self) -> str:
        return self.unit.text
