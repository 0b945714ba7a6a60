"""Argument units typed by role in the debate: support, objection, concern, requested change, question, information."""

from agent.units.classifier import (
    UnitTypeClassifier,
    default_unit_model_path,
    load_unit_classifier,
    train_unit_classifier,
)
from agent.units.types import UNIT_TYPES, TypedUnit, UnitType, UnitTypeResult

__all__ = [
    "UNIT_TYPES",
    "TypedUnit",
    "UnitType",
    "UnitTypeClassifier",
    "UnitTypeResult",
    "default_unit_model_path",
    "load_unit_classifier",
    "train_unit_classifier",
]
