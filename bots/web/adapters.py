"""Find the services that exist in this checkout and adapt them to the interface protocols.

Each adapter is a few lines of translation; when a service package is absent (or its API is not
the one expected) the field stays None and ``Services.missing`` records why, so pages and bot
replies can say "not available" instead of inventing output.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["discover"]


def _try_import(name: str) -> tuple[Any | None, str | None]:
    try:
        return importlib.import_module(name), None
    except ModuleNotFoundError as exc:
        return None, f"module {exc.name} is not installed in this checkout"
    except Exception as exc:  # noqa: BLE001 - a broken optional service must not stop the dashboard
        return None, f"importing {name} failed: {type(exc).__name__}: {exc}"


def discover(services: Any) -> None:
    """Fill the optional fields of ``services`` (a ``bots.web.services.Services``)."""
    for field, module, builder in (
        ("answerer", "agent.qa", "build_answerer"),
        ("predictor", "agent.predict", "build_predictor"),
        ("reports", "agent.report", "build_report_provider"),
        ("searcher", "embeddings", "build_searcher"),
        ("governance", "governance.service", "build_governance"),
        ("drafter", "governance.service", "build_governance"),
    ):
        mod, why = _try_import(module)
        if mod is None:
            services.missing[field] = why or "unknown"
            continue
        factory = globals().get(f"_adapt_{field}")
        if factory is None:
            services.missing[field] = f"{module} exists but no adapter is wired yet"
            continue
        try:
            setattr(services, field, factory(mod, services))
        except Exception as exc:  # noqa: BLE001 - report why, keep serving what works
            services.missing[field] = f"{module} could not be set up: {type(exc).__name__}: {exc}"


def _adapt_governance(module: Any, services: Any) -> Any:
    """governance.service.GovernanceService already speaks the GovernanceApi protocol."""
    return module.build_governance(services.settings, store=services.store)


class _EmbeddingsSearcher:
    """Semantic search through embeddings' per-DAO FAISS index (dense ranking), merged across DAOs."""

    def __init__(self, module: Any, services: Any) -> None:
        self._module = module
        self._services = services
        self._embedder: Any = None
        self._retrievers: dict[str, Any] = {}

    def _retriever(self, dao: str) -> Any:
        if dao not in self._retrievers:
            settings = self._services.settings
            if self._embedder is None:
                self._embedder = self._module.cached_embedder(settings)
            index = self._module.DaoIndex.for_dao(settings.index_dir, dao).load()
            self._retrievers[dao] = self._module.HybridRetriever(self._services.store, index, self._embedder)
        return self._retrievers[dao]

    def search(self, query: str, *, dao: str | None = None, k: int = 20) -> list[tuple[int, float]]:
        from ingest.errors import NotFoundError

        settings = self._services.settings
        if dao:
            daos = [dao]
        else:
            daos = [d.slug for d in self._services.store.list_daos()
                    if self._module.DaoIndex.for_dao(settings.index_dir, d.slug).exists()]
            if not daos:
                raise NotFoundError(
                    f"No search index in {settings.index_dir}. Build one with `concord ask --dao DAO --reindex \"...\"`."
                )
        hits = [(h.post_id, float(h.score)) for d in daos for h in self._retriever(d).search(query, k=k, mode="dense")]
        return sorted(hits, key=lambda pair: -pair[1])[:k]


def _adapt_searcher(module: Any, services: Any) -> Any:
    if not hasattr(module, "HybridRetriever") or not hasattr(module, "cached_embedder"):
        raise RuntimeError("embeddings has no HybridRetriever/cached_embedder")
    return _EmbeddingsSearcher(module, services)


class _StorePredictor:
    """agent.predict.service.predict_proposal over the store, memoised per proposal version in this instance."""

    def __init__(self, module: Any, services: Any) -> None:
        self._predict = module.predict_proposal
        self._store = services.store
        self._memo: dict[tuple[int, str], dict[str, Any]] = {}

    def predict(self, proposal_id: int) -> dict[str, Any] | None:
        from ingest.domain import Proposal
        from ingest.errors import NotFoundError

        with self._store.session() as session:
            proposal = session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFoundError(f"Unknown proposal {proposal_id}.")
        key = (proposal_id, f"{proposal.content_hash}:{proposal.updated_at}")
        if key not in self._memo:
            self._memo[key] = self._predict(self._store, proposal).as_dict()
        return self._memo[key]


def _adapt_predictor(module: Any, services: Any) -> Any:
    return _StorePredictor(importlib.import_module("agent.predict.service"), services)


class _StoredReports:
    """The newest stored consensus report of a proposal (agent.report), marked stale when its inputs changed."""

    def __init__(self, records: Any, store: Any) -> None:
        self._records = records
        self._store = store

    def get_report(self, proposal_id: int) -> dict[str, Any] | None:
        import json
        from pathlib import Path

        status = self._records.report_status(self._store, proposal_id)
        if status.record is None or not status.record.path:
            return None
        path = Path(status.record.path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            from ingest.errors import StoreError

            raise StoreError(f"The stored report {path} cannot be read ({exc}); regenerate it with `concord report {proposal_id}`.") from exc
        data["stale"] = status.stale
        data["stale_reason"] = status.reason
        return data


def _adapt_reports(module: Any, services: Any) -> Any:
    return _StoredReports(importlib.import_module("agent.report.records"), services.store)


class _GovernanceDrafter:
    """governance.service.GovernanceService.draft: a stored, audited draft, never submitted."""

    def __init__(self, service: Any) -> None:
        self._service = service

    def draft(self, topic: str, *, dao: str | None = None) -> dict[str, Any]:
        from ingest.errors import InputError

        if not dao:
            raise InputError("Which DAO? Pass the dao option (e.g. arbitrum) or set default_dao in concord.toml.")
        return self._service.draft(dao=dao, idea=topic)


def _adapt_drafter(module: Any, services: Any) -> Any:
    return _GovernanceDrafter(services.governance or module.build_governance(services.settings, store=services.store))


class _RetrievalAnswerer:
    """agent.qa.answer_question over the DAO's hybrid index (built on first use, as `concord ask` does)."""

    def __init__(self, qa: Any, services: Any) -> None:
        import embeddings
        from agent.llm import open_chat_backend

        self._qa = qa
        self._embeddings = embeddings
        self._open_chat = open_chat_backend
        self._services = services
        self._embedder: Any = None

    def _dao(self, dao: str | None) -> str:
        from ingest.errors import InputError

        store = self._services.store
        slug = dao or self._services.settings.default_dao
        if slug is None:
            daos = store.list_daos()
            if len(daos) != 1:
                raise InputError(f"Which DAO? Several are stored ({', '.join(d.slug for d in daos)}); pass the dao option.")
            slug = daos[0].slug
        store.get_dao(slug)
        return str(slug)

    def answer(self, question: str, *, dao: str | None = None) -> dict[str, Any]:
        slug = self._dao(dao)
        settings, store = self._services.settings, self._services.store
        if self._embedder is None:
            self._embedder = self._embeddings.cached_embedder(settings)
        index = self._embeddings.DaoIndex.for_dao(settings.index_dir, slug)
        if not index.exists():
            index.update(store, self._embedder)
        retriever = self._embeddings.HybridRetriever(store, index.load(), self._embedder)
        with self._open_chat(settings.llm) as chat:
            result = self._qa.answer_question(question, retriever=retriever, chat=chat).as_dict()
        cited = result.get("citations") or []
        sources = cited or result.get("retrieved") or []
        return {
            "answer": result.get("answer", ""),
            "citations": [{"post_id": s["post_id"], "url": s.get("url"), "quote": s.get("excerpt")} for s in sources],
            "cited_by_model": bool(cited),
            "model": result.get("model"),
        }


def _adapt_answerer(module: Any, services: Any) -> Any:
    return _RetrievalAnswerer(module, services)
