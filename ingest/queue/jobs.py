"""Ingestion jobs as plain data (what travels through the broker) and how a worker turns one into sources."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import InputError
from ingest.pipeline import IngestSource
from ingest.settings import ConcordSettings
from ingest.store import Store

__all__ = ["JOB_KINDS", "IngestJob", "open_sources"]

JOB_KINDS = ("sample", "discord-export", "discourse", "snapshot")


@dataclass(frozen=True)
class IngestJob:
    """One unit of ingestion work: which DAO, which kind of source, and where it is.

    ``target``: unused for 'sample' (the bundled sample; ``dao`` picks its part, '*' for all), a file
    path for 'discord-export', the forum URL for 'discourse', the space id for 'snapshot'.
    ``options``: ``max_pages`` (discourse), ``hub`` and ``votes`` (snapshot), ``rate`` (requests/s).
    """

    kind: str
    dao: str
    target: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in JOB_KINDS:
            raise InputError(f"Unknown ingestion job kind {self.kind!r}: use one of {', '.join(JOB_KINDS)}.")
        if self.kind != "sample" and not self.target:
            raise InputError(f"A {self.kind!r} job needs a target (file path, forum URL or Snapshot space).")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestJob:
        return cls(kind=data["kind"], dao=data["dao"], target=data.get("target", ""), options=dict(data.get("options") or {}))

    @property
    def lock_key(self) -> str:
        """Jobs with the same key never run at the same time (one source, one writer)."""
        return f"concord:ingest-lock:{self.kind}:{self.dao}:{self.target}"


@contextmanager
def open_sources(job: IngestJob, store: Store, settings: ConcordSettings) -> Iterator[list[tuple[str, IngestSource]]]:
    """The (dao slug, source) pairs the job stands for, with their HTTP clients open for the duration."""
    with ExitStack() as stack:
        if job.kind == "sample":
            from ingest.sources.sample import SAMPLE_DAOS, sample_sources

            for dao in SAMPLE_DAOS:
                if job.dao in ("*", dao.slug):
                    store.ensure_dao(dao.slug, dao.name, forum_url=dao.forum_url, snapshot_space=dao.snapshot_space, chain_id=dao.chain_id)
            pairs = [(slug, src) for slug, src in sample_sources() if job.dao in ("*", slug)]
            if not pairs:
                raise InputError(f"The bundled sample has no DAO {job.dao!r}: use one of {', '.join(d.slug for d in SAMPLE_DAOS)} or '*'.")
            yield pairs
            return
        if job.kind == "discord-export":
            from ingest.sources.discord_export import DiscordExportSource

            path = Path(job.target)
            if not path.exists():
                raise InputError(f"Discord export {path} not found on the worker: put it on storage the worker can read.")
            store.ensure_dao(job.dao)
            yield [(job.dao, DiscordExportSource.from_file(path))]
            return
        from ingest.http import HttpPolicy, PoliteClient

        policy = HttpPolicy(rate=float(job.options.get("rate", settings.request_rate)))
        if job.kind == "discourse":
            from ingest.sources.discourse import DiscourseClient, DiscourseSource

            store.ensure_dao(job.dao, forum_url=job.target.rstrip("/"))
            http = stack.enter_context(PoliteClient(job.target, policy=policy))
            yield [(job.dao, DiscourseSource(DiscourseClient(http), max_pages=job.options.get("max_pages")))]
            return
        from ingest.sources.snapshot import SnapshotClient, SnapshotSource, open_proposal_ids

        record = store.ensure_dao(job.dao, snapshot_space=job.target)
        http = stack.enter_context(PoliteClient(str(job.options.get("hub", "https://hub.snapshot.org")), policy=policy))
        yield [(
            job.dao,
            SnapshotSource(SnapshotClient(http), job.target, votes=bool(job.options.get("votes", True)), open_ids=open_proposal_ids(store, record)),
        )]
