"""The dashboard's /healthz and /metrics read what the agent and ingestion left in the store."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from bots.agent_loop.forecast import AuditLogForecaster
from bots.agent_loop.runner import AgentRunner
from bots.services import Services
from bots.web.app import create_app
from ingest.core.settings import load_settings
from ingest.core.store import Store
from tests.bots.agent_loop.conftest import DAO, ScriptedReportWriter, agent_toml, seed_dao


def test_dashboard_metrics_and_health(sample_store: Store, tmp_path: Path) -> None:
    settings = load_settings(agent_toml(tmp_path / "concord.toml"), data_dir=tmp_path / "data")
    services = Services(store=sample_store, settings=settings)
    seed_dao(sample_store)
    runner = AgentRunner(services, forecaster=AuditLogForecaster(sample_store, lambda p: 0.4),
                         reports=ScriptedReportWriter(sample_store, tmp_path / "reports"))
    runner.tick(DAO, settings.agent.daos[DAO])
    client = TestClient(create_app(settings, services=services, results_dir=tmp_path / "results"))
    assert client.get("/healthz").json() == {"ok": True, "store": "ok"}
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert f'concord_agent_store_ticks{{dao="{DAO}"}} 1.0' in text
    assert 'concord_source_last_ingest_timestamp_seconds{dao="arbitrum"' in text  # the sample's cursors
    assert "# TYPE concord_pending_actions gauge" in text
    assert f'concord_agent_unfinished_steps{{dao="{DAO}"}}' not in text  # nothing was left half-done
