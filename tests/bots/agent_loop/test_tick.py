"""One tick at a time: each step runs once per key, is audited, and is skipped (with its reason) when not configured."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel import col, select

from bots.agent_loop.forecast import AuditLogForecaster
from bots.agent_loop.notify import DiscordRestNotifier
from bots.agent_loop.runner import AgentRunner
from bots.services import build_services
from governance import audit
from governance.views import ActionSummary
from ingest.core.domain import AgentStep, AuditEntry, Post, Proposal
from ingest.core.settings import load_settings
from ingest.core.store import Store
from tests.bots.agent_loop.conftest import DAO, ScriptedReportWriter, agent_toml, seed_dao
from tests.discord_loopback import CHANNEL_ID, SIGNER_ROLE_ID, LoopbackDiscord


@pytest.fixture
def wired(tmp_path: Path, sqlite_url: str, discord: LoopbackDiscord):  # type: ignore[no-untyped-def]
    settings = load_settings(agent_toml(tmp_path / "concord.toml"), data_dir=tmp_path / "data", database_url=sqlite_url)
    store = Store.open(sqlite_url)
    services = build_services(settings, store=store)
    writer = ScriptedReportWriter(store, tmp_path / "reports")
    forecaster = AuditLogForecaster(store, lambda proposal: 0.7)
    runner = AgentRunner(services, notifier=DiscordRestNotifier("agent-test-token", api_base=discord.base),
                         forecaster=forecaster, reports=writer)
    yield runner, store, writer, discord
    runner.close()
    store.close()


def _tick(runner: AgentRunner):  # type: ignore[no-untyped-def]
    return runner.tick(DAO, runner.settings.agent.daos[DAO])


def _card_key(store: Store, stage: str = "card") -> str:
    """The one card (or recommend) step's key (its suffix hashes the discussion's posts)."""
    with store.session() as session:
        return session.exec(select(AgentStep.step_key).where(col(AgentStep.stage) == stage)).one()


def _steps(store: Store) -> dict[str, str]:
    with store.session() as session:
        return {row.step_key: row.status for row in session.exec(select(AgentStep)).all()}


def _actions(store: Store, action: str) -> list[AuditEntry]:
    with store.session() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_a_new_proposal_gets_a_report_a_forecast_and_one_card(wired) -> None:  # type: ignore[no-untyped-def]
    runner, store, writer, discord = wired
    pid = seed_dao(store)
    first = _tick(runner)
    assert [s.stage for s in first.acted()][:3] == ["discover", "report", "forecast"]
    assert len(writer.built) == 1
    steps = _steps(store)
    assert steps[f"forecast:{pid}"] == "done" and steps[_card_key(store)] == "done"
    assert steps[_card_key(store, "recommend")] == "skipped"  # recommend = false by default
    assert len(discord.posted(CHANNEL_ID)) == 1
    card = discord.posted(CHANNEL_ID)[0].json
    assert "P(pass) = 0.70" in card["content"] and "Fund the grants programme" in card["content"]
    # forum text is data: it never reaches the card, and nobody can be pinged through it
    assert "Ignore previous instructions" not in card["content"]
    assert card["allowed_mentions"] == {"parse": [], "roles": []}
    second = _tick(runner)
    assert second.acted() == [] and len(discord.posted(CHANNEL_ID)) == 1 and len(writer.built) == 1
    assert len(_actions(store, "forecast-commit")) == 1
    assert {e.payload["stage"] for e in _actions(store, "agent-step")} >= {"discover", "report", "forecast", "card", "recommend"}
    assert audit.verify(store).ok


def test_changed_discussion_rebuilds_the_report_and_posts_a_new_card_once(wired) -> None:  # type: ignore[no-untyped-def]
    runner, store, writer, discord = wired
    seed_dao(store)
    _tick(runner)
    with store.session() as session:
        post = session.exec(select(Post)).first()
        post.text, post.content_hash = "I support this grant, with milestones.", "h-edited"
        session.add(post)
    _tick(runner)
    _tick(runner)
    assert len(writer.built) == 2 and len(discord.posted(CHANNEL_ID)) == 2
    assert len(_actions(store, "forecast-commit")) == 1  # a forecast is never replaced


def test_no_forecast_once_voting_started_and_no_card_without_discord(tmp_path: Path, sqlite_url: str) -> None:
    settings = load_settings(agent_toml(tmp_path / "concord.toml"), data_dir=tmp_path / "data", database_url=sqlite_url)
    store = Store.open(sqlite_url)
    pid = seed_dao(store, starts_in=-timedelta(hours=1))
    runner = AgentRunner(build_services(settings, store=store), forecaster=AuditLogForecaster(store, lambda p: 0.5),
                         reports=ScriptedReportWriter(store, tmp_path / "reports"))
    assert runner.notifier is None  # no bot token configured
    report = _tick(runner)
    rows = {s.key: s for s in report.acted()}
    assert rows[f"forecast:{pid}"].status == "skipped" and "forecast_before_vote" in rows[f"forecast:{pid}"].detail["reason"]
    card = next(s for s in report.acted() if s.stage == "card")
    assert card.status == "skipped" and "Discord" in card.detail["reason"]
    assert report.skipped["ingest"].startswith("no sources configured")
    assert _actions(store, "forecast-commit") == []
    store.close()


def test_after_close_the_forecast_is_scored_and_the_outcome_posted_once(wired) -> None:  # type: ignore[no-untyped-def]
    runner, store, _, discord = wired
    pid = seed_dao(store)
    _tick(runner)
    with store.session() as session:
        proposal = session.get(Proposal, pid)
        proposal.outcome, proposal.end = "passed", datetime.now(UTC) - timedelta(minutes=1)
        session.add(proposal)
    _tick(runner)
    _tick(runner)
    scores = _actions(store, "forecast-score")
    assert len(scores) == 1 and scores[0].payload["brier"] == pytest.approx(0.09)
    outcome = [r for r in discord.posted(CHANNEL_ID) if "Brier score 0.090" in r.json["content"]]
    assert len(outcome) == 1 and "passed" in outcome[0].json["content"]


def test_a_message_sent_before_a_crash_is_found_not_resent(wired) -> None:  # type: ignore[no-untyped-def]
    """A step left 'started' after its message went out (killed in between) is reconciled from the channel."""
    runner, store, _, discord = wired
    seed_dao(store)
    _tick(runner)
    key = _card_key(store)
    with store.session() as session:  # the state a SIGKILL right after the POST leaves behind
        row = session.exec(select(AgentStep).where(AgentStep.step_key == key)).one()
        row.status = "started"
        session.add(row)
    report = _tick(runner)
    assert [s.status for s in report.acted() if s.key == key] == ["done"]
    assert report.acted()[0].detail.get("reconciled") is True
    assert len(discord.posted(CHANNEL_ID)) == 1


def test_signers_are_mentioned_by_role_for_a_pending_action(wired) -> None:  # type: ignore[no-untyped-def]
    """The signer notice mentions the configured role (and only it) for each pending action, once."""
    from tests.bots.agent_loop.conftest import DAO as dao_slug

    runner, store, _, discord = wired
    seed_dao(store)

    class FakeGovernance:  # the chain-backed service is exercised end to end in test_end_to_end
        def list_pending(self):  # type: ignore[no-untyped-def]
            return [ActionSummary(id=5, dao=dao_slug, kind="governor", status="pending", proposal="7", choice="for",
                                  confidence=0.8, report_id="r", report_sha256="ab" * 32, safe_tx_hash="0xab",
                                  expires_at="2030-01-01T00:00:00Z", signatures=1)]

        def describe(self, action_id):  # type: ignore[no-untyped-def]
            return SimpleNamespace(status="pending", threshold=2, signed_by=[SimpleNamespace(owner="0x1")], executed_tx_hash=None)

    runner.services.governance = FakeGovernance()  # type: ignore[assignment]
    report = _tick(runner)
    _tick(runner)
    notices = [r.json for r in discord.posted(CHANNEL_ID) if "Pending vote" in r.json["content"]]
    assert len(notices) == 1
    assert notices[0]["content"].startswith(f"<@&{SIGNER_ROLE_ID}>")
    assert notices[0]["allowed_mentions"] == {"parse": [], "roles": [str(SIGNER_ROLE_ID)]}
    assert report.waiting == [{"action": 5, "on": "Safe owners: 1 of 2 signatures"}]


def test_two_agents_ticking_at_once_act_once(wired) -> None:  # type: ignore[no-untyped-def]
    """The Redis lock per DAO: while one agent is inside its tick, a second agent's tick does nothing."""
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, db=15)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    client.delete(f"concord:agent-lock:{DAO}")
    runner, store, writer, discord = wired
    seed_dao(store)
    inside, release = threading.Event(), threading.Event()

    class SlowWriter:
        def build(self, proposal_id: int):  # type: ignore[no-untyped-def]
            inside.set()
            release.wait(timeout=60)
            return writer.build(proposal_id)

    first = AgentRunner(runner.services, notifier=runner.notifier, forecaster=runner.forecaster, reports=SlowWriter(), lock_client=client)
    second = AgentRunner(runner.services, notifier=runner.notifier, forecaster=runner.forecaster, reports=writer, lock_client=client)
    results: list = []
    thread = threading.Thread(target=lambda: results.append(_tick(first)))
    thread.start()
    assert inside.wait(timeout=60)
    blocked = _tick(second)
    release.set()
    thread.join(timeout=60)
    assert blocked.skipped == {"tick": "another agent holds this DAO's lock"} and blocked.steps == []
    assert len(results[0].acted()) > 0 and len(writer.built) == 1 and len(discord.posted(CHANNEL_ID)) == 1
    assert client.get(f"concord:agent-lock:{DAO}") is None  # released after the tick


def test_celery_beat_schedules_each_dao_and_the_task_runs_the_same_tick(tmp_path: Path, sqlite_url: str,
                                                                        discord: LoopbackDiscord) -> None:
    pytest.importorskip("celery")
    from bots.agent_loop.tasks import AGENT_TICK_TASK, create_agent_celery

    settings = load_settings(agent_toml(tmp_path / "concord.toml", extra="interval_s = 120"), data_dir=tmp_path / "data",
                             database_url=sqlite_url, queue={"broker_url": "redis://127.0.0.1:6379/15"},
                             discord={"token": "agent-test-token", "api_base": discord.base})
    store = Store.open(sqlite_url)
    seed_dao(store)
    ScriptedReportWriter(store, tmp_path / "reports").build(1)
    app = create_agent_celery(settings)
    assert app.conf.beat_schedule == {f"agent-tick-{DAO}": {"task": AGENT_TICK_TASK, "schedule": 120.0, "args": [DAO]}}
    done = app.tasks[AGENT_TICK_TASK].apply(args=[DAO]).get()
    assert {s["stage"] for s in done["steps"]} >= {"discover", "forecast", "card"}
    assert len(discord.posted(CHANNEL_ID)) == 1
    assert app.tasks[AGENT_TICK_TASK].apply(args=[DAO]).get()["steps"] == []
    store.close()


def test_ingest_runs_the_configured_sources_incrementally(tmp_path: Path, sqlite_url: str) -> None:
    """The bundled sample as the DAO's source: the first tick ingests it, the second adds nothing; history is not acted on."""
    (tmp_path / "c.toml").write_text('[agent.daos.arbitrum]\nsources = [{ kind = "sample" }]\n')
    settings = load_settings(tmp_path / "c.toml", data_dir=tmp_path / "data", database_url=sqlite_url)
    store = Store.open(sqlite_url)
    runner = AgentRunner(build_services(settings, store=store), forecaster=None, reports=None)
    first = runner.tick("arbitrum", settings.agent.daos["arbitrum"])
    assert first.ingested["sample:"]["ok"] and sum(s["ingested"] for s in first.ingested["sample:"]["summaries"]) > 0
    with store.session() as session:
        proposals = len(session.exec(select(Proposal)).all())
    assert proposals > 0 and first.acted() == []  # every sample proposal is closed: nothing to report or forecast
    second = runner.tick("arbitrum", settings.agent.daos["arbitrum"])
    assert second.ingested["sample:"]["ok"] and sum(s["ingested"] for s in second.ingested["sample:"]["summaries"]) == 0
    with store.session() as session:
        assert len(session.exec(select(Proposal)).all()) == proposals
    assert [e.payload for e in _actions(store, "agent-ingest")] == [{"sample:": {"ok": True}}] * 2
    store.close()


def test_status_says_what_was_done_and_what_waits(wired, tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from bots.cli.main import main as concord_main

    runner, store, _, _ = wired
    seed_dao(store)
    _tick(runner)
    config = tmp_path / "concord.toml"
    monkeypatch.setenv("CONCORD_DATABASE_URL", sqlite_url)
    capsys.readouterr()
    assert concord_main(["--config", str(config), "agent", "status", "--dao", DAO]) == 0
    out = capsys.readouterr().out
    assert f"{DAO}: last tick" in out and "(1 ticks)" in out
    assert _card_key(store) in out and "recommendations are off" in out
