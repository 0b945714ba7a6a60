"""The optional forum reply: posted once in the proposal's topic with the User API key, found again after a crash."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlmodel import select

from bots.agent_loop.forecast import AuditLogForecaster
from bots.agent_loop.notify import DiscourseReplier
from bots.agent_loop.tick import DaoTick
from bots.services import build_services
from ingest.core.domain import AgentStep
from ingest.core.settings import load_settings
from ingest.core.store import Store
from tests.bots.agent_loop.conftest import DAO, ScriptedReportWriter, agent_toml, seed_dao


class FakeDiscourse:
    """Discourse's posts API as far as replies go: POST /posts.json, GET /t/{id}.json; the key is required."""

    def __init__(self) -> None:
        self.posts: dict[int, list[dict]] = {}
        self.created = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("User-Api-Key") != "user-key":
            return httpx.Response(403, json={"errors": ["not logged in"]})
        if request.method == "POST" and request.url.path == "/posts.json":
            body = json.loads(request.content)
            self.created += 1
            post = {"id": 1000 + self.created, "cooked": f"<p>{body['raw']}</p>"}
            self.posts.setdefault(int(body["topic_id"]), []).append(post)
            return httpx.Response(200, json=post)
        if request.method == "GET" and request.url.path.startswith("/t/"):
            topic = int(request.url.path.split("/")[2].removesuffix(".json"))
            return httpx.Response(200, json={"post_stream": {"posts": self.posts.get(topic, [])}})
        return httpx.Response(404)


def test_forum_reply_once_and_reconciled(tmp_path: Path, sqlite_url: str) -> None:
    settings = load_settings(agent_toml(tmp_path / "concord.toml"), data_dir=tmp_path / "data", database_url=sqlite_url)
    store = Store.open(sqlite_url)
    pid = seed_dao(store)  # its discussion_url is https://forum.test/t/fund-grants/77
    forum = FakeDiscourse()
    replier = DiscourseReplier("https://forum.test", "user-key", transport=httpx.MockTransport(forum.handle))
    services = build_services(settings, store=store)

    def tick() -> None:
        DaoTick(services, DAO, settings.agent.daos[DAO], notifier=None, forum=replier,
                forecaster=AuditLogForecaster(store, lambda p: 0.5), reports=ScriptedReportWriter(store, tmp_path / "r")).run()

    tick()
    assert forum.created == 1 and "Fund the grants programme" in forum.posts[77][0]["cooked"]
    with store.session() as session:  # as if killed right after the POST
        row = session.exec(select(AgentStep).where(AgentStep.step_key.startswith(f"forum:{pid}:"))).one()  # type: ignore[attr-defined]
        row.status = "started"
        session.add(row)
    tick()
    tick()
    assert forum.created == 1
    store.close()


def test_a_refused_key_is_a_failed_step_with_the_fix(tmp_path: Path, sqlite_url: str) -> None:
    settings = load_settings(agent_toml(tmp_path / "concord.toml"), data_dir=tmp_path / "data", database_url=sqlite_url)
    store = Store.open(sqlite_url)
    seed_dao(store)
    forum = FakeDiscourse()
    replier = DiscourseReplier("https://forum.test", "wrong-key", transport=httpx.MockTransport(forum.handle))
    report = DaoTick(build_services(settings, store=store), DAO, settings.agent.daos[DAO], notifier=None, forum=replier,
                     forecaster=None, reports=ScriptedReportWriter(store, tmp_path / "r")).run()
    failed = next(s for s in report.acted() if s.stage == "forum")
    assert failed.status == "failed" and "User API key" in failed.detail["error"] and forum.created == 0
    store.close()


def test_when_the_check_itself_fails_the_reply_is_not_repeated(tmp_path: Path, sqlite_url: str) -> None:
    """A step left 'started' whose reconcile cannot reach the forum stays unfinished instead of posting again."""
    settings = load_settings(agent_toml(tmp_path / "concord.toml"), data_dir=tmp_path / "data", database_url=sqlite_url)
    store = Store.open(sqlite_url)
    pid = seed_dao(store)
    forum = FakeDiscourse()
    up = {"ok": True}

    def flaky(request: httpx.Request) -> httpx.Response:
        if not up["ok"]:
            raise httpx.ConnectError("forum down", request=request)
        return forum.handle(request)

    replier = DiscourseReplier("https://forum.test", "user-key", transport=httpx.MockTransport(flaky))
    services = build_services(settings, store=store)

    def tick():  # type: ignore[no-untyped-def]
        return DaoTick(services, DAO, settings.agent.daos[DAO], notifier=None, forum=replier, forecaster=None,
                       reports=ScriptedReportWriter(store, tmp_path / "r")).run()

    tick()
    with store.session() as session:
        row = session.exec(select(AgentStep).where(AgentStep.step_key.startswith(f"forum:{pid}:"))).one()  # type: ignore[attr-defined]
        row.status = "started"
        session.add(row)
    up["ok"] = False
    unsure = next(s for s in tick().acted() if s.stage == "forum")
    assert unsure.status == "failed" and "could not check" in unsure.detail["error"]
    up["ok"] = True
    tick()
    assert forum.created == 1
    store.close()
