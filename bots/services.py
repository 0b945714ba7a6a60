"""The composition root: one typed :class:`Services` object that every face of Concord takes.

The CLI, the Discord bot, the dashboard (and the agent loop) parse input, call a field of this object and
render the result; none of them builds an embedder, an index, a retriever, a predictor or a governance
service itself. :func:`build_services` wires each field once from settings and the store through the
``build_*`` function that lives beside what it builds. It sits in ``bots`` because governance is the top
service layer and nothing below may import it.

=============  =================================================  ==========================================
field          service                                            built by
=============  =================================================  ==========================================
``answerer``   cited answers to questions                         :func:`agent.qa.build_qa`
``searcher``   per-DAO hybrid retrieval and semantic search       :func:`embeddings.retrievers.build_retrievers`
``predictor``  calibrated outcome predictions                     :func:`agent.predict.predictor.build_predictor`
``reports``    stored consensus reports (stale-aware)             :func:`agent.report.stored.build_report_provider`
``governance`` Safe actions, approvals, drafting, recommendations :func:`governance.service.build_governance`
``drafter``    proposal drafts, written by ``[draft] writer``     :class:`governance.draft_writers.DraftingService`
``ingestion``  ingestion jobs, in-process or queued               :func:`ingest.queue.runner.build_ingestion`
=============  =================================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from agent.llm import ChatBackend, open_chat_backend
from agent.predict.predictor import StorePredictor, build_predictor
from agent.qa import QAService, build_qa
from agent.report.stored import StoredReports, build_report_provider
from embeddings.retrievers import DaoRetrievers, build_retrievers
from governance.draft_writers import DraftingService
from governance.service import GovernanceService, build_governance
from governance.views import DraftView
from ingest.core.errors import ConcordError
from ingest.core.settings import ConcordSettings
from ingest.core.store import Store
from ingest.queue.runner import Ingestion, build_ingestion

__all__ = ["Drafter", "ServiceUnavailable", "Services", "build_services", "wire"]

T = TypeVar("T")


class ServiceUnavailable(ConcordError, RuntimeError):
    """A service this face needs is not configured or could not be set up here; the message says which and why."""


class Drafter(Protocol):
    """Proposal drafts from the discussion, stored for review and never submitted (the governance service's drafts,
    written by the chat model, the tuned drafter or composition as ``[draft] writer`` says)."""

    def draft(self, *, dao: str, idea: str) -> DraftView: ...


@dataclass
class Services:
    """What the faces call. A field is None when its service could not be set up; ``missing`` says why."""

    store: Store
    settings: ConcordSettings
    answerer: QAService | None = None
    searcher: DaoRetrievers | None = None
    predictor: StorePredictor | None = None
    reports: StoredReports | None = None
    governance: GovernanceService | None = None
    drafter: Drafter | None = None
    ingestion: Ingestion | None = None
    missing: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: ConcordSettings, *, store: Store | None = None) -> Services:
        """Same as :func:`build_services`."""
        return build_services(settings, store=store)

    def require(self, name: str) -> Any:
        """The named service, or ServiceUnavailable saying why it is missing."""
        service = getattr(self, name)
        if service is None:
            why = self.missing.get(name, "not configured")
            raise ServiceUnavailable(f"The {name} service is not available here ({why}).")
        return service

    @contextmanager
    def chat(self) -> Iterator[ChatBackend]:
        """The configured chat model for one piece of work (the embedded server runs for the ``with`` block)."""
        with open_chat_backend(self.settings.llm) as backend:
            yield backend

    def report_builder(self, chat: ChatBackend, *, llm_stance: bool = False, proposal_title: str = "") -> Any:
        """A consensus-report builder over this store: the trained stance classifier (or the chat model's labels),
        the shared encoder and the predictor service."""
        from agent.report import ReportBuilder
        from agent.report.prediction import report_predictor

        embedder = self.require("searcher").embedder
        if llm_stance:
            from agent.stance_llm import LLMStanceClassifier

            stance: Any = LLMStanceClassifier(chat, proposal_title=proposal_title)
        else:
            from agent.stance.trained import load_trained_stance

            stance = load_trained_stance(embedder=embedder)  # the committed MiniLM + logistic-regression head
        return ReportBuilder(self.store, embedder=embedder, chat=chat, stance=stance,
                             predictor=report_predictor(self.require("predictor")))


def _built(services: Services, name: str, build: Callable[[], T]) -> T | None:
    try:
        return build()
    except ConcordError as exc:  # misconfiguration: the face says this service is unavailable, and why
        services.missing[name] = str(exc)
        return None


def build_services(settings: ConcordSettings, *, store: Store | None = None) -> Services:
    """Every service, wired once from ``settings`` over ``store`` (opened from the settings when not given).

    Building is cheap: encoders, indexes, chat servers and chain connections start on first use.
    """
    return wire(Services(store=store or Store.open(settings.effective_database_url), settings=settings))


def wire(services: Services) -> Services:
    """Fill every service field of ``services`` from its settings and store; return it."""
    settings, opened = services.settings, services.store
    services.missing.clear()
    services.searcher = _built(services, "searcher", lambda: build_retrievers(settings, store=opened))
    retrievers = services.searcher
    if retrievers is not None:
        services.answerer = _built(services, "answerer", lambda: build_qa(settings, store=opened, retrievers=retrievers))
    else:
        services.answerer, services.missing["answerer"] = None, services.missing["searcher"]
    # the predictor reads proposal text through the search service's encoder, so one encoder loads per process
    encoder = (lambda: retrievers.embedder) if retrievers is not None else None
    services.predictor = _built(services, "predictor", lambda: build_predictor(settings, store=opened, encoder=encoder))
    services.reports = _built(services, "reports", lambda: build_report_provider(settings, store=opened))
    services.governance = _built(services, "governance", lambda: build_governance(settings, store=opened, post_retriever=retrievers))
    if services.governance is not None:
        services.drafter = DraftingService(services.governance, settings=settings)
    else:
        services.drafter, services.missing["drafter"] = None, services.missing["governance"]
    services.ingestion = _built(services, "ingestion", lambda: build_ingestion(settings, store=opened))
    return services
