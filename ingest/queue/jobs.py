"""Ingestion jobs as plain data (what travels through the broker) and how one becomes sources and runs.

The CLI and the queue worker both go through :func:`open_sources` and :func:`run_job_in`, so a job
ingests the same way whether it is typed at a terminal or delivered by the broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.core.errors import InputError
from ingest.core.settings import ConcordSettings
from ingest.core.store import Store
from ingest.pipeline import IngestSource, IngestSummary, run_ingestion

__all__ = ["JOB_KINDS", "BatchCallback", "IngestJob", "OnSource", "open_sources", "run_job_in"]

JOB_KINDS = ("sample", "discord-export", "discourse", "snapshot", "governor")

#: Called after every written batch with the run's summary so far and the batch's item count.
BatchCallback = Callable[[IngestSummary, int], None]
#: Called when a source starts; may return the batch callback for that source (a progress bar, say).
OnSource = Callable[[str, IngestSource], BatchCallback | None]


@dataclass(frozen=True)
class IngestJob:
    """One unit of ingestion work: which DAO, which kind of source, and where it is.

    ``target``: unused for 'sample' (the bundled sample; ``dao`` picks its part, '*' for all), a file
    path for 'discord-export', the forum URL for 'discourse', the space id for 'snapshot', the Governor's
    address for 'governor'.
    ``options``: ``max_pages`` and ``batch_items`` (discourse), ``hub`` and ``votes`` (snapshot),
    ``rpc_url`` (default chain.rpc_url), ``from_block``, ``confirmations`` (default chain.confirmations) and
    ``chunk_blocks`` (governor), and for the HTTP sources ``rate`` (requests/s, default settings.request_rate), ``timeout_s`` and ``retries``.
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


def _http_policy(job: IngestJob, settings: ConcordSettings) -> Any:
    from ingest.http import HttpPolicy

    options = job.options
    return HttpPolicy(
        rate=float(options["rate"]) if options.get("rate") is not None else settings.request_rate,
        timeout_s=float(options.get("timeout_s", 10.0)),
        retries=int(options.get("retries", 4)),
    )


@contextmanager
def open_sources(job: IngestJob, store: Store, settings: ConcordSettings) -> Iterator[list[tuple[str, IngestSource]]]:
    """The (dao slug, source) pairs the job stands for, in run order, with their HTTP clients open for the duration."""
    with ExitStack() as stack:
        if job.kind == "sample":
            from ingest.sources.sample import SAMPLE_DAOS
            from ingest.sources.sample_replay import replayed_sample_sources

            if job.dao != "*" and job.dao not in {d.slug for d in SAMPLE_DAOS}:
                raise InputError(f"The bundled sample has no DAO {job.dao!r}: use one of {', '.join(d.slug for d in SAMPLE_DAOS)} or '*'.")
            for dao in SAMPLE_DAOS:
                store.ensure_dao(dao.slug, dao.name, forum_url=dao.forum_url, snapshot_space=dao.snapshot_space, chain_id=dao.chain_id)
            pairs = stack.enter_context(replayed_sample_sources(store=store))
            yield [(slug, src) for slug, src in pairs if job.dao in ("*", slug)]
            return
        if job.kind == "discord-export":
            from ingest.sources.discord_export import DiscordExportSource

            path = Path(job.target)
            if not path.exists():
                raise InputError(f"Discord export {path} not found on the worker: put it on storage the worker can read.")
            store.ensure_dao(job.dao)
            yield [(job.dao, DiscordExportSource.from_file(path))]
            return
        if job.kind == "governor":
            yield [(job.dao, _governor_source(job, store, settings))]
            return
        from ingest.http import PoliteClient

        if job.kind == "discourse":
            from ingest.sources.discourse import DiscourseClient, DiscourseSource, known_topics

            record = store.ensure_dao(job.dao, forum_url=job.target.rstrip("/"))
            http = stack.enter_context(PoliteClient(job.target, policy=_http_policy(job, settings)))
            source = DiscourseSource(
                DiscourseClient(http), max_pages=job.options.get("max_pages"), known=known_topics(store, record, job.target),
                batch_items=int(job.options.get("batch_items", 500)),
            )
            yield [(job.dao, source)]
            return
        from ingest.sources.snapshot import SnapshotClient, SnapshotSource, open_proposal_ids

        record = store.ensure_dao(job.dao, snapshot_space=job.target)
        http = stack.enter_context(PoliteClient(str(job.options.get("hub", "https://hub.snapshot.org")), policy=_http_policy(job, settings)))
        yield [(
            job.dao,
            SnapshotSource(SnapshotClient(http), job.target, votes=bool(job.options.get("votes", True)), open_ids=open_proposal_ids(store, record)),
        )]


def _governor_source(job: IngestJob, store: Store, settings: ConcordSettings) -> IngestSource:
    """A Governor read over JSON-RPC (``options.rpc_url`` or ``chain.rpc_url``), its open proposals re-read."""
    from web3 import HTTPProvider, Web3

    from ingest.core.errors import ConfigError
    from ingest.sources.governor import GovernorSource, open_governor_proposals

    url = job.options.get("rpc_url") or settings.chain.rpc_url
    if not url:
        raise ConfigError(f"The governor job for {job.dao!r} needs options.rpc_url or CONCORD_CHAIN__RPC_URL.")
    w3 = Web3(HTTPProvider(str(url), request_kwargs={"timeout": float(job.options.get("timeout_s", 30.0))}))
    try:
        chain_id = int(w3.eth.chain_id)
    except Exception as exc:  # any transport error means the same thing here
        raise ConfigError(f"The JSON-RPC node at {url} did not answer eth_chainId ({exc}); check the governor job's rpc_url.") from exc
    record = store.ensure_dao(job.dao, chain_id=chain_id, governor_address=job.target)
    confirmations = job.options.get("confirmations")
    return GovernorSource(
        w3, job.target, chain_id=chain_id, from_block=int(job.options.get("from_block", 0)),
        confirmations=settings.chain.confirmations if confirmations is None else int(confirmations),
        chunk_blocks=int(job.options.get("chunk_blocks", 5_000)), open_items=open_governor_proposals(store, record),
    )


def _after_run(job: IngestJob, store: Store, slug: str, source: IngestSource, summary: IngestSummary) -> None:
    """What a source needs once its items are written: a Discord export declared complete (``options.complete``)
    marks deleted the stored messages of its range that it no longer holds; its notes reach the summary."""
    from ingest.core.errors import InputError
    from ingest.sources.discord_export import DiscordExportSource, export_deletions

    if not isinstance(source, DiscordExportSource):
        return
    summary.notes += [f"{source.path}: {note}" for note in source.notes]
    if job.options.get("complete"):
        try:
            summary.updated += export_deletions(store, store.get_dao(slug), source)
        except InputError as exc:
            summary.notes.append(str(exc))


def run_job_in(job: IngestJob, store: Store, settings: ConcordSettings, *, on_source: OnSource | None = None) -> list[IngestSummary]:
    """Run every source of ``job`` against ``store``, in order; one summary per source."""
    summaries = []
    with open_sources(job, store, settings) as pairs:
        for slug, source in pairs:
            on_batch = on_source(slug, source) if on_source is not None else None
            summary = run_ingestion(store, store.get_dao(slug), source, on_batch=on_batch)
            _after_run(job, store, slug, source, summary)
            summaries.append(summary)
    return summaries
