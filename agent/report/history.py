"""What changed since the previous report of the same proposal (the newest stored one with other inputs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from ingest.core.domain import ReportRecord

if TYPE_CHECKING:
    from agent.report.model import ConsensusReport
    from ingest.core.store import Store

__all__ = ["changes_since"]


def _previous(store: Store, report: ConsensusReport) -> tuple[ReportRecord, dict[str, Any] | None] | None:
    with store.session() as session:
        records = session.exec(
            select(ReportRecord).where(ReportRecord.proposal_id == report.proposal.id).order_by(col(ReportRecord.id).desc())
        ).all()
    for record in records:
        if record.inputs_hash == report.inputs_hash:
            continue
        data = None
        if record.path:
            try:
                data = json.loads(Path(record.path).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                data = None
        return record, data
    return None


def changes_since(store: Store, report: ConsensusReport) -> dict[str, Any]:
    """New and removed posts, people by stance then and now, requested changes whose status moved, questions
    answered since; ``previous`` is ``None`` for the first report (or when only reports with these inputs exist)."""
    found = _previous(store, report)
    if found is None:
        return {"previous": None, "note": "No earlier report of this proposal with different inputs."}
    record, data = found
    now_posts = {int(p["post_id"]) for p in report.manifest.get("input_posts", [])}
    then_posts = set(record.post_ids or [])
    out: dict[str, Any] = {
        "previous": {"report_sha256": record.report_sha256, "generated_at": record.created_at.isoformat() if record.created_at else None,
                     "schema": record.schema_version},
        "new_posts": sorted(now_posts - then_posts), "removed_posts": sorted(then_posts - now_posts),
    }
    if not data or not str(data.get("schema", "")).endswith("/2"):
        out["note"] = "The previous report's file is missing or of an older schema: only post changes are compared."
        return out
    out["people_by_stance"] = {"then": (data.get("stance_mix") or {}).get("people", {}), "now": report.stance_mix.people}

    def key(change: dict[str, Any]) -> str:
        cited = change.get("request") or change.get("answer") or {}
        return str(cited.get("quote", ""))[:80]

    then_changes = {key(c): c.get("status") for c in data.get("requested_changes") or []}
    moved = []
    for change in report.requested_changes:
        k = key(change.model_dump())
        if then_changes.get(k) != change.status:
            moved.append({"change": k, "then": then_changes.get(k, "not raised"), "now": change.status})
    out["requested_changes"] = moved
    open_now = {q.question.quote for q in report.open_questions}
    out["questions_answered_since"] = [q["question"]["quote"] for q in data.get("open_questions") or [] if q["question"]["quote"] not in open_now]
    return out
