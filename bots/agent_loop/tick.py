"""One tick of the agent for one DAO: a fixed list of small, idempotent steps over the Services object.

ingest → discover → report → forecast → card (Discord, forum) → recommend → signers → execute → score → outcome.

Each per-proposal step has a step key in the store (:class:`StepLedger`) and an ``agent-step`` audit
entry; a step whose service is not configured is recorded as skipped with the reason. The agent never signs
for an owner: ``execute`` only sends what the governance service accepts once the Safe threshold is met.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from bots.agent_loop.forecast import Forecaster
from bots.agent_loop.notify import Notifier
from bots.agent_loop.reports import ReportWriter
from bots.agent_loop.steps import Skip, StepLedger, StepResult, die_after_send
from bots.services import Services
from governance import audit
from governance.errors import GovernanceRefusal
from governance.views import ActionSummary
from ingest.core.domain import AgentStep, Dao, PendingAction, Proposal, utcnow
from ingest.core.errors import ConcordError
from ingest.core.settings import AgentDaoSettings

__all__ = ["DaoTick", "TickReport"]

STAGES = ("ingest", "discover", "report", "forecast", "card", "forum", "recommend", "signers", "execute", "score", "outcome")


@dataclass
class TickReport:
    """What one tick did for one DAO."""

    dao: str
    steps: list[StepResult] = field(default_factory=list)
    ingested: dict[str, Any] = field(default_factory=dict)
    linked: dict[str, int] = field(default_factory=dict)  # thread links made after ingesting, by method
    waiting: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def acted(self) -> list[StepResult]:
        return [s for s in self.steps if not s.status.startswith("already-")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dao": self.dao,
            "ingested": self.ingested,
            "linked": self.linked,
            "skipped": self.skipped,
            "waiting": self.waiting,
            "steps": [{"key": s.key, "stage": s.stage, "status": s.status, "detail": s.detail} for s in self.acted()],
        }


class DaoTick:
    """The steps of one DAO. Collaborators are injected; None means 'not configured' and the step is skipped."""

    def __init__(self, services: Services, dao: str, config: AgentDaoSettings, *, notifier: Notifier | None,
                 forum: Notifier | None = None, forecaster: Forecaster | None = None, reports: ReportWriter | None = None,
                 safe_service: Any = None, clock: Callable[[], datetime] = utcnow,
                 observe: Callable[[StepResult], None] | None = None) -> None:
        self.services, self.dao, self.config = services, dao, config
        self.notifier, self.forum, self.forecaster, self.reports = notifier, forum, forecaster, reports
        self.safe_service, self.clock = safe_service, clock
        self.ledger = StepLedger(services.store, dao, die_at=services.settings.agent.die_at, observe=observe)

    # --- the tick -------------------------------------------------------------------------------

    def run(self) -> TickReport:
        report = TickReport(dao=self.dao)
        self._ingest(report)
        proposals = self._proposals()
        for proposal in proposals:
            if not self._open(proposal):
                continue  # closed before the agent saw it, or done: only its outcome is left (below)
            self._discover(report, proposal)
            self._report(report, proposal)
            self._forecast(report, proposal)
            self._card(report, proposal)
            self._recommend(report, proposal)
        self._signers_and_execute(report)
        self._score_and_outcomes(report, proposals)
        self._record_tick(report)
        return report

    def _step(self, report: TickReport, result: StepResult) -> None:
        report.steps.append(result)

    # --- ingest and discover --------------------------------------------------------------------

    def _ingest(self, report: TickReport) -> None:
        if not self.config.sources:
            report.skipped["ingest"] = "no sources configured for this DAO ([agent.daos.<dao>] sources)"
            return
        if self.services.ingestion is None:
            report.skipped["ingest"] = f"ingestion unavailable: {self.services.missing.get('ingestion', 'not configured')}"
            return
        from ingest.queue.jobs import IngestJob

        for source in self.config.sources:
            label = f"{source.get('kind')}:{source.get('target', '')}"
            started = time.monotonic()
            try:
                job = IngestJob.from_dict({**source, "dao": source.get("dao", self.dao)})
                summaries = self.services.ingestion.run(job)
                report.ingested[label] = {"ok": True, "at": utcnow().isoformat(), "seconds": round(time.monotonic() - started, 3),
                                          "summaries": [s.as_dict() for s in summaries]}
            except ConcordError as exc:
                report.ingested[label] = {"ok": False, "at": utcnow().isoformat(), "error": str(exc)}
        self._link(report)
        audit.append(self.services.store, actor="concord-agent", action="agent-ingest", subject=self.dao,
                     payload={k: {"ok": v["ok"], **({"error": v["error"]} if not v["ok"] else {})} for k, v in report.ingested.items()})

    def _link(self, report: TickReport) -> None:
        """Link the DAO's proposals to their forum threads (as `concord ingest link` does): a report reads linked posts."""
        from ingest.linking import link_dao

        try:
            made = link_dao(self.services.store, self.dao)
        except ConcordError as exc:  # e.g. nothing of this DAO ingested yet
            report.skipped["link"] = str(exc)
            return
        report.linked = {str(method): n for method, n in made.created.items()}

    def _proposals(self) -> list[Proposal]:
        with self.services.store.session() as session:
            return list(session.exec(select(Proposal).join(Dao, col(Dao.id) == Proposal.dao_id)
                                     .where(Dao.slug == self.dao).order_by(col(Proposal.id))).all())

    def _open(self, proposal: Proposal) -> bool:
        return proposal.outcome is None and (proposal.end is None or proposal.end > self.clock())

    def _discover(self, report: TickReport, proposal: Proposal) -> None:
        key = f"seen:{proposal.id}:{proposal.content_hash[:16]}"
        self._step(report, self.ledger.run("discover", key, lambda: {"proposal": proposal.external_id, "title": proposal.title[:200],
                                                                     "content_hash": proposal.content_hash},
                                           proposal_ref=proposal.external_id))

    # --- reports and forecasts ------------------------------------------------------------------

    def _report(self, report: TickReport, proposal: Proposal) -> None:
        from agent.report import report_status

        status = report_status(self.services.store, int(proposal.id))  # type: ignore[arg-type]
        if not status.stale or not self._open(proposal):
            return
        key = f"report:{proposal.id}:{status.current_inputs_hash[:16]}"
        if self.reports is None:
            self._step(report, self.ledger.skip("report", key, "no report writer configured (chat model or encoder unavailable)",
                                                proposal_ref=proposal.external_id))
            return
        writer = self.reports

        def reconcile() -> dict[str, Any] | None:
            now = report_status(self.services.store, int(proposal.id))  # type: ignore[arg-type]
            return {"report_id": now.record.id} if now.record is not None and not now.stale else None

        self._step(report, self.ledger.run("report", key, lambda: {"reason": status.reason, **writer.build(int(proposal.id))},  # type: ignore[arg-type]
                                           proposal_ref=proposal.external_id, reconcile=reconcile))

    def _forecast(self, report: TickReport, proposal: Proposal) -> None:
        key = f"forecast:{proposal.id}"
        if self.forecaster is None:
            self._step(report, self.ledger.skip("forecast", key, "no forecaster configured (predictor unavailable)",
                                                proposal_ref=proposal.external_id))
            return
        forecaster = self.forecaster

        def effect() -> dict[str, Any]:
            try:
                return dict(forecaster.commit(proposal))
            except GovernanceRefusal as refusal:
                if refusal.rule == "one_forecast_per_proposal":
                    return {**(forecaster.committed(proposal) or {}), "already_committed": True}
                raise Skip(f"{refusal.rule}: {refusal.detail}") from None

        self._step(report, self.ledger.run("forecast", key, effect, proposal_ref=proposal.external_id,
                                           reconcile=lambda: forecaster.committed(proposal)))

    # --- messages -------------------------------------------------------------------------------

    def _current_report(self, proposal: Proposal) -> tuple[int, dict[str, Any]] | None:
        from agent.report import report_status

        status = report_status(self.services.store, int(proposal.id))  # type: ignore[arg-type]
        if status.record is None or status.stale or self.services.reports is None:
            return None
        data = self.services.reports.get_report(int(proposal.id))  # type: ignore[arg-type]
        return (int(status.record.id), data) if data else None  # type: ignore[arg-type]

    def _say(self, report: TickReport, stage: str, key: str, content: str, *, proposal_ref: str,
             notifier: Notifier | None, channel: str | None, why_not: str, mention_role: int | None = None) -> None:
        if notifier is None or channel is None:
            self._step(report, self.ledger.skip(stage, key, why_not, proposal_ref=proposal_ref))
            return
        self._step(report, self.ledger.run(
            stage, key, lambda: notifier.post(channel, content, step_key=key, mention_role=mention_role),
            proposal_ref=proposal_ref, reconcile=lambda: notifier.find(channel, step_key=key)))

    def _card(self, report: TickReport, proposal: Proposal) -> None:
        current = self._current_report(proposal)
        if current is None or not self._open(proposal):
            return
        report_id, data = current
        forecast = self.ledger.get(f"forecast:{proposal.id}")
        content = report_card(self.dao, proposal, data, report_id=report_id,
                              forecast=forecast.detail if forecast is not None and forecast.status == "done" else None,
                              dashboard_url=self.services.settings.discord.dashboard_url)
        channel = str(self.config.discord_channel_id) if self.config.discord_channel_id else None
        # A card per version of the discussion: the report is also rebuilt when the proposal's state or tallies
        # change (the dashboard serves the current one), but only new or edited posts are news for the channel.
        discussion = self._discussion_hash(proposal)
        self._say(report, "card", f"card:{proposal.id}:{discussion}", content, proposal_ref=proposal.external_id,
                  notifier=self.notifier, channel=channel, why_not="no Discord channel or bot token configured for this DAO")
        topic = _topic_id(proposal.discussion_url)
        if self.forum is not None and topic is not None:
            self._say(report, "forum", f"forum:{proposal.id}:{discussion}", content, proposal_ref=proposal.external_id,
                      notifier=self.forum, channel=topic, why_not="")

    def _discussion_hash(self, proposal: Proposal) -> str:
        """16 hex digits over the linked posts' ids and content hashes (not the proposal's state or tallies)."""
        import hashlib

        from agent.report.inputs import load_inputs

        posts = sorted((int(p.id or 0), p.content_hash) for p in load_inputs(self.services.store, int(proposal.id or 0)).posts)
        return hashlib.sha256(repr(posts).encode()).hexdigest()[:16]

    # --- recommendation, signers, execution -----------------------------------------------------

    def _recommend(self, report: TickReport, proposal: Proposal) -> None:
        current = self._current_report(proposal)
        if current is None or not self._open(proposal):
            return
        report_id, _ = current
        if proposal.state == "pending":  # ingested before voting opened: a vote cannot be filed yet, nothing failed
            report.waiting.append({"proposal": proposal.external_id, "on": "voting to open (the proposal is pending)"})
            return
        key = f"recommend:{proposal.id}:{self._discussion_hash(proposal)}"  # a not-yet-active proposal retries this key
        if not self.config.recommend:
            self._step(report, self.ledger.skip("recommend", key, "recommendations are off for this DAO (recommend = false)",
                                                proposal_ref=proposal.external_id))
            return
        governance = self.services.governance
        if governance is None:
            self._step(report, self.ledger.skip("recommend", key, f"governance unavailable: {self.services.missing.get('governance')}",
                                                proposal_ref=proposal.external_id))
            return

        def reconcile() -> dict[str, Any] | None:
            row = self._open_action(proposal)
            return {"action_id": row.id, "safe_tx_hash": row.safe_tx_hash} if row is not None else None

        def effect() -> dict[str, Any]:
            if (open_action := self._open_action(proposal)) is not None:  # an earlier report's action waits or was sent
                raise Skip(f"action {open_action.id} for this proposal is already {open_action.status}")
            try:
                action = governance.recommend_from_report(str(report_id))
            except GovernanceRefusal as refusal:
                if refusal.rule in ("proposal_not_active",):
                    raise  # not yet (or no longer) active: retried next tick, recorded as failed
                raise Skip(f"{refusal.rule}: {refusal.detail}") from None
            return {"action_id": action.id, "safe_tx_hash": action.safe_tx_hash}

        self._step(report, self.ledger.run("recommend", key, effect, proposal_ref=proposal.external_id, reconcile=reconcile))

    def _open_action(self, proposal: Proposal) -> PendingAction | None:
        """The proposal's pending or executed action, if any: the agent files one vote per proposal."""
        with self.services.store.session() as session:
            return session.exec(select(PendingAction).join(Dao, col(Dao.id) == PendingAction.dao_id)
                                .where(Dao.slug == self.dao, PendingAction.proposal_ref == proposal.external_id,
                                       col(PendingAction.status).in_(("pending", "executed")))).first()

    def _signers_and_execute(self, report: TickReport) -> None:
        governance = self.services.governance
        if governance is None:
            report.skipped["execute"] = f"governance unavailable: {self.services.missing.get('governance')}"
            return
        for action in governance.list_pending():
            if action.dao != self.dao:
                continue
            action_id = int(action.id)
            channel = str(self.config.discord_channel_id) if self.config.discord_channel_id else None
            role = self.config.signer_role_id
            mention = f"<@&{role}> " if role else ""
            content = (f"{mention}Pending vote on proposal {action.proposal}: **{action.choice}** "
                       f"(confidence {action.confidence:.2f}). Safe tx `{action.safe_tx_hash}`. "
                       f"Review and sign: {self.services.settings.discord.dashboard_url.rstrip('/')}/actions/{action_id}")
            self._say(report, "signers", f"signers:{action_id}", content, proposal_ref=str(action.proposal),
                      notifier=self.notifier, channel=channel, mention_role=role,
                      why_not="no Discord channel or bot token configured for this DAO")
            if self.safe_service is not None:
                try:
                    governance.sync_from_safe_service(action_id, client=self.safe_service)
                except ConcordError as exc:
                    report.skipped[f"sync:{action_id}"] = str(exc)
            if not self.config.execute:
                report.waiting.append({"action": action_id, "on": "an operator (execute = false for this DAO)"})
                continue
            self._execute(report, action_id, action)

    def _execute(self, report: TickReport, action_id: int, action: ActionSummary) -> None:
        governance = self.services.governance
        assert governance is not None
        key = f"execute:{action_id}"
        described = governance.describe(action_id)
        threshold, signed = described.threshold, len(described.signed_by or [])
        if threshold is None:
            report.waiting.append({"action": action_id, "on": "an operator: no chain configured to read the Safe threshold"})
            return
        if signed < int(threshold):
            report.waiting.append({"action": action_id, "on": f"Safe owners: {signed} of {threshold} signatures"})
            return

        def reconcile() -> dict[str, Any] | None:
            now = governance.recover_execution(action_id) or governance.describe(action_id)  # sent, then killed?
            return {"tx_hash": now.executed_tx_hash} if now.status == "executed" else None

        def effect() -> dict[str, Any]:
            if self.services.settings.agent.die_at == "execute:sent":
                governance.sender = die_after_send(governance.sender)
            try:
                done = governance.execute(action_id)
            except GovernanceRefusal as refusal:
                if refusal.rule == "threshold":
                    raise Skip("threshold") from None
                raise
            return {"tx_hash": done.executed_tx_hash, "report_sha256": action.report_sha256}

        if self.ledger.get(key) is None and reconcile() is not None:
            return  # executed by the dashboard when the last owner signed: nothing for the agent to send
        result = self.ledger.run("execute", key, effect, proposal_ref=str(action.proposal), reconcile=reconcile)
        if result.status == "skipped" and result.detail.get("reason") == "threshold":
            with self.services.store.session() as session:  # waiting is not final: forget the skip
                row = session.exec(select(AgentStep).where(AgentStep.dao == self.dao, AgentStep.step_key == key)).one()
                session.delete(row)
            report.waiting.append({"action": action_id, "on": "Safe owners (threshold not met)"})
            return
        self._step(report, result)

    # --- after close ----------------------------------------------------------------------------

    def _score_and_outcomes(self, report: TickReport, proposals: list[Proposal]) -> None:
        if self.forecaster is None:
            report.skipped["score"] = "no forecaster configured"
        else:
            scored = self.forecaster.score(self.dao)
            if scored:
                report.ingested.setdefault("_scored", []).extend(scored)
        for proposal in proposals:
            if proposal.outcome not in ("passed", "failed"):
                continue
            forecast = self.ledger.get(f"forecast:{proposal.id}")
            if forecast is None or forecast.status != "done" or "p_pass" not in forecast.detail:
                continue
            p = float(forecast.detail["p_pass"])
            brier = (p - (1.0 if proposal.outcome == "passed" else 0.0)) ** 2
            content = (f"**{self.dao}** proposal {proposal.external_id} ({proposal.title[:120]}) {proposal.outcome}. "
                       f"Concord's forecast before voting: P(pass) = {p:.2f}; Brier score {brier:.3f}.")
            channel = str(self.config.discord_channel_id) if self.config.discord_channel_id else None
            self._say(report, "outcome", f"outcome:{proposal.id}", content, proposal_ref=proposal.external_id,
                      notifier=self.notifier, channel=channel, why_not="no Discord channel or bot token configured for this DAO")

    def _record_tick(self, report: TickReport) -> None:
        with self.services.store.session() as session:
            row = session.exec(select(AgentStep).where(AgentStep.dao == self.dao, AgentStep.step_key == "tick")).first()
            if row is None:
                row = AgentStep(dao=self.dao, step_key="tick", stage="tick")
            row.status, row.attempts, row.finished_at = "done", row.attempts + 1, utcnow()
            row.detail = {"acted": len(report.acted()), "waiting": report.waiting, "skipped": report.skipped,
                          "ingested": {k: {"ok": v["ok"], "at": v["at"]} for k, v in report.ingested.items() if isinstance(v, dict)}}
            session.add(row)


def _topic_id(url: str | None) -> str | None:
    match = re.search(r"/t/(?:[^/]+/)?(\d+)", url or "")
    return match.group(1) if match else None


def report_card(dao: str, proposal: Proposal, data: dict[str, Any], *, report_id: int, forecast: dict[str, Any] | None,
                dashboard_url: str) -> str:
    """The Discord text of a report card. Forum text is never quoted here: only counts, the title and links."""
    stance = data.get("stance") or {}
    counts = stance.get("counts") if isinstance(stance, dict) else None
    lines = [f"**{dao}**: consensus report for proposal {proposal.external_id}: {proposal.title[:200]}"]
    if isinstance(counts, dict) and counts:
        lines.append("Stances: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if forecast and "p_pass" in forecast:
        lines.append(f"Forecast (committed before voting): P(pass) = {float(forecast['p_pass']):.2f}")
    sha = ((data.get("attestation") or {}).get("sha256") or "")[:16]
    lines.append(f"Report {report_id}{f' sha256 {sha}…' if sha else ''}: {dashboard_url.rstrip('/')}/reports/{proposal.id}")
    return "\n".join(lines)
