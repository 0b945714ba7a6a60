"""Ingestion throughput of the bundled sample vs a naive one-insert-per-row baseline (a benchmark, not a test).

Three measurements in one run, each into a fresh store (SQLite file, or a fresh PostgreSQL database):

1. pipeline  - ``run_ingestion`` over the recorded sample sources (normalise + batched idempotent writes,
               one transaction per batch with its cursor);
2. replayed  - ``concord ingest sample``'s path: forum and Snapshot answered by the replay server (in process,
               as the command does; ``--loopback`` serves it on a socket) and read by the live HTTP clients,
               the rest as in 1 (adds HTTP and paging cost);
3. naive     - the same normalised post records written one row per transaction (look up the thread and the
               author, insert the post, commit), the way a first implementation would.

Posts/s counts Post rows (forum + Discord) over the time spent on the post-bearing sources (wall clock; the
process's CPU time is reported beside it, since a shared machine stretches wall time). The recorded forum
source (``RecordedDiscourse``, used by the test fixtures) writes one transaction per topic, so path 1 is slower
on the forum than path 2, whose live Discourse source groups ~500 payloads per transaction.

``concord bench`` measures with the same functions: :func:`measure_sample` (path 2 vs 3 on SQLite and on
PostgreSQL) and :func:`measure_ingestion` (the first ``n`` messages of the bundled Aave Discord export through
``run_ingestion`` vs :func:`naive`).

Run:  .venv/bin/python evals/bench_ingest.py [--repeat 3] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PG_ADMIN_URL", "fresh_postgres", "limited_discord_jobs", "measure_ingestion", "measure_sample", "naive", "pipeline", "replayed"]

PG_ADMIN_URL = os.environ.get("CONCORD_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@dataclass
class _Limited:
    """A source wrapper that stops after ``limit`` payloads (to measure at a given size)."""

    inner: Any
    limit: int

    @property
    def kind(self) -> str:
        return str(self.inner.kind)

    @property
    def locator(self) -> str:
        return str(self.inner.locator)

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Any]:
        from ingest.pipeline import Batch

        left = self.limit
        for batch in self.inner.batches(cursor_of):
            if left <= 0:
                return
            items = batch.items[:left]
            left -= len(items)
            yield Batch(items, batch.cursor if len(items) == len(batch.items) else None)

    def normalise(self, item: Any) -> Any:
        return self.inner.normalise(item)


def limited_discord_jobs(limit: int) -> list[tuple[str, Any]]:
    """The first ``limit`` messages of the bundled Aave Discord export, as an ingestion job list."""
    from ingest.sources.discord_export import DiscordExportSource
    from ingest.sources.recordings import SAMPLE_DIR

    return [("aave", _Limited(DiscordExportSource.from_file(SAMPLE_DIR / "discord-aave.json.gz"), limit))]


def _fresh_store(directory: Path, name: str, url: str | None = None):  # type: ignore[no-untyped-def]
    """A store with the sample's DAOs: ``url`` (an empty database) or a new SQLite file ``name`` in ``directory``."""
    from ingest.sample import build_sample  # noqa: F401 - makes sure the sample package is importable
    from ingest.core.store import Store
    from ingest.sources.sample import SAMPLE_DAOS

    store = Store.open(url or f"sqlite:///{(directory / name).as_posix()}")
    for dao in SAMPLE_DAOS:
        store.ensure_dao(
            dao.slug,
            dao.name,
            forum_url=dao.forum_url,
            snapshot_space=dao.snapshot_space,
            chain_id=dao.chain_id,
        )
    return store


@contextmanager
def fresh_postgres(name: str, admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database ``name`` (dropped first if it exists, and again afterwards)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _timed_run(store, jobs) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    times = _timed_runs(store, jobs)
    return times["post_wall_s"], times["total_s"], int(times["posts"])


def _timed_runs(store, jobs) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Wall and CPU seconds on the post-bearing sources, wall seconds in all, posts stored."""
    from ingest.core.domain import Post
    from ingest.pipeline import run_ingestion

    post_wall = post_cpu = total = 0.0
    for slug, source in jobs:
        started, cpu = time.perf_counter(), time.process_time()
        run_ingestion(store, store.get_dao(slug), source)
        spent = time.perf_counter() - started
        total += spent
        if source.kind in ("discourse", "discord"):
            post_wall += spent
            post_cpu += time.process_time() - cpu
    return {"post_wall_s": post_wall, "post_cpu_s": post_cpu, "total_s": total, "posts": float(store.count(Post))}


def pipeline(directory: Path, jobs: list[tuple[str, Any]] | None = None) -> tuple[float, float, int]:
    """(seconds on post-bearing sources, seconds in all, posts stored) for ``run_ingestion`` over ``jobs``
    (default: the whole bundled sample)."""
    from ingest.sources.sample import sample_sources

    jobs = jobs if jobs is not None else sample_sources()  # loading the recordings is not ingestion: before the clock
    store = _fresh_store(directory, "pipeline.db")
    try:
        return _timed_run(store, jobs)
    finally:
        store.close()


def replayed(directory: Path, url: str | None = None, *, loopback: bool = False) -> tuple[float, float, int]:
    times = replayed_times(directory, url, loopback=loopback)
    return times["post_wall_s"], times["total_s"], int(times["posts"])


def replayed_times(directory: Path, url: str | None = None, *, loopback: bool = False) -> dict[str, float]:
    """``concord ingest sample``'s path into a fresh store (see :func:`_timed_runs`)."""
    from ingest.sources.sample_replay import replayed_sample_sources

    store = _fresh_store(directory, "replayed.db", url)
    try:
        with replayed_sample_sources(store=store, loopback=loopback) as jobs:
            return _timed_runs(store, jobs)
    finally:
        store.close()


def naive(
    directory: Path, jobs: list[tuple[str, Any]] | None = None, url: str | None = None, *, limit: int | None = None
) -> tuple[float, int]:
    """The naive baseline: (seconds, posts stored) writing the same normalised post records one row per
    transaction (look up thread and author, insert the post, commit); with ``limit``, only the first ``limit``
    records (its cost is per row, so its rate holds). Normalisation is done before the clock."""
    from sqlmodel import select

    from ingest.core.domain import Author, Post, Source, Thread, content_hash
    from ingest.records import PostRecord
    from ingest.sources.sample import sample_sources

    store = _fresh_store(directory, "naive.db", url)
    jobs = [(slug, s) for slug, s in (jobs if jobs is not None else sample_sources()) if s.kind in ("discourse", "discord")]
    records: list[tuple[str, object, PostRecord]] = []
    for slug, source in jobs:
        for batch in source.batches(lambda _stream: None):
            for item in batch.items:
                try:
                    records += [
                        (slug, source, r) for r in source.normalise(item) if isinstance(r, PostRecord)
                    ]
                except Exception:  # noqa: BLE001, S112 - bad payloads are skipped here as in the pipeline
                    continue
    records = records[:limit] if limit is not None else records
    sources: dict[int, Source] = {}
    started = time.perf_counter()
    for slug, source, record in records:
        key = id(source)
        if key not in sources:
            sources[key] = store.ensure_source(store.get_dao(slug), source.kind, source.locator, source.name)
        row = sources[key]
        with store.session() as session:
            thread = session.exec(
                select(Thread).where(
                    Thread.source_id == row.id, Thread.external_id == record.thread_external_id
                )
            ).first()
            if thread is None:
                thread = Thread(source_id=row.id, external_id=record.thread_external_id)
                session.add(thread)
                session.flush()
            author = session.exec(
                select(Author).where(Author.source_id == row.id, Author.handle == record.author_handle)
            ).first()
            if author is None and record.author_handle:
                author = Author(source_id=row.id, handle=record.author_handle)
                session.add(author)
                session.flush()
            exists = session.exec(
                select(Post.id).where(Post.source_id == row.id, Post.external_id == record.external_id)
            ).first()
            if exists is None:
                session.add(
                    Post(
                        source_id=row.id,
                        thread_id=thread.id,
                        external_id=record.external_id,
                        author_id=author.id if author else None,
                        number=record.number,
                        text=record.text,
                        html=record.html,
                        url=record.url,
                        created_at=record.created_at,
                        content_hash=content_hash(record.text, ""),
                    )
                )
    spent = time.perf_counter() - started
    count = store.count(Post)
    store.close()
    return spent, count


def measure_ingestion(size: int, directory: Path) -> dict[str, float]:
    """Posts/s of the pipeline and of the naive baseline on the first ``size`` Discord messages, fresh SQLite files."""
    fresh = directory / f"ingest-{size}"
    fresh.mkdir(parents=True, exist_ok=False)
    post_time, _total, posts = pipeline(fresh, limited_discord_jobs(size))
    naive_time, naive_posts = naive(fresh, limited_discord_jobs(size))
    return {"posts": float(posts), "naive_posts": float(naive_posts), "pipeline_posts_s": posts / post_time,
            "naive_posts_s": naive_posts / naive_time}


def measure_sample(directory: Path, *, postgres_admin_url: str | None = None, naive_limit: int | None = None) -> dict[str, float]:
    """Posts/s of ``concord ingest sample``'s path and of the naive baseline on the same sample posts (the first
    ``naive_limit`` of them), into fresh SQLite files (``postgres_admin_url`` None) or fresh PostgreSQL databases
    ``concord_perf_*`` on that server."""
    directory.mkdir(parents=True, exist_ok=True)
    if postgres_admin_url is None:
        fast = replayed_times(directory)
        slow_s, slow_posts = naive(directory, limit=naive_limit)
    else:
        with fresh_postgres("concord_perf_replayed", postgres_admin_url) as url:
            fast = replayed_times(directory, url)
        with fresh_postgres("concord_perf_naive", postgres_admin_url) as url:
            slow_s, slow_posts = naive(directory, url=url, limit=naive_limit)
    return {"posts": fast["posts"], "naive_posts": float(slow_posts), "replayed_posts_s": fast["posts"] / fast["post_wall_s"],
            "replayed_cpu_posts_s": fast["posts"] / fast["post_cpu_s"], "naive_posts_s": slow_posts / slow_s,
            "whole_sample_s": fast["total_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--loopback", action="store_true", help="serve the replay on a loopback socket")
    args = parser.parse_args()
    rows: dict[str, list[float]] = {"pipeline": [], "replayed": [], "naive": []}
    totals: dict[str, list[float]] = {"pipeline": [], "replayed": []}
    posts = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            runs: tuple[tuple[str, Callable[[Path], tuple[float, float, int]]], ...] = (
                ("pipeline", pipeline), ("replayed", lambda d: replayed(d, loopback=args.loopback)))
            for name, run in runs:
                post_time, total, count = run(directory)
                rows[name].append(count / post_time)
                totals[name].append(total)
                posts[name] = count
            spent, count = naive(directory)
            rows["naive"].append(count / spent)
            posts["naive"] = count
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'path':<10} {'posts':>6} {'posts/s (median)':>17} {'min':>8} {'max':>8}  whole sample (s)")
    for name, rates in rows.items():
        whole = f"{statistics.median(totals[name]):.2f}" if name in totals else "-"
        print(
            f"{name:<10} {posts[name]:>6} {statistics.median(rates):>17,.0f} {min(rates):>8,.0f} {max(rates):>8,.0f}  {whole}"
        )
    best = statistics.median(rows["replayed"])
    print(
        f"replayed (the `concord ingest sample` path) vs naive: {best / statistics.median(rows['naive']):.1f}x; "
        f"pipeline vs naive: {statistics.median(rows['pipeline']) / statistics.median(rows['naive']):.1f}x; "
        f"goal >= 10,000 posts/s on the replayed path: {'met' if best >= 10_000 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
