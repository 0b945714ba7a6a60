"""Offline import of a DiscordChatExporter JSON export (one channel per file)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.domain import SourceKind
from ingest.errors import InputError
from ingest.normalise.discord_export import discord_message
from ingest.normalise.payload import require
from ingest.pipeline import Batch, RawItem
from ingest.records import Record, ThreadRecord
from ingest.sources.recordings import load_recording

__all__ = ["DiscordExportSource"]


@dataclass
class DiscordExportSource:
    """Messages of one exported channel, in export order; the cursor is the number of messages read."""

    export: dict[str, Any]
    batch_size: int = 500
    kind: str = SourceKind.DISCORD

    @classmethod
    def from_file(cls, path: Path, batch_size: int = 500) -> DiscordExportSource:
        export = load_recording(path)
        require(export, "channel", dict, f"DiscordChatExporter file {path}")
        require(export, "messages", list, f"DiscordChatExporter file {path}")
        return cls(export=export, batch_size=batch_size)

    @property
    def channel(self) -> dict[str, Any]:
        return self.export["channel"]

    @property
    def locator(self) -> str:
        return f"discord:{self.export.get('guild', {}).get('id', 'unknown')}/{self.channel['id']}"

    @property
    def name(self) -> str:
        guild = self.export.get("guild", {}).get("name", "Discord")
        return f"{guild} #{self.channel.get('name', self.channel['id'])}"

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        stream = f"channel:{self.channel['id']}"
        done = int(cursor_of(stream) or 0)
        messages = self.export["messages"]
        channel_item = RawItem("discord-channel", str(self.channel["id"]), self.channel)
        first = True
        for start in range(done, len(messages), self.batch_size):
            chunk = messages[start : start + self.batch_size]
            items = [channel_item] if first else []
            first = False
            items += [
                RawItem("discord-message", f"{self.channel['id']}#{start + i + 1}", {"n": start + i + 1, "m": m})
                for i, m in enumerate(chunk)
            ]
            yield Batch(items, (stream, str(start + len(chunk))))

    def normalise(self, item: RawItem) -> list[Record]:
        if item.kind == "discord-channel":
            channel = item.payload
            return [ThreadRecord(external_id=str(channel["id"]), title=f"#{channel.get('name', '')}", category=channel.get("category"))]
        if item.kind == "discord-message":
            return [discord_message(item.payload["m"], str(self.channel["id"]), number=item.payload["n"])]
        raise InputError(f"DiscordChatExporter source cannot read a {item.kind!r} item")
