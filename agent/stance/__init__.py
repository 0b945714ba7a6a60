"""Stance: labels, the classifier contract, and the fast trained classifier."""

from agent.stance.base import STANCES, Stance, StanceClassifier, StanceResult

__all__ = ["STANCES", "Stance", "StanceClassifier", "StanceResult"]
