"""The bundled real sample (ingest/sample/data): which recordings belong to which DAO and source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.pipeline import IngestSource
from ingest.sources.discord_export import DiscordExportSource
from ingest.sources.recorded import RecordedDiscourse, RecordedGovernor, RecordedSnapshot
from ingest.sources.recordings import SAMPLE_DIR, load_recording

__all__ = ["SampleDao", "SAMPLE_DAOS", "sample_sources"]


@dataclass(frozen=True)
class SampleDao:
    slug: str
    name: str
    forum_url: str | None = None
    snapshot_space: str | None = None
    chain_id: int | None = None


SAMPLE_DAOS = [
    SampleDao("arbitrum", "Arbitrum DAO", "https://forum.arbitrum.foundation", "arbitrumfoundation.eth", 42161),
    SampleDao("compound", "Compound", "https://www.comp.xyz", None, 1),
    SampleDao("aave", "Aave", "https://governance.aave.com", None, 1),
]


def sample_sources(data_dir: Path = SAMPLE_DIR) -> list[tuple[str, IngestSource]]:
    """(dao slug, source) pairs in the order they must run: proposals before the votes and links that need them."""
    return [
        ("arbitrum", RecordedSnapshot(load_recording(data_dir / "snapshot-arbitrum.json.gz"))),
        ("arbitrum", RecordedGovernor(load_recording(data_dir / "governor-arbitrum.json.gz"))),
        ("arbitrum", RecordedDiscourse(load_recording(data_dir / "discourse-arbitrum.json.gz"))),
        ("compound", RecordedGovernor(load_recording(data_dir / "governor-compound.json.gz"))),
        ("aave", DiscordExportSource.from_file(data_dir / "discord-aave.json.gz")),
    ]
