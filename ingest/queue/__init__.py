"""Ingestion as jobs on a real queue (Celery on Redis or RabbitMQ): submit with :func:`submit`, run :func:`run_worker`."""

from ingest.queue.app import INGEST_TASK, QUEUE_NAME, create_celery, run_job
from ingest.queue.client import run_worker, submit, wait
from ingest.queue.jobs import JOB_KINDS, IngestJob, open_sources, run_job_in
from ingest.queue.runner import Ingestion, build_ingestion

__all__ = [
    "INGEST_TASK", "JOB_KINDS", "QUEUE_NAME", "IngestJob", "Ingestion", "build_ingestion", "create_celery", "open_sources", "run_job",
    "run_job_in", "run_worker", "submit", "wait",
]
