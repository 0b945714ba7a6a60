"""Governance errors. A refusal names the rule that refused, so people can see why.

    ConcordError
    └── InputError
        └── GovernanceRefusal   a policy guardrail or a signature check said no (``rule`` says which)
"""

from __future__ import annotations

from ingest.errors import InputError

__all__ = ["GovernanceRefusal"]


class GovernanceRefusal(InputError):
    """An action, a signature or an execution was refused; ``rule`` names the rule that refused it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"Refused by rule '{rule}': {message}")
        self.rule = rule
        self.detail = message
