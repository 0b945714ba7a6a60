"""The bundled sample, replayed through the live Discourse and Snapshot clients.

``concord ingest sample`` uses this, so the sample takes the same code path a live forum or hub does
(httpx requests, retries, paging, JSON decoding, cursors, normalisers, writer). The replay server answers in
process by default (``ReplayServer.transport``): a loopback socket and its server thread cost more than the
rest of the ingestion and stall on a busy machine at every request, while a live source's speed is set by the
remote API and its rate limit, not by them. ``loopback=True`` serves it on a real socket instead (as the
tests of the HTTP client do). Governor and Discord recordings have no HTTP API to replay here: they go through
the recorded sources and the same normalisers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from ingest.core.store import Store
from ingest.http import HttpPolicy, PoliteClient
from ingest.pipeline import IngestSource
from ingest.replay import ReplayServer
from ingest.replay_forum import with_categories
from ingest.sources.discord_export import DiscordExportSource
from ingest.sources.discourse import DiscourseClient, DiscourseSource, known_topics
from ingest.sources.recorded import RecordedGovernor
from ingest.sources.recordings import SAMPLE_DIR, load_recording
from ingest.sources.snapshot import SnapshotClient, SnapshotSource

__all__ = ["IN_PROCESS_URL", "replayed_sample_sources"]

IN_PROCESS_URL = "http://replay.invalid"  # the clients' base URL when the replay answers in process


@contextmanager
def replayed_sample_sources(
    data_dir: Path = SAMPLE_DIR, *, store: Store | None = None, rate: float = 0.0, loopback: bool = False
) -> Iterator[list[tuple[str, IngestSource]]]:
    """(dao slug, source) pairs in run order, valid while the replay server runs (inside the ``with``).

    With ``store``, forum topics already stored are skipped (their thread rows are the cursors). With
    ``loopback`` the replay is served on a loopback socket rather than in process.
    """
    discourse = with_categories(load_recording(data_dir / "discourse-arbitrum.json.gz"))  # the sample never changes
    snapshot = load_recording(data_dir / "snapshot-arbitrum.json.gz")
    known = {}
    if store is not None:
        known = known_topics(store, store.ensure_dao("arbitrum"), str(discourse["base_url"]))
    policy = HttpPolicy(rate=rate, timeout_s=10.0, retries=2, backoff_s=0.1)
    replay = ReplayServer(discourse=discourse, snapshot=snapshot)
    with replay if loopback else nullcontext(replay) as server:
        url, transport = (server.url, None) if loopback else (IN_PROCESS_URL, server.transport())
        forum_http = PoliteClient(url, policy=policy, transport=transport)
        hub_http = PoliteClient(url, policy=policy, transport=transport)
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
