"""Offline import of a DiscordChatExporter JSON export (one channel per file)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.domain import Dao, SourceKind
from ingest.errors import InputError
from ingest.normalise.discord_export import discord_message
from ingest.normalise.payload import require
from ingest.normalise.timeparse import parse_time
from ingest.pipeline import Batch, RawItem
from ingest.records import Record, ThreadRecord
from ingest.sources.recordings import load_recording
from ingest.store import Store

__all__ = ["DiscordExportSource", "export_deletions"]


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
        """New messages after the cursor, plus older ones edited since the last import.

        The cursor remembers the last message id and time read (not only a count), so a newer export of
        the same channel, with messages deleted in between, still resumes at the right place.
        """
        stream = f"channel:{self.channel['id']}"
        messages = self.export["messages"]
        start, since = self._resume_point(cursor_of(stream), messages)
        channel_item = RawItem("discord-channel", str(self.channel["id"]), self.channel)
        edited = [
            RawItem("discord-message", f"{self.channel['id']}#{i + 1}", {"n": i + 1, "m": m})
            for i, m in enumerate(messages[:start])
            if since and isinstance(m, dict) and isinstance(m.get("timestampEdited"), str) and m["timestampEdited"] > since
        ]
        if edited:
            yield Batch([channel_item, *edited])
        first = True
        for begin in range(start, len(messages), self.batch_size):
            chunk = messages[begin : begin + self.batch_size]
            items = [channel_item] if first else []
            first = False
            items += [
                RawItem("discord-message", f"{self.channel['id']}#{begin + i + 1}", {"n": begin + i + 1, "m": m})
                for i, m in enumerate(chunk)
            ]
            last = next((m for m in reversed(chunk) if isinstance(m, dict)), {})
            value = {"n": begin + len(chunk), "last": last.get("id"), "ts": last.get("timestamp")}
            yield Batch(items, (stream, json.dumps(value)[:500]))

    @staticmethod
    def _resume_point(value: str | None, messages: list[Any]) -> tuple[int, str | None]:
        if not value:
            return 0, None
        if value.isdigit():  # cursors written before ids were kept: a plain count
            return min(int(value), len(messages)), None
        state = json.loads(value)
        ids = [m.get("id") if isinstance(m, dict) else None for m in messages]
        if state.get("last") in ids:
            return ids.index(state["last"]) + 1, state.get("ts")
        if state.get("ts"):
            later = [i for i, m in enumerate(messages) if isinstance(m, dict) and str(m.get("timestamp") or "") > state["ts"]]
            return (later[0] if later else len(messages)), state["ts"]
        return min(int(state.get("n") or 0), len(messages)), None

    def normalise(self, item: RawItem) -> list[Record]:
        if item.kind == "discord-channel":
            channel = item.payload
            return [ThreadRecord(external_id=str(channel["id"]), title=f"#{channel.get('name', '')}", category=channel.get("category"))]
        if item.kind == "discord-message":
            return [discord_message(item.payload["m"], str(self.channel["id"]), number=item.payload["n"])]
        raise InputError(f"DiscordChatExporter source cannot read a {item.kind!r} item")


def export_deletions(store: Store, dao: Dao, source: DiscordExportSource) -> int:
    """Mark stored messages of the channel deleted when a newer export covering their time no longer has them."""
    from sqlmodel import col, select

    from ingest.domain import Post, Source, Thread
    from ingest.sources.discord_live import mark_deleted

    times = [parse_time(m.get("timestamp")) for m in source.export["messages"] if isinstance(m, dict) and m.get("timestamp")]
    if not times:
        return 0
    low, high = min(t for t in times if t), max(t for t in times if t)
    present = {str(m.get("id")) for m in source.export["messages"] if isinstance(m, dict)}
    with store.session() as session:
        row = session.exec(select(Source).where(Source.dao_id == dao.id, Source.kind == source.kind, Source.locator == source.locator)).first()
        if row is None:
            return 0
        gone = [
            external_id
            for external_id, created in session.exec(
                select(Post.external_id, Post.created_at).join(Thread, col(Thread.id) == Post.thread_id).where(
                    Post.source_id == row.id, Thread.external_id == str(source.channel["id"]), ~col(Post.deleted)
                )
            ).all()
            if external_id not in present and created is not None and low <= _aware(created) <= high
        ]
    return mark_deleted(store, row.id, gone)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
