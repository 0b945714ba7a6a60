"""Submitting ingestion jobs and running a worker."""

from __future__ import annotations

from typing import Any

from ingest.core.settings import ConcordSettings
from ingest.queue.app import INGEST_TASK, QUEUE_NAME, create_celery
from ingest.queue.jobs import IngestJob

__all__ = ["run_worker", "submit", "wait"]


def submit(settings: ConcordSettings, job: IngestJob, *, app: Any = None) -> str:
    """Put ``job`` on the queue; return its task id."""
    app = app or create_celery(settings)
    result = app.send_task(INGEST_TASK, args=[job.as_dict()], queue=QUEUE_NAME)
    return str(result.id)


def wait(settings: ConcordSettings, task_id: str, *, timeout_s: float = 600.0, app: Any = None) -> list[dict[str, Any]]:
    """Block until the task finishes; return its summaries (re-raising the worker's error if it failed)."""
    app = app or create_celery(settings)
    return list(app.AsyncResult(task_id).get(timeout=timeout_s, propagate=True))


def run_worker(settings: ConcordSettings, *, concurrency: int = 1, hostname: str | None = None, loglevel: str = "INFO") -> None:
    """Run a Celery worker for the ingestion queue in this process (until stopped)."""
    app = create_celery(settings)
    argv = ["worker", f"--concurrency={concurrency}", f"--queues={QUEUE_NAME}", f"--loglevel={loglevel}", "--pool=prefork" if concurrency > 1 else "--pool=solo"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)
