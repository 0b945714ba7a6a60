"""Offline import of a DiscordChatExporter JSON export (one channel per file).

An export is evidence of what exists, not of what was deleted: every import reads the whole file and the
writer's natural keys decide insert, update (an edit, or a message restored after a wrongful deletion) or
skip, so an older export imported after a newer one still stores what it holds. Stored messages are marked
deleted only when the operator declares the file a complete export of its date range
(:func:`export_deletions`, ``concord ingest discord-export --complete``), and then only inside that range.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ingest.core.domain import Dao, Source, SourceKind
from ingest.core.errors import InputError
from ingest.core.store import Store
from ingest.normalise.discord_export import discord_message
from ingest.normalise.timeparse import parse_time
from ingest.pipeline import Batch, RawItem
from ingest.records import Record, ThreadRecord
from ingest.sources.export_file import Unreadable, has_undecodable, read_export_file

__all__ = [
    "CHANNEL_KIND",
    "MESSAGE_KIND",
    "DiscordExportSource",
    "export_deletions",
    "normalise_channel",
    "normalise_message",
]

CHANNEL_KIND = "discord-export-channel"
MESSAGE_KIND = "discord-export-message"


def normalise_channel(payload: Any, _source: Source | None = None) -> list[Record]:
    if not isinstance(payload, dict) or payload.get("id") in (None, ""):
        raise InputError("DiscordChatExporter channel: missing required field 'id'")
    name = payload.get("name")
    category = payload.get("category")
    return [
        ThreadRecord(
            external_id=str(payload["id"]),
            title=f"#{name if isinstance(name, str) else ''}",
            category=category if isinstance(category, str) else None,
        )
    ]


def normalise_message(payload: Any, _source: Source | None = None, *, check_bytes: bool = True) -> list[Record]:
    """One export item (``{"channel", "n", "m"}``, or an unreadable element's text and reason) to a post.
    ``check_bytes=False`` skips looking for escaped non-UTF-8 bytes (for a file known to hold none)."""
    if not isinstance(payload, dict):
        raise InputError(f"DiscordChatExporter item: expected an object, got {type(payload).__name__}")
    if "unreadable" in payload:
        raise InputError(str(payload.get("reason") or "unreadable message"))
    message = payload.get("m")
    if check_bytes and has_undecodable(message):
        raise InputError("Discord message: text is not valid UTF-8 (bytes kept escaped in the quarantine)")
    return [discord_message(message, str(payload["channel"]), number=payload.get("n"))]


def _digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode("utf-8", "backslashreplace")).hexdigest()[:16]


@dataclass
class DiscordExportSource:
    """Messages of one exported channel, in export order; every import reads the whole file (no cursor)."""

    export: dict[str, Any]
    batch_size: int = 500
    kind: str = SourceKind.DISCORD
    path: Path | None = None
    notes: list[str] = field(default_factory=list)
    escaped_bytes_possible: bool = True  # see ExportDocument: False skips the per-message byte checks

    def __post_init__(self) -> None:
        where = f"{self.path}: " if self.path else "DiscordChatExporter export: "
        channel = self.export.get("channel")
        if not isinstance(channel, dict):
            raise InputError(f"{where}no 'channel' object; is it a DiscordChatExporter JSON export?")
        if channel.get("id") in (None, "") or isinstance(channel.get("id"), (dict, list)):
            raise InputError(f"{where}the channel has no id, so its messages cannot be filed; export the channel again")
        if not isinstance(self.export.get("messages"), list):
            raise InputError(f"{where}no 'messages' list; is it a DiscordChatExporter JSON export?")

    @classmethod
    def from_file(cls, path: Path, batch_size: int = 500) -> DiscordExportSource:
        """Read ``path``; damaged messages become quarantined items, a file with nothing readable an InputError."""
        document = read_export_file(path)
        export = {**document.members, "messages": document.messages}
        try:
            return cls(export=export, batch_size=batch_size, path=path, notes=document.notes,
                       escaped_bytes_possible=document.escaped_bytes_possible)
        except InputError as exc:
            if not document.notes:
                raise
            raise InputError(f"{exc} (also: {'; '.join(document.notes)})") from exc

    @property
    def channel(self) -> dict[str, Any]:
        return self.export["channel"]

    @property
    def channel_id(self) -> str:
        return str(self.channel["id"])

    @property
    def guild(self) -> dict[str, Any]:
        guild = self.export.get("guild")
        return guild if isinstance(guild, dict) else {}

    @property
    def locator(self) -> str:
        return f"discord:{self.guild.get('id') or 'unknown'}/{self.channel_id}"

    @property
    def name(self) -> str:
        guild = self.guild.get("name") or "Discord"
        return f"{guild} #{self.channel.get('name') or self.channel_id}"

    def _item(self, number: int, message: Any) -> RawItem:
        if isinstance(message, Unreadable):
            payload: dict[str, Any] = {"channel": self.channel_id, "n": number, "unreadable": message.text, "reason": message.reason}
            return RawItem(MESSAGE_KIND, f"{self.channel_id}@{number}:{_digest(message.text)}", payload)
        message_id = message.get("id") if isinstance(message, dict) else None
        if isinstance(message_id, str) and message_id and not (self.escaped_bytes_possible and has_undecodable(message_id)):
            ref = f"{self.channel_id}/{message_id}"
        else:
            ref = f"{self.channel_id}@{number}:{_digest(message)}"
        return RawItem(MESSAGE_KIND, ref, {"channel": self.channel_id, "n": number, "m": message})

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        """Every message of the file, batch by batch; what is already stored is skipped by its natural key."""
        messages = self.export["messages"]
        channel_item = RawItem(CHANNEL_KIND, self.channel_id, self.channel)
        if not messages:
            yield Batch([channel_item])
            return
        for begin in range(0, len(messages), self.batch_size):
            chunk = messages[begin : begin + self.batch_size]
            items = [channel_item] if begin == 0 else []
            items += [self._item(begin + i + 1, m) for i, m in enumerate(chunk)]
            yield Batch(items)

    def normalise(self, item: RawItem) -> list[Record]:
        if item.kind == CHANNEL_KIND:
            return normalise_channel(item.payload)
        if item.kind == MESSAGE_KIND:
            return normalise_message(item.payload, check_bytes=self.escaped_bytes_possible)
        raise InputError(f"DiscordChatExporter source cannot read a {item.kind!r} item")

    def date_range(self) -> tuple[datetime, datetime] | None:
        """The span the export covers: its ``dateRange`` where given, else its first and last message times."""
        times = []
        for message in self.export["messages"]:
            if isinstance(message, dict):
                try:
                    moment = parse_time(message.get("timestamp"))
                except InputError:
                    continue
                if moment is not None:
                    times.append(moment)
        declared = self.export.get("dateRange") if isinstance(self.export.get("dateRange"), dict) else {}
        low, high = _declared(declared, "after"), _declared(declared, "before")
        if low is None and times:
            low = min(times)
        if high is None and times:
            high = max(times)
        return (low, high) if low is not None and high is not None else None

    def unreadable_ids(self) -> int:
        """How many messages have no readable id (their absence from the stored set proves nothing)."""
        return sum(
            1
            for m in self.export["messages"]
            if isinstance(m, Unreadable) or not isinstance(m, dict) or not isinstance(m.get("id"), str)
        )


def _declared(declared: dict[str, Any], key: str) -> datetime | None:
    try:
        return parse_time(declared.get(key))
    except InputError:
        return None


def export_deletions(store: Store, dao: Dao, source: DiscordExportSource) -> int:
    """For an export the operator declares complete: mark deleted the stored messages of its channel, inside its
    date range, that it no longer holds. Returns how many were marked.

    Raises InputError when some messages of the file have no readable id: then a stored message missing from
    the file may only be unreadable, and nothing is marked.
    """
    from sqlmodel import col, select

    from ingest.core.domain import Post, Source, Thread
    from ingest.sources.discord_live import mark_deleted

    unreadable = source.unreadable_ids()
    if unreadable:
        raise InputError(
            f"{source.path or 'the export'}: --complete not applied, {unreadable} message(s) have no readable id, "
            "so a stored message missing from the file may only be unreadable; nothing was marked deleted"
        )
    span = source.date_range()
    if span is None:
        return 0
    low, high = span
    present = {m["id"] for m in source.export["messages"] if isinstance(m, dict)}
    with store.session() as session:
        row = session.exec(
            select(Source).where(Source.dao_id == dao.id, Source.kind == source.kind, Source.locator == source.locator)
        ).first()
        if row is None:
            return 0
        gone = [
            external_id
            for external_id, created in session.exec(
                select(Post.external_id, Post.created_at)
                .join(Thread, col(Thread.id) == Post.thread_id)
                .where(Post.source_id == row.id, Thread.external_id == source.channel_id, ~col(Post.deleted))
            ).all()
            if external_id not in present and created is not None and low <= created <= high
        ]
    return mark_deleted(store, row.id, gone)
