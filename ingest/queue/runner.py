"""The ingestion service every face calls: run an :class:`IngestJob` here, or hand it to the queue."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.core.settings import ConcordSettings
from ingest.core.store import Store
from ingest.pipeline import IngestSummary
from ingest.queue.jobs import IngestJob, OnSource, run_job_in

__all__ = ["Ingestion", "build_ingestion"]


@dataclass
class Ingestion:
    """Runs ingestion jobs against one store (the CLI in-process, the worker per delivered job)."""

    store: Store
    settings: ConcordSettings

    def run(self, job: IngestJob, *, on_source: OnSource | None = None) -> list[IngestSummary]:
        """Ingest everything new for ``job``; re-running adds nothing twice."""
        return run_job_in(job, self.store, self.settings, on_source=on_source)

    def submit(self, job: IngestJob) -> str:
        """Put ``job`` on the configured queue for a worker; return its task id."""
        from ingest.queue.client import submit

        return submit(self.settings, job)


def build_ingestion(settings: ConcordSettings, *, store: Store) -> Ingestion:
    """The ingestion service over ``store``."""
    return Ingestion(store=store, settings=settings)
