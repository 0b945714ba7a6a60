"""Guardrails an advisory vote must pass before it reaches the signers. Each refusal names its rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from governance.errors import GovernanceRefusal
from governance.reports import ReportRef

__all__ = ["VotePolicy"]


@dataclass(frozen=True)
class VotePolicy:
    """Which DAOs and proposal kinds Concord may recommend votes on, and how cautiously.

    An empty ``allowed_daos`` allows none: a DAO must opt in (``CONCORD_POLICY__ALLOWED_DAOS``).
    """

    allowed_daos: tuple[str, ...] = ()
    allowed_kinds: tuple[str, ...] = ("governor",)
    min_confidence: float = 0.7
    expiry_hours: float = 72
    cooldown_hours: float = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, policy: Any) -> VotePolicy:
        """Build from ``ConcordSettings.policy`` ."""
        return cls(
            allowed_daos=tuple(policy.allowed_daos),
            allowed_kinds=tuple(policy.allowed_kinds),
            min_confidence=float(policy.min_confidence),
            expiry_hours=float(policy.expiry_hours),
            cooldown_hours=float(policy.cooldown_hours),
        )

    def check_recommendation(self, ref: ReportRef, *, now: datetime, last_recommended_at: datetime | None) -> None:
        """Raise :class:`GovernanceRefusal` naming the first rule the recommendation breaks."""
        if ref.dao not in self.allowed_daos:
            allowed = ", ".join(self.allowed_daos) or "none"
            raise GovernanceRefusal(
                "allowed_daos", f"DAO {ref.dao!r} is not in the policy's allowed DAOs ({allowed}); add it to policy.allowed_daos."
            )
        if ref.proposal_kind not in self.allowed_kinds:
            raise GovernanceRefusal(
                "allowed_kinds",
                f"proposal kind {ref.proposal_kind!r} is not allowed (allowed: {', '.join(self.allowed_kinds)}).",
            )
        if ref.confidence < self.min_confidence:
            raise GovernanceRefusal(
                "min_confidence",
                f"prediction confidence {ref.confidence:.2f} is below the policy minimum {self.min_confidence:.2f}.",
            )
        if last_recommended_at is not None:
            ready = last_recommended_at + timedelta(hours=self.cooldown_hours)
            if now < ready:
                raise GovernanceRefusal(
                    "cooldown",
                    f"the last recommendation for {ref.dao!r} was at {last_recommended_at:%Y-%m-%d %H:%M} UTC; "
                    f"the {self.cooldown_hours:g} h cool-down ends at {ready:%Y-%m-%d %H:%M} UTC.",
                )

    def expires_at(self, now: datetime) -> datetime:
        """When a recommendation made ``now`` stops accepting signatures."""
        return now + timedelta(hours=self.expiry_hours)
