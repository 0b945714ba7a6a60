"""How the agent (re)builds a stale consensus report: the same builder `concord report` uses, through Services."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from bots.services import Services

__all__ = ["ReportWriter", "ServicesReportWriter", "UnusedEmbeddedChat"]


class ReportWriter(Protocol):
    def build(self, proposal_id: int) -> dict[str, Any]: ...


class UnusedEmbeddedChat:
    """The embedded default's identity without its server, for a builder that will not ask it anything.

    On the embedded default the report builder words nothing with the model (the template digest; the model
    only names the backend in the report's manifest), so the agent does not start llama.cpp for each report.
    Any request is an error that says so.
    """

    def __init__(self, identity: Mapping[str, Any]) -> None:
        self._identity = dict(identity)
        self.model = str(identity.get("model", ""))

    def complete(self, messages: Sequence[Any], *, max_tokens: int = 256, schema: Mapping[str, Any] | None = None) -> str:
        from agent.llm.backend import LLMError

        raise LLMError("The agent did not start the embedded model (the report builder words nothing with it); "
                       "set llm.base_url to a served model for model wording.")

    def complete_json(self, messages: Sequence[Any], *, schema: Mapping[str, Any], max_tokens: int = 256) -> dict[str, Any]:
        return {"_": self.complete(messages)}  # raises

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)


class ServicesReportWriter:
    """Builds, signs, writes and records a report with the configured chat model and the trained stance head."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @contextmanager
    def _chat(self) -> Iterator[Any]:
        llm = self.services.settings.llm
        if llm.backend == "embedded" and not llm.base_url:
            from agent.llm.embedded import EmbeddedServer

            server = EmbeddedServer.from_settings(llm, port=0)  # not started: only its weights are hashed
            yield UnusedEmbeddedChat({"backend": "embedded", "model": llm.model, "base_url": None,
                                      "weights_sha256": server.weights_sha256(),
                                      **({"adapter_sha256": a} if (a := server.adapter_sha256()) else {}),
                                      "temperature": llm.temperature, "seed": llm.seed})
            return
        with self.services.chat() as chat:
            yield chat

    def build(self, proposal_id: int) -> dict[str, Any]:
        from agent.report import attestation_key, generate_report
        from ingest.core.domain import Proposal

        settings = self.services.settings
        configured = settings.chain.attestation_key
        key, _ = attestation_key(configured=configured.get_secret_value() if configured else None, data_dir=settings.data_dir)
        with self.services.store.session() as session:
            title = session.get(Proposal, proposal_id).title  # type: ignore[union-attr]
        with self._chat() as chat:
            generated = generate_report(self.services.report_builder(chat, proposal_title=title), proposal_id, key=key,
                                        reports_dir=settings.reports_dir)
        attestation = generated.report.attestation
        return {"path": str(generated.paths["json"]), "report_sha256": attestation.sha256 if attestation else ""}
