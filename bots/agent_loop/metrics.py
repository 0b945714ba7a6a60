"""Prometheus metrics and health for the agent (and the dashboard): ticks, step durations, failures,
pending actions, last ingest per source. One registry per process object, never the global one."""

from __future__ import annotations

import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from ingest.core.store import Store

__all__ = ["CONTENT_TYPE", "AgentMetrics", "StoreCollector", "health", "serve_metrics", "store_registry"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StoreCollector:
    """What the store says, read at scrape time (so the dashboard and any agent replica agree):
    ``concord_pending_actions{dao}``, ``concord_agent_store_ticks{dao}``, ``concord_agent_unfinished_steps{dao}``,
    ``concord_source_last_ingest_timestamp_seconds{dao,source}``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Any:
        from sqlalchemy import func
        from sqlmodel import col, select

        from ingest.core.domain import AgentStep, Dao, IngestCursor, PendingAction, Source

        pending = GaugeMetricFamily("concord_pending_actions", "Pending actions waiting for Safe owners", labels=["dao"])
        ticks = GaugeMetricFamily("concord_agent_store_ticks", "Ticks the agent recorded per DAO", labels=["dao"])
        unfinished = GaugeMetricFamily("concord_agent_unfinished_steps", "Steps started or failed, to be retried", labels=["dao"])
        ingest = GaugeMetricFamily("concord_source_last_ingest_timestamp_seconds", "Last cursor update per source",
                                   labels=["dao", "source"])
        with self.store.session() as session:
            for slug, count in session.exec(select(Dao.slug, func.count()).join(PendingAction, col(PendingAction.dao_id) == Dao.id)
                                            .where(PendingAction.status == "pending").group_by(Dao.slug)).all():
                pending.add_metric([slug], float(count))
            for row in session.exec(select(AgentStep).where(AgentStep.step_key == "tick")).all():
                ticks.add_metric([row.dao], float(row.attempts))
            for dao, count in session.exec(select(AgentStep.dao, func.count()).where(col(AgentStep.status).in_(["started", "failed"]))
                                           .group_by(AgentStep.dao)).all():
                unfinished.add_metric([dao], float(count))
            for slug, kind, locator, last in session.exec(
                select(Dao.slug, Source.kind, Source.locator, func.max(IngestCursor.updated_at))
                .join(Source, col(Source.dao_id) == Dao.id).join(IngestCursor, col(IngestCursor.source_id) == Source.id)
                .group_by(Dao.slug, Source.kind, Source.locator)
            ).all():
                if last is not None:
                    ingest.add_metric([slug, f"{kind}:{locator}"], last.timestamp())
        yield from (pending, ticks, unfinished, ingest)


def store_registry(store: Store) -> CollectorRegistry:
    """A registry with only the store's metrics (the dashboard's /metrics)."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(store))  # type: ignore[arg-type]
    return registry


class AgentMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.ticks = Counter("concord_agent_ticks", "Agent ticks run", ["dao"], registry=self.registry)
        self.tick_failures = Counter("concord_agent_tick_failures", "Agent ticks that raised", ["dao"], registry=self.registry)
        self.steps = Counter("concord_agent_steps", "Agent steps by outcome", ["stage", "status"], registry=self.registry)
        self.step_failures = Counter("concord_agent_step_failures", "Agent steps that failed", ["stage"], registry=self.registry)
        self.step_seconds = Histogram("concord_agent_step_duration_seconds", "Agent step duration", ["stage"], registry=self.registry)
        self.last_ingest = Gauge("concord_last_ingest_timestamp_seconds", "Last successful ingest per source", ["dao", "source"],
                                 registry=self.registry)
        self.last_tick = Gauge("concord_agent_last_tick_timestamp_seconds", "When the last tick finished", ["dao"], registry=self.registry)
        self._store: StoreCollector | None = None

    def watch_store(self, store: Store) -> None:
        if self._store is None:
            self._store = StoreCollector(store)
            self.registry.register(self._store)  # type: ignore[arg-type]

    def step(self, result: Any) -> None:
        if result.status.startswith("already-"):
            return
        self.steps.labels(result.stage, result.status).inc()
        self.step_seconds.labels(result.stage).observe(result.seconds)
        if result.status == "failed":
            self.step_failures.labels(result.stage).inc()

    def tick(self, report: Any) -> None:
        import time

        self.ticks.labels(report.dao).inc()
        self.last_tick.labels(report.dao).set(time.time())
        for source, info in report.ingested.items():
            if isinstance(info, dict) and info.get("ok"):
                self.last_ingest.labels(report.dao, source).set(datetime.fromisoformat(info["at"]).timestamp())

    def failure(self, dao: str) -> None:
        self.tick_failures.labels(dao).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def health(store: Store) -> tuple[bool, dict[str, Any]]:
    """The store answers a query: ``(ok, details)``."""
    from sqlalchemy import text

    try:
        with store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - health reports any failure, it does not raise
        return False, {"ok": False, "store": f"unreachable: {type(exc).__name__}"}
    return True, {"ok": True, "store": "ok"}


def serve_metrics(metrics: AgentMetrics, port: int, *, store: Store, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Serve ``/healthz`` and ``/metrics`` on a daemon thread; call ``.shutdown()`` to stop."""
    import json

    metrics.watch_store(store)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, status, kind = metrics.render(), 200, CONTENT_TYPE
            elif self.path == "/healthz":
                ok, details = health(store)
                body, status, kind = json.dumps(details).encode(), 200 if ok else 503, "application/json"
            else:
                body, status, kind = b"not found", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
