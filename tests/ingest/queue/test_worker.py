"""The ingestion worker against the machine's real Redis: jobs land rows once, however often they are delivered."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.core.domain import Proposal, Vote
from ingest.core.errors import InputError
from ingest.core.settings import ConcordSettings, load_settings
from ingest.core.store import Store
from ingest.queue import IngestJob, create_celery, submit, wait

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def broker_url() -> str:
    if not _redis_up():
        pytest.skip(f"Redis at {REDIS_HOST}:{REDIS_PORT} did not answer; queue tests need a real broker")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{random.randint(8, 15)}"


@pytest.fixture
def queue_settings(tmp_path: Path, broker_url: str, store_url: str) -> ConcordSettings:
    return load_settings(data_dir=tmp_path / "data", database_url=store_url, queue={"broker_url": broker_url})


@pytest.fixture
def worker(queue_settings: ConcordSettings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`concord queue worker --concurrency 2` in its own process, on the test's broker and store."""
    Store.open(queue_settings.effective_database_url).close()  # migrate once, before two processes race to
    env = {
        **os.environ,
        "CONCORD_QUEUE__BROKER_URL": str(queue_settings.queue.broker_url),
        "CONCORD_DATABASE_URL": queue_settings.effective_database_url,
        "CONCORD_DATA_DIR": str(queue_settings.data_dir),
    }
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bots.cli.main", "queue", "worker", "--concurrency", "2", "--hostname", f"test{os.getpid()}@%h"],
        env=env, cwd=Path(__file__).resolve().parents[3], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _counts(url: str) -> tuple[int, int]:
    store = Store.open(url, migrate=False)
    try:
        return store.count(Proposal), store.count(Vote)
    finally:
        store.close()


@pytest.mark.timeout(240)
def test_worker_ingests_once_however_often_the_job_is_delivered(queue_settings: ConcordSettings, worker: subprocess.Popen[bytes]) -> None:
    app = create_celery(queue_settings)
    job = IngestJob(kind="sample", dao="compound")
    first = wait(queue_settings, submit(queue_settings, job, app=app), timeout_s=180, app=app)
    assert worker.poll() is None
    assert first[0]["source"].startswith("compound/")
    assert first[0]["ingested"] > 7000  # 99 proposals + 7,733 votes of the real Compound sample
    proposals, votes = _counts(queue_settings.effective_database_url)
    assert (proposals, votes) == (99, 7733)

    # The same job twice at once (two worker processes): the per-source lock and natural keys add nothing.
    ids = [submit(queue_settings, job, app=app) for _ in range(2)]
    again = [wait(queue_settings, i, timeout_s=180, app=app) for i in ids]
    assert all(s[0]["ingested"] == 0 for s in again)
    assert _counts(queue_settings.effective_database_url) == (99, 7733)


@pytest.mark.timeout(120)
def test_a_bad_job_fails_with_the_reason(queue_settings: ConcordSettings, worker: subprocess.Popen[bytes], tmp_path: Path) -> None:
    job = IngestJob(kind="discord-export", dao="aave", target=str(tmp_path / "missing.json"))
    with pytest.raises(Exception, match="not found on the worker"):
        wait(queue_settings, submit(queue_settings, job), timeout_s=90)


def test_jobs_are_checked_before_they_are_queued() -> None:
    with pytest.raises(InputError, match="Unknown ingestion job kind"):
        IngestJob(kind="ftp", dao="x")
    with pytest.raises(InputError, match="needs a target"):
        IngestJob(kind="discourse", dao="x")
    job = IngestJob(kind="snapshot", dao="arbitrum", target="arbitrumfoundation.eth", options={"votes": False})
    assert IngestJob.from_dict(job.as_dict()) == job


def test_no_broker_is_a_config_error(tmp_path: Path) -> None:
    from ingest.core.errors import ConfigError

    with pytest.raises(ConfigError, match="CONCORD_QUEUE__BROKER_URL"):
        create_celery(load_settings(data_dir=tmp_path))
