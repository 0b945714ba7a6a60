"""Stored reports and staleness: a report is current only while its inputs hash matches the store and it was built
by the running code (its manifest's ``builder_version``, see :mod:`agent.report.version`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from agent.report.inputs import current_inputs
from agent.report.model import ConsensusReport
from agent.report.version import builder_version
from ingest.core.domain import ReportRecord
from ingest.core.store import Store

__all__ = ["ReportStatus", "record_report", "report_status"]


@dataclass(frozen=True)
class ReportStatus:
    """The newest stored report of a proposal (if any) and whether the store's inputs still match it."""

    record: ReportRecord | None
    current_inputs_hash: str
    current_post_ids: tuple[int, ...]
    current_builder_version: str = ""

    @property
    def built_by(self) -> str | None:
        """The builder version recorded with the stored report (None: built before versions were recorded)."""
        return (self.record.manifest or {}).get("builder_version") if self.record is not None else None

    @property
    def code_changed(self) -> bool:
        return self.record is not None and bool(self.current_builder_version) and self.built_by != self.current_builder_version

    @property
    def stale(self) -> bool:
        return self.record is None or self.record.inputs_hash != self.current_inputs_hash or self.code_changed

    @property
    def reason(self) -> str:
        if self.record is None:
            return "no report has been generated for this proposal"
        if not self.stale:
            return "its inputs are unchanged"
        parts = []
        if self.record.inputs_hash != self.current_inputs_hash:
            new = set(self.current_post_ids) - set(self.record.post_ids)
            gone = set(self.record.post_ids) - set(self.current_post_ids)
            if new:
                parts.append(f"{len(new)} new post(s)")
            if gone:
                parts.append(f"{len(gone)} post(s) removed")
            if not parts:
                parts.append("the proposal or a post was edited")
        if self.code_changed:
            parts.append(f"the report code changed (built by {self.built_by or 'a version before builder versions were recorded'}, "
                         f"now {self.current_builder_version}; regenerate it with `concord report {self.record.proposal_id}`)")
        return "stale: " + ", ".join(parts) + " since it was generated"


def record_report(store: Store, report: ConsensusReport, *, path: str | None) -> ReportRecord:
    """Store the report's identity and inputs (call after signing)."""
    record = ReportRecord(
        proposal_id=report.proposal.id,
        schema_version=report.schema_version,
        inputs_hash=report.inputs_hash,
        report_sha256=report.attestation.sha256 if report.attestation else "",
        signer=report.attestation.signer if report.attestation else None,
        path=path,
        post_ids=[int(p["post_id"]) for p in report.manifest.get("input_posts", [])],
        manifest=report.manifest,
    )
    with store.session() as session:
        session.add(record)
        session.flush()
        session.refresh(record)
    return record


def report_status(store: Store, proposal_id: int) -> ReportStatus:
    """Compare the newest stored report with the proposal's inputs in the store now."""
    current_hash, post_ids = current_inputs(store, proposal_id)
    with store.session() as session:
        record = session.exec(
            select(ReportRecord).where(ReportRecord.proposal_id == proposal_id).order_by(col(ReportRecord.id).desc())
        ).first()
    return ReportStatus(record=record, current_inputs_hash=current_hash, current_post_ids=post_ids,
                        current_builder_version=builder_version())
