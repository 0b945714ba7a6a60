"""The agent tick as a Celery task on the worker pool, and Celery beat's schedule of it (one entry per DAO).

Beat only enqueues ``concord.agent.tick(dao)`` at each DAO's interval; any worker runs it with the same
:class:`AgentRunner` the in-process scheduler uses, holding the DAO's Redis lock, so two workers (or a worker
and a stray `concord agent run`) never act on one DAO at once, and the step keys stop any repeat after it.
"""

from __future__ import annotations

from typing import Any

from ingest.core.settings import ConcordSettings

__all__ = ["AGENT_TICK_TASK", "create_agent_celery", "run_tick"]

AGENT_TICK_TASK = "concord.agent.tick"


def run_tick(settings: ConcordSettings, dao: str) -> dict[str, Any]:
    """One tick of ``dao`` in this process over a freshly opened store; what it did, as JSON data."""
    from bots.agent_loop.runner import AgentRunner, select_daos
    from bots.services import build_services
    from ingest.core.store import Store

    config = select_daos(settings, dao)[dao]
    store = Store.open(settings.effective_database_url)
    try:
        return AgentRunner(build_services(settings, store=store)).tick(dao, config).as_dict()
    finally:
        store.close()


def create_agent_celery(settings: ConcordSettings) -> Any:
    """The ingestion Celery app with the agent tick registered and a beat entry per configured DAO."""
    from ingest.queue.app import create_celery

    app = create_celery(settings)

    @app.task(name=AGENT_TICK_TASK, acks_late=False)  # a lost tick is simply the next one; never redelivered mid-step
    def agent_tick(dao: str) -> dict[str, Any]:
        return run_tick(settings, dao)

    app.conf.beat_schedule = {
        f"agent-tick-{dao}": {"task": AGENT_TICK_TASK, "schedule": float(config.interval_s or settings.agent.interval_s), "args": [dao]}
        for dao, config in settings.agent.daos.items()
    }
    return app
