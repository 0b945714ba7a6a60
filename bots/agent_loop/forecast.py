"""Forecasts the agent commits before voting starts and scores after close, behind one small protocol.

:class:`Forecaster` has the semantics of ``governance.forecasts.commit_forecast`` / ``score_forecasts``:
``commit`` refuses (``GovernanceRefusal``, rule ``forecast_before_vote``) once voting has started or when
the start is unknown, and (rule ``one_forecast_per_proposal``) when the proposal already has a forecast;
``score`` fills in the outcome of every unscored forecast whose proposal passed or failed and returns those;
``committed`` returns the proposal's committed forecast (``p_pass`` at least), or None.

:class:`SignedForecaster` is what the agent runs: ``governance.forecasts`` (the forecast stored, signed by the
attestation key and written to the audit log; the same records ``concord forecast track-record`` and the dashboard
score). :class:`AuditLogForecaster` is the lightweight double the loop's tests drive with a scripted P(pass): the
forecast is a hash-chained ``forecast-commit`` audit entry, scored with a ``forecast-score`` entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import col, select

from governance import audit
from governance.errors import GovernanceRefusal, Rule
from ingest.core.domain import AuditEntry, Dao, Proposal, utcnow
from ingest.core.store import Store

__all__ = ["AuditLogForecaster", "Forecaster", "SignedForecaster"]


class Forecaster(Protocol):
    def commit(self, proposal: Proposal) -> dict[str, Any]: ...

    def score(self, dao: str) -> list[dict[str, Any]]: ...

    def committed(self, proposal: Proposal) -> dict[str, Any] | None: ...


class AuditLogForecaster:
    """Forecasts as audit entries; ``predict`` returns P(pass) for a proposal (the Services predictor)."""

    def __init__(self, store: Store, predict: Callable[[Proposal], float], *, actor: str = "concord-agent",
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store, self.predict, self.actor, self.clock = store, predict, actor, clock

    def _entries(self, action: str, subject: str | None = None) -> list[AuditEntry]:
        with self.store.session() as session:
            query = select(AuditEntry).where(AuditEntry.action == action)
            if subject is not None:
                query = query.where(AuditEntry.subject == subject)
            return list(session.exec(query.order_by(col(AuditEntry.id))).all())

    def commit(self, proposal: Proposal) -> dict[str, Any]:
        now = self.clock()
        if proposal.start is None:
            raise GovernanceRefusal(Rule.FORECAST_BEFORE_VOTE, f"proposal {proposal.id} has no voting start time; ingest its start first")
        if now >= proposal.start:
            raise GovernanceRefusal(Rule.FORECAST_BEFORE_VOTE, f"voting on proposal {proposal.id} started at {proposal.start.isoformat()}")
        subject = f"proposal:{proposal.id}"
        if self._entries("forecast-commit", subject):
            raise GovernanceRefusal(Rule.ONE_FORECAST_PER_PROPOSAL, f"proposal {proposal.id} already has a committed forecast")
        body = {"proposal": proposal.external_id, "p_pass": round(float(self.predict(proposal)), 4),
                "committed_at": now.isoformat(), "voting_starts_at": proposal.start.isoformat()}
        body["forecast_sha256"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        audit.append(self.store, actor=self.actor, action="forecast-commit", subject=subject, payload=body)
        return body

    def committed(self, proposal: Proposal) -> dict[str, Any] | None:
        entries = self._entries("forecast-commit", f"proposal:{proposal.id}")
        return dict(entries[0].payload) if entries else None

    def score(self, dao: str) -> list[dict[str, Any]]:
        scored_subjects = {e.subject for e in self._entries("forecast-score")}
        out: list[dict[str, Any]] = []
        for entry in self._entries("forecast-commit"):
            if entry.subject in scored_subjects:
                continue
            with self.store.session() as session:
                row = session.exec(select(Proposal, Dao.slug).join(Dao, col(Dao.id) == Proposal.dao_id)
                                   .where(Proposal.id == int(entry.subject.split(":")[1]))).first()
            if row is None or row[1] != dao or row[0].outcome not in ("passed", "failed"):
                continue
            proposal = row[0]
            p = float(entry.payload["p_pass"])
            score = {"proposal": proposal.external_id, "p_pass": p, "outcome": proposal.outcome,
                     "brier": round((p - (1.0 if proposal.outcome == "passed" else 0.0)) ** 2, 6),
                     "forecast_sha256": entry.payload.get("forecast_sha256")}
            audit.append(self.store, actor=self.actor, action="forecast-score", subject=entry.subject, payload=score)
            out.append(score)
        return out

    def scored(self, proposal: Proposal) -> dict[str, Any] | None:
        """The stored score of ``proposal``'s forecast, if it was scored."""
        entries = self._entries("forecast-score", f"proposal:{proposal.id}")
        return dict(entries[-1].payload) if entries else None


class SignedForecaster:
    """:class:`Forecaster` over ``governance.forecasts``: signed, stored forecasts, scored into the track record."""

    def __init__(self, store: Store, *, key: str, checkpointer: audit.Checkpointer | None = None,
                 predictor: Callable[[Store, Proposal], Any] | None = None, actor: str = "concord-agent",
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store, self.key, self.checkpointer = store, key, checkpointer
        self.predictor, self.actor, self.clock = predictor, actor, clock

    def commit(self, proposal: Proposal) -> dict[str, Any]:
        from governance.forecasts import commit_forecast

        record = commit_forecast(self.store, proposal, key=self.key, now=self.clock(), predictor=self.predictor,
                                 actor=self.actor, checkpointer=self.checkpointer)
        return {**record.body, "forecast_sha256": record.forecast_sha256, "statement": record.statement}

    def committed(self, proposal: Proposal) -> dict[str, Any] | None:
        from ingest.core.domain import ForecastRecord

        with self.store.session() as session:
            record = session.exec(select(ForecastRecord).where(ForecastRecord.proposal_id == proposal.id)).first()
        return {**record.body, "forecast_sha256": record.forecast_sha256} if record is not None else None

    def score(self, dao: str) -> list[dict[str, Any]]:
        from governance.forecasts import score_forecasts

        return [{"proposal": s.proposal, "p_pass": s.p_pass, "outcome": s.outcome, "brier": round(s.brier, 6)}
                for s in score_forecasts(self.store, dao=dao, actor=self.actor, checkpointer=self.checkpointer)]
