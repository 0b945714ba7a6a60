"""What the agent last did per DAO and what waits on whom (for `concord agent status` and the dashboard)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bots.services import Services
from ingest.core.domain import AgentStep

__all__ = ["agent_status"]


def agent_status(services: Services, *, dao: str | None = None, recent: int = 10) -> dict[str, Any]:
    configured = set(services.settings.agent.daos)
    with services.store.session() as session:
        rows = list(session.exec(select(AgentStep).order_by(col(AgentStep.id).desc())).all())
    names = sorted(configured | {r.dao for r in rows})
    if dao is not None:
        names = [n for n in names if n == dao]
    out = []
    for name in names:
        mine = [r for r in rows if r.dao == name]
        tick = next((r for r in mine if r.step_key == "tick"), None)
        steps = [r for r in mine if r.step_key != "tick"]
        steps.sort(key=lambda r: (r.finished_at or r.started_at), reverse=True)
        out.append({
            "dao": name,
            "configured": name in configured,
            "last_tick": (tick.finished_at.isoformat() if tick and tick.finished_at else None),
            "ticks": tick.attempts if tick else 0,
            "skipped": (tick.detail.get("skipped", {}) if tick else {}),
            "last_ingest": (tick.detail.get("ingested", {}) if tick else {}),
            "waiting": (tick.detail.get("waiting", []) if tick else []),
            "unfinished": [r.step_key for r in steps if r.status in ("started", "failed")],
            "recent_steps": [{"key": r.step_key, "stage": r.stage, "status": r.status, "detail": r.detail,
                              "at": (r.finished_at or r.started_at).isoformat()} for r in steps[:recent]],
        })
    return {"daos": out}
