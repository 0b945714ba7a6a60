"""SIGKILL a real `concord agent run` between steps and restart it: no message, no forecast twice.

The process kills itself at a named step point (``agent.die_at``, a testing hook), so where it dies is exact.
SIGTERM stops the looping agent after its tick, and /healthz and /metrics answer while it runs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
from sqlmodel import select

from governance import audit
from ingest.core.domain import AgentStep, AuditEntry
from ingest.core.store import Store
from tests.bots.agent_loop.conftest import DAO, ScriptedReportWriter, agent_toml, seed_dao
from tests.discord_loopback import CHANNEL_ID, LoopbackDiscord

ROOT = Path(__file__).resolve().parents[3]


def _env(tmp_path: Path, sqlite_url: str, discord: LoopbackDiscord, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    env.update({"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "CONCORD_CONFIG": str(tmp_path / "concord.toml"), "CONCORD_DATABASE_URL": sqlite_url,
                "CONCORD_DATA_DIR": str(tmp_path / "data"), "CONCORD_DISCORD__TOKEN": "agent-test-token",
                "CONCORD_DISCORD__API_BASE": discord.base, **extra})
    return env


def _agent(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bots.cli.main", "agent", *args], check=False, env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def _prepared(tmp_path: Path, sqlite_url: str) -> int:
    agent_toml(tmp_path / "concord.toml")
    store = Store.open(sqlite_url)
    pid = seed_dao(store)
    ScriptedReportWriter(store, tmp_path / "reports").build(pid)  # a current report: the agent has no chat model to build one
    store.close()
    return pid


def test_sigkill_between_steps_then_restart_repeats_nothing(tmp_path: Path, sqlite_url: str, discord: LoopbackDiscord) -> None:
    pid = _prepared(tmp_path, sqlite_url)
    for die_at in ("forecast:after", "card:after"):
        killed = _agent(_env(tmp_path, sqlite_url, discord, CONCORD_AGENT__DIE_AT=die_at), "run", "--once", "--dao", DAO)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
    finished = _agent(_env(tmp_path, sqlite_url, discord), "run", "--once", "--dao", DAO, "--json")
    assert finished.returncode == 0, finished.stderr
    again = _agent(_env(tmp_path, sqlite_url, discord), "run", "--once", "--dao", DAO, "--json")
    assert json.loads(again.stdout)[0]["steps"] == []

    sent = Counter(r.json["content"].rsplit("-# ", 1)[-1] for r in discord.posted(CHANNEL_ID))
    assert len(sent) == 1 and set(sent.values()) == {1}, sent  # the card, posted exactly once
    store = Store.open(sqlite_url)
    with store.session() as session:
        commits = session.exec(select(AuditEntry).where(AuditEntry.action == "forecast-commit")).all()
        steps = {r.step_key: r for r in session.exec(select(AgentStep)).all()}
    assert len(commits) == 1
    forecast = steps[f"forecast:{pid}"]
    assert forecast.status == "done" and forecast.attempts == 1 and forecast.detail["reconciled"] is True
    assert forecast.detail["p_pass"] == commits[0].payload["p_pass"]
    card = next(r for k, r in steps.items() if k.startswith("card:"))
    assert card.status == "done" and card.detail.get("reconciled") is True
    assert audit.verify(store).ok
    store.close()

    status = _agent(_env(tmp_path, sqlite_url, discord), "status", "--json")
    row = json.loads(status.stdout)["daos"][0]
    assert row["dao"] == DAO and row["ticks"] == 2 and row["unfinished"] == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sigterm_stops_the_loop_after_its_tick_and_metrics_answer(tmp_path: Path, sqlite_url: str, discord: LoopbackDiscord) -> None:
    _prepared(tmp_path, sqlite_url)
    port = _free_port()
    env = _env(tmp_path, sqlite_url, discord, CONCORD_AGENT__METRICS_PORT=str(port), CONCORD_AGENT__INTERVAL_S="3600")
    proc = subprocess.Popen([sys.executable, "-m", "bots.cli.main", "agent", "run", "--json-logs"], env=env, cwd=ROOT,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        events = []
        for line in proc.stderr:  # type: ignore[union-attr]
            events.append(json.loads(line))
            if events[-1]["event"] == "tick":
                break
        assert {e["event"] for e in events} >= {"start", "step", "tick"}
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert f'concord_agent_ticks_total{{dao="{DAO}"}} 1.0' in metrics
        assert 'concord_agent_steps_total{stage="card",status="done"} 1.0' in metrics
        assert "concord_agent_step_duration_seconds_bucket" in metrics and "concord_pending_actions" in metrics
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"ok": True, "store": "ok"}
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()  # type: ignore[union-attr]
        assert proc.wait(timeout=60) == 0
        assert json.loads(rest.strip().splitlines()[-1])["event"] == "stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        proc.stderr.close()  # type: ignore[union-attr]
