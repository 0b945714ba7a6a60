"""The step ledger: each step key runs its side effect at most once per DAO, across kills and restarts.

A step is recorded 'started' (committed) before its side effect, and 'done' after. A restart that finds a
step still 'started' does not repeat the effect blindly: it asks the step's ``reconcile`` (did the message
get posted, does the pending action exist?) and only runs the effect again when that finds nothing. Every
outcome is appended to the audit log as ``agent-step``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from governance import audit
from ingest.core.domain import AgentStep, utcnow
from ingest.core.errors import ConcordError
from ingest.core.store import Store

__all__ = ["Skip", "StepLedger", "StepResult", "die_after_send"]

Effect = Callable[[], dict[str, Any]]
Reconcile = Callable[[], dict[str, Any] | None]


class Skip(Exception):
    """Raised by a step's effect when the step does not apply; ``reason`` is recorded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StepResult:
    key: str
    stage: str
    status: str  # done | skipped | failed | already-done | already-skipped | reconciled
    detail: dict[str, Any]
    seconds: float = 0.0


class StepLedger:
    """Step keys of one DAO in the store. ``die_at`` ('stage:before' / 'stage:after') is a test hook that SIGKILLs."""

    def __init__(self, store: Store, dao: str, *, actor: str = "concord-agent", die_at: str | None = None,
                 observe: Callable[[StepResult], None] | None = None) -> None:
        self.store, self.dao, self.actor, self.die_at = store, dao, actor, die_at
        self.observe = observe

    def get(self, key: str) -> AgentStep | None:
        with self.store.session() as session:
            return session.exec(select(AgentStep).where(AgentStep.dao == self.dao, AgentStep.step_key == key)).first()

    def _die(self, stage: str, when: str) -> None:
        if self.die_at == f"{stage}:{when}":
            os.kill(os.getpid(), signal.SIGKILL)

    def _start(self, key: str, stage: str, proposal_ref: str) -> None:
        with self.store.session() as session:
            row = session.exec(select(AgentStep).where(AgentStep.dao == self.dao, AgentStep.step_key == key)).first()
            if row is None:
                row = AgentStep(dao=self.dao, step_key=key, stage=stage, proposal_ref=proposal_ref)
            row.status, row.attempts, row.started_at = "started", row.attempts + 1, utcnow()
            session.add(row)

    def _finish(self, key: str, stage: str, status: str, detail: dict[str, Any], seconds: float) -> StepResult:
        with self.store.session() as session:
            row = session.exec(select(AgentStep).where(AgentStep.dao == self.dao, AgentStep.step_key == key)).one()
            row.status, row.detail, row.finished_at = status, detail, utcnow()
            session.add(row)
            audit.append_in_session(session, actor=self.actor, action="agent-step", subject=f"{self.dao}:{key}",
                                    payload={"stage": stage, "status": status, "detail": detail})
        result = StepResult(key=key, stage=stage, status=status, detail=detail, seconds=seconds)
        if self.observe is not None:
            self.observe(result)
        return result

    def run(self, stage: str, key: str, effect: Effect, *, proposal_ref: str = "", reconcile: Reconcile | None = None) -> StepResult:
        """Run ``effect`` for ``key`` unless it is done or skipped already; record and audit what happened."""
        row = self.get(key)
        if row is not None and row.status in ("done", "skipped"):
            return StepResult(key=key, stage=stage, status=f"already-{row.status}", detail=row.detail)
        started = time.monotonic()
        if row is not None and row.status in ("started", "failed") and reconcile is not None:  # a timed-out send may have landed
            try:
                found = reconcile()
            except ConcordError as exc:  # cannot tell whether the effect happened: do not repeat it, try again next tick
                return self._unsure(key, stage, exc, time.monotonic() - started)
            if found is not None:
                return self._finish(key, stage, "done", {**found, "reconciled": True}, time.monotonic() - started)
        self._start(key, stage, proposal_ref)
        self._die(stage, "before")
        try:
            detail = effect()
        except Skip as skip:
            return self._finish(key, stage, "skipped", {"reason": skip.reason}, time.monotonic() - started)
        except ConcordError as exc:
            return self._finish(key, stage, "failed", {"error": str(exc), "kind": type(exc).__name__}, time.monotonic() - started)
        self._die(stage, "after")
        return self._finish(key, stage, "done", detail, time.monotonic() - started)

    def _unsure(self, key: str, stage: str, exc: ConcordError, seconds: float) -> StepResult:
        detail = {"error": f"could not check whether this step already ran ({exc}); it stays unfinished", "kind": type(exc).__name__}
        audit.append(self.store, actor=self.actor, action="agent-step", subject=f"{self.dao}:{key}",
                     payload={"stage": stage, "status": "unsure", "detail": detail})
        result = StepResult(key=key, stage=stage, status="failed", detail=detail, seconds=seconds)
        if self.observe is not None:
            self.observe(result)
        return result

    def skip(self, stage: str, key: str, reason: str, *, proposal_ref: str = "") -> StepResult:
        """Record that ``key`` does not apply (once), with the reason."""
        def effect() -> dict[str, Any]:
            raise Skip(reason)

        return self.run(stage, key, effect, proposal_ref=proposal_ref)

    def steps(self, *, limit: int = 200) -> list[AgentStep]:
        from sqlmodel import col

        with self.store.session() as session:
            return list(session.exec(select(AgentStep).where(AgentStep.dao == self.dao)
                                     .order_by(col(AgentStep.id).desc()).limit(limit)).all())


def die_after_send(sender: Any) -> Any:
    """Testing only (``agent.die_at = "execute:sent"``): a sender that SIGKILLs this process once its transaction is
    mined, before governance records the execution: the crash a restart must recover from without resending."""

    class _DieAfterSend:
        def send(self, w3: Any, call: Any) -> Any:
            receipt = sender.send(w3, call)
            os.kill(os.getpid(), signal.SIGKILL)
            return receipt  # not reached

    return _DieAfterSend()
