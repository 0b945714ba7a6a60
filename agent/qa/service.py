"""The Q&A service every face calls (``concord ask``, the bot's /ask, the dashboard, the agent loop)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from agent.llm.backend import ChatBackend
from agent.qa.answer import Answer, answer_question
from agent.qa.scope import resolve_scope
from embeddings.hybrid import RetrievalFilter
from embeddings.retrievers import DaoRetrievers

if TYPE_CHECKING:
    from ingest.core.settings import ConcordSettings
    from ingest.core.store import Store

__all__ = ["QAService", "build_qa"]

ChatOpener = Callable[[], AbstractContextManager[ChatBackend]]


class QAService:
    """Cited answers over the DAO's retriever; the chat model is opened per question by ``open_chat``."""

    def __init__(self, retrievers: DaoRetrievers, *, open_chat: ChatOpener | None) -> None:
        self.retrievers = retrievers
        self.open_chat = open_chat

    def answer(self, question: str, *, dao: str | None = None, proposal: str | None = None, k: int = 5) -> Answer:
        """Answer ``question`` from ``dao``'s posts (only ``proposal``'s discussion when given)."""
        slug = self.retrievers.resolve_dao(dao)
        store = self.retrievers.store
        flt = RetrievalFilter(proposal_id=int(store.get_proposal(proposal, slug).id)) if proposal else None  # type: ignore[arg-type]
        retriever = self.retrievers.retriever(slug)
        scope = resolve_scope(store, slug, question)
        if self.open_chat is None:
            return answer_question(question, retriever=retriever, chat=None, k=k, flt=flt, scope=scope)
        with self.open_chat() as chat:
            return answer_question(question, retriever=retriever, chat=chat, k=k, flt=flt, scope=scope)


def build_qa(settings: ConcordSettings, *, store: Store, retrievers: DaoRetrievers | None = None) -> QAService:
    """The Q&A service with the configured chat backend (embedded llama.cpp by default)."""
    from agent.llm import open_chat_backend
    from embeddings.retrievers import build_retrievers

    return QAService(retrievers or build_retrievers(settings, store=store), open_chat=lambda: open_chat_backend(settings.llm))
