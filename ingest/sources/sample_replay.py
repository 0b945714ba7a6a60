"""The bundled sample, replayed from a loopback server through the live Discourse and Snapshot clients.

``concord ingest sample`` uses this, so the sample takes the same code path a live forum or hub does
(HTTP, paging, cursors, normalisers, writer). Governor and Discord recordings have no HTTP API to replay
here: they go through the recorded sources and the same normalisers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.core.store import Store
from ingest.http import HttpPolicy, PoliteClient
from ingest.pipeline import IngestSource
from ingest.replay import ReplayServer
from ingest.sources.discord_export import DiscordExportSource
from ingest.sources.discourse import DiscourseClient, DiscourseSource, known_topics
from ingest.sources.recorded import RecordedGovernor
from ingest.sources.recordings import SAMPLE_DIR, load_recording
from ingest.sources.snapshot import SnapshotClient, SnapshotSource

__all__ = ["replayed_sample_sources"]


@contextmanager
def replayed_sample_sources(
    data_dir: Path = SAMPLE_DIR, *, store: Store | None = None, rate: float = 0.0
) -> Iterator[list[tuple[str, IngestSource]]]:
    """(dao slug, source) pairs in run order, valid while the replay server runs (inside the ``with``).

    With ``store``, forum topics already stored are skipped (their thread rows are the cursors).
    """
    discourse = load_recording(data_dir / "discourse-arbitrum.json.gz")
    snapshot = load_recording(data_dir / "snapshot-arbitrum.json.gz")
    known = {}
    if store is not None:
        known = known_topics(store, store.ensure_dao("arbitrum"), str(discourse["base_url"]))
    policy = HttpPolicy(rate=rate, timeout_s=10.0, retries=2, backoff_s=0.1)
    with ReplayServer(discourse=discourse, snapshot=snapshot) as server:
        forum_http = PoliteClient(server.url, policy=policy)
        hub_http = PoliteClient(server.url, policy=policy)
        try:
            yield [
                ("arbitrum", SnapshotSource(SnapshotClient(hub_http), str(snapshot["space"]["id"]))),
                ("arbitrum", RecordedGovernor(load_recording(data_dir / "governor-arbitrum.json.gz"))),
                (
                    "arbitrum",
                    DiscourseSource(
                        DiscourseClient(forum_http), site_url=str(discourse["base_url"]), known=known
                    ),
                ),
                ("compound", RecordedGovernor(load_recording(data_dir / "governor-compound.json.gz"))),
                ("aave", DiscordExportSource.from_file(data_dir / "discord-aave.json.gz")),
            ]
        finally:
            forum_http.close()
            hub_http.close()
