"""The Celery application for ingestion, built from settings (no module-level app).

The broker (``settings.queue.broker_url``, Redis or RabbitMQ) carries :class:`IngestJob` dicts;
results go to the same Redis (or the ``rpc://`` backend on RabbitMQ). A worker runs
:class:`ingest.queue.runner.Ingestion` for each job (what the CLI runs in-process) against the shared store
(``settings.effective_database_url``, PostgreSQL when several machines work). Writes are idempotent
through the store's natural keys and cursors, so a job delivered twice, or two jobs for the same source,
add nothing twice; a Redis lock per source also keeps two workers from reading the same source at once.
"""

from __future__ import annotations

from typing import Any

from ingest.core.errors import ConfigError
from ingest.core.settings import ConcordSettings
from ingest.queue.jobs import IngestJob

__all__ = ["INGEST_TASK", "QUEUE_NAME", "create_celery", "run_job"]

INGEST_TASK = "concord.ingest"
QUEUE_NAME = "concord-ingest"


def run_job(job: IngestJob, settings: ConcordSettings, *, lock_client: Any = None, lock_timeout_s: int = 3600) -> list[dict[str, Any]]:
    """Run one job in this process; return the run summaries as dicts."""
    from contextlib import nullcontext

    from ingest.core.store import Store
    from ingest.queue.runner import build_ingestion

    lock = lock_client.lock(job.lock_key, timeout=lock_timeout_s, blocking_timeout=lock_timeout_s) if lock_client is not None else nullcontext()
    store = Store.open(settings.effective_database_url)
    try:
        with lock:
            return [summary.as_dict() for summary in build_ingestion(settings, store=store).run(job)]
    finally:
        store.close()


def _redis_for_locks(broker_url: str) -> Any:
    if not broker_url.startswith(("redis://", "rediss://")):
        return None
    import redis

    return redis.Redis.from_url(broker_url)


def create_celery(settings: ConcordSettings) -> Any:
    """A Celery app with the ingestion task registered, talking to ``settings.queue.broker_url``."""
    broker = settings.queue.broker_url
    if not broker:
        raise ConfigError(
            "No queue broker configured: set CONCORD_QUEUE__BROKER_URL (e.g. redis://127.0.0.1:6379/0) "
            "or [queue] broker_url in concord.toml."
        )
    try:
        from celery import Celery
    except ImportError as exc:  # pragma: no cover
        raise ConfigError("The queue needs Celery: pip install 'concord[queue]'.") from exc
    backend = broker if broker.startswith(("redis://", "rediss://")) else "rpc://"
    app = Celery("concord", broker=broker, backend=backend)
    app.conf.update(
        task_default_queue=QUEUE_NAME,
        task_acks_late=True,  # a job whose worker dies is delivered again; idempotent writes make that safe
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_expires=24 * 3600,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @app.task(name=INGEST_TASK, bind=True, max_retries=3, default_retry_delay=10)
    def ingest_task(self: Any, job: dict[str, Any]) -> list[dict[str, Any]]:
        return run_job(IngestJob.from_dict(job), settings, lock_client=_redis_for_locks(broker))

    return app
