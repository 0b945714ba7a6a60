"""The queue worker's job path and the CLI's are one path: what `concord ingest` does, a queued job does."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

from sqlmodel import select

from ingest.core.domain import Post
from ingest.core.settings import load_settings
from ingest.core.store import Store
from ingest.queue import IngestJob, run_job
from ingest.sources.recordings import SAMPLE_DIR, load_recording


def _write_export(path: Path, export: dict) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(export, handle)
    return path


def test_a_queued_complete_discord_export_job_marks_messages_gone_from_a_newer_export(tmp_path: Path, store_url: str) -> None:
    settings = load_settings(data_dir=tmp_path / "data", database_url=store_url)
    full = load_recording(SAMPLE_DIR / "discord-aave.json.gz")
    messages = [m for m in full["messages"] if m["content"].strip()][:30]
    old = _write_export(tmp_path / "v1.json.gz", {**full, "messages": messages})
    assert run_job(IngestJob(kind="discord-export", dao="aave", target=str(old)), settings)[0]["ingested"] == 31  # the channel and its 30 messages

    newer = copy.deepcopy(messages)
    removed = newer.pop(10)  # inside the newer export's time range: the channel lost it
    v2 = _write_export(tmp_path / "v2.json.gz", {**full, "messages": newer})
    summary = run_job(IngestJob(kind="discord-export", dao="aave", target=str(v2)), settings)[0]
    assert (summary["ingested"], summary["updated"]) == (0, 0)  # not declared complete: evidence of what exists only
    summary = run_job(IngestJob(kind="discord-export", dao="aave", target=str(v2), options={"complete": True}), settings)[0]
    assert (summary["ingested"], summary["updated"]) == (0, 1)
    store = Store.open(store_url)
    try:
        with store.session() as session:
            gone = session.exec(select(Post).where(Post.external_id == removed["id"])).one()
        assert gone.deleted and gone.text == ""
    finally:
        store.close()



def test_a_governor_job_needs_a_node_and_says_which_setting(tmp_path: Path, sqlite_url: str) -> None:
    import pytest

    from ingest.core.errors import ConfigError
    from ingest.queue.jobs import run_job_in

    store = Store.open(sqlite_url)
    job = IngestJob(kind="governor", dao="arbitrum", target="0x" + "11" * 20)
    with pytest.raises(ConfigError, match="rpc_url or CONCORD_CHAIN__RPC_URL"):
        run_job_in(job, store, load_settings(data_dir=tmp_path / "data"))
    with pytest.raises(ConfigError, match="did not answer eth_chainId"):
        run_job_in(IngestJob(kind="governor", dao="arbitrum", target=job.target, options={"rpc_url": "http://127.0.0.1:9", "timeout_s": 2}),
                   store, load_settings(data_dir=tmp_path / "data"))
    store.close()
