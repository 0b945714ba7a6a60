"""How the agent (re)builds a stale consensus report: the same builder `concord report` uses, through Services."""

from __future__ import annotations

from typing import Any, Protocol

from bots.services import Services

__all__ = ["ReportWriter", "ServicesReportWriter"]


class ReportWriter(Protocol):
    def build(self, proposal_id: int) -> dict[str, Any]: ...


class ServicesReportWriter:
    """Builds, signs, writes and records a report with the configured chat model and the trained stance head."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def build(self, proposal_id: int) -> dict[str, Any]:
        from agent.report import attestation_key, generate_report
        from ingest.core.domain import Proposal

        settings = self.services.settings
        configured = settings.chain.attestation_key
        key, _ = attestation_key(configured=configured.get_secret_value() if configured else None, data_dir=settings.data_dir)
        with self.services.store.session() as session:
            title = session.get(Proposal, proposal_id).title  # type: ignore[union-attr]
        with self.services.chat() as chat:
            generated = generate_report(self.services.report_builder(chat, proposal_title=title), proposal_id, key=key,
                                        reports_dir=settings.reports_dir)
        attestation = generated.report.attestation
        return {"path": str(generated.paths["json"]), "report_sha256": attestation.sha256 if attestation else ""}
