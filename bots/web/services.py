"""The seam between the interfaces and the services of the other packages.

The dashboard and the bot hold no analysis or governance logic: they call these protocols.
``Services.from_settings`` wires whichever services are installed in this checkout; a service
that is missing stays ``None`` and the interfaces say so plainly instead of inventing output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ingest.settings import ConcordSettings
from ingest.store import Store

__all__ = [
    "Answerer",
    "Drafter",
    "GovernanceApi",
    "Predictor",
    "ReportProvider",
    "Searcher",
    "ServiceUnavailable",
    "Services",
]


class ServiceUnavailable(RuntimeError):
    """A service this interface needs is not installed or not configured; the message says which."""


@runtime_checkable
class Answerer(Protocol):
    """Retrieval-augmented answers with citations (agent.qa)."""

    def answer(self, question: str, *, dao: str | None = None) -> dict[str, Any]:
        """``{"answer": str, "citations": [{"post_id", "url", "quote"}...]}``."""
        ...


@runtime_checkable
class Predictor(Protocol):
    """Calibrated outcome predictions (agent.predict)."""

    def predict(self, proposal_id: int) -> dict[str, Any] | None:
        """``{"p_pass", "low", "high", "vote_share", "model_id"}`` or None when it cannot predict."""
        ...


@runtime_checkable
class ReportProvider(Protocol):
    """Consensus reports (agent.report)."""

    def get_report(self, proposal_id: int) -> dict[str, Any] | None:
        """The stored report as JSON data, or None when none was generated yet."""
        ...


@runtime_checkable
class Searcher(Protocol):
    """Semantic search over posts (embeddings): post ids with scores, best first."""

    def search(self, query: str, *, dao: str | None = None, k: int = 20) -> list[tuple[int, float]]: ...


@runtime_checkable
class Drafter(Protocol):
    """Proposal drafts from the discussion (governance drafting)."""

    def draft(self, topic: str, *, dao: str | None = None) -> dict[str, Any]:
        """``{"title": str, "body": str}`` — a draft for humans to review, never submitted."""
        ...


@runtime_checkable
class GovernanceApi(Protocol):
    """Pending Safe actions and their approval by owner signatures (governance.service)."""

    def list_pending(self) -> list[dict[str, Any]]: ...

    def describe(self, action_id: int) -> dict[str, Any]:
        """Decoded calldata in words, Safe tx hash, EIP-712 typed data, who has signed, threshold."""
        ...

    def submit_signature(self, action_id: int, *, signer: str, signature: str) -> dict[str, Any]:
        """Verify an owner's signature (refusing anything else) and record it."""
        ...

    def reject(self, action_id: int, *, signer: str, signature: str) -> dict[str, Any]: ...


@dataclass
class Services:
    """What the interfaces can call. Every field but the store may be None (not available)."""

    store: Store
    settings: ConcordSettings
    answerer: Answerer | None = None
    predictor: Predictor | None = None
    reports: ReportProvider | None = None
    searcher: Searcher | None = None
    drafter: Drafter | None = None
    governance: GovernanceApi | None = None
    missing: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: ConcordSettings, *, store: Store | None = None) -> Services:
        """Wire the services this checkout provides; record why each missing one is missing."""
        from bots.web.adapters import discover

        opened = store or Store.open(settings.effective_database_url)
        services = cls(store=opened, settings=settings)
        discover(services)
        return services

    def require(self, name: str) -> Any:
        """The named service, or ServiceUnavailable saying what is missing and how to get it."""
        service = getattr(self, name)
        if service is None:
            why = self.missing.get(name, "not configured")
            raise ServiceUnavailable(f"The {name} service is not available here ({why}).")
        return service
