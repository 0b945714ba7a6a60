"""Live Discord: a discord.py client reads the history of the channels it may read; edits and deletions count.

``ingest_channel`` walks a channel newest-first down to the stored cursor (the last message id read), plus
a re-check window of ``recheck`` older messages: edited ones are updated (content hash), and stored ones
missing from the window are marked deleted (text blanked). ``listen_for_changes`` applies edits and
deletions as they happen. Messages land in the same source as a DiscordChatExporter import of the channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from ingest.core.domain import Dao, Post, SourceKind, Thread
from ingest.core.errors import ConfigError, InputError
from ingest.core.store import Store
from ingest.normalise.discord_export import discord_message
from ingest.pipeline import Batch, IngestSummary, RawItem, run_ingestion
from ingest.records import Record, ThreadRecord
from ingest.writer import mark_post_deleted, write_records

if TYPE_CHECKING:  # pragma: no cover
    import discord

__all__ = [
    "DiscordHistorySource",
    "discord_endpoints",
    "ingest_channel",
    "listen_for_changes",
    "mark_deleted",
    "message_payload",
    "read_with_bot",
    "readable_channels",
]


def message_payload(message: discord.Message) -> dict[str, Any]:
    """A discord.py message in DiscordChatExporter's JSON shape, so one normaliser serves both."""
    author = message.author
    return {
        "id": str(message.id),
        "type": str(message.type),
        "content": message.content,
        "timestamp": message.created_at.isoformat(),
        "timestampEdited": message.edited_at.isoformat() if message.edited_at else None,
        "author": {
            "id": str(author.id),
            "name": author.name,
            "discriminator": str(getattr(author, "discriminator", "0") or "0"),
            "nickname": getattr(author, "nick", None) or getattr(author, "global_name", None),
            "isBot": bool(author.bot),
        },
    }


def _locator(guild_id: int | str, channel_id: int | str) -> str:
    return f"discord:{guild_id}/{channel_id}"


@dataclass
class DiscordHistorySource:
    """Messages already read from one channel (oldest first); the cursor is the newest message id."""

    guild_id: str
    channel: dict[str, Any]
    messages: list[dict[str, Any]]
    after: int | None = None
    guild_name: str = "Discord"
    batch_size: int = 500
    kind: str = SourceKind.DISCORD

    @property
    def locator(self) -> str:
        return _locator(self.guild_id, self.channel["id"])

    @property
    def name(self) -> str:
        return f"{self.guild_name} #{self.channel.get('name', self.channel['id'])}"

    @property
    def stream(self) -> str:
        return f"after:{self.channel['id']}"

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        items = [RawItem("discord-channel", str(self.channel["id"]), self.channel)]
        for start in range(0, max(len(self.messages), 1), self.batch_size):
            chunk = self.messages[start : start + self.batch_size]
            items += [RawItem("discord-message", f"{self.channel['id']}/{m.get('id')}", m) for m in chunk]
            newest = max([int(m["id"]) for m in chunk if str(m.get("id", "")).isdigit()] + [self.after or 0])
            yield Batch(items, (self.stream, str(newest)) if newest else None)
            items = []

    def normalise(self, item: RawItem) -> list[Record]:
        if item.kind == "discord-channel":
            return [
                ThreadRecord(
                    external_id=str(item.payload["id"]),
                    title=f"#{item.payload.get('name', '')}",
                    category=item.payload.get("category"),
                )
            ]
        if item.kind == "discord-message":
            return [discord_message(item.payload, str(self.channel["id"]))]
        raise InputError(f"Discord source cannot read a {item.kind!r} item")


def readable_channels(client: discord.Client) -> list[discord.TextChannel]:
    """Text channels in every guild where the bot may read messages and their history."""
    found = []
    for guild in client.guilds:
        me = guild.me
        for channel in guild.text_channels:
            permissions = channel.permissions_for(me)
            if permissions.read_messages and permissions.read_message_history:
                found.append(channel)
    return found


async def _read(
    channel: discord.TextChannel, after: int | None, recheck: int
) -> tuple[list[discord.Message], list[discord.Message]]:
    new: list[discord.Message] = []
    window: list[discord.Message] = []
    async for message in channel.history(limit=None):  # newest first, paging with `before`
        if after is not None and message.id <= after:
            if len(window) >= recheck:
                break
            window.append(message)
        else:
            new.append(message)
    return list(reversed(new)), list(reversed(window))


async def ingest_channel(
    store: Store, dao: Dao, channel: discord.TextChannel, *, recheck: int = 50
) -> IngestSummary:
    """Read what is new in ``channel`` (and re-check the last ``recheck`` messages) into the store."""
    permissions = channel.permissions_for(channel.guild.me)
    if not (permissions.read_messages and permissions.read_message_history):
        raise InputError(
            f"The bot may not read the history of #{channel.name} ({channel.id}); grant Read Message History or leave it out."
        )
    meta = {
        "id": str(channel.id),
        "name": channel.name,
        "category": channel.category.name if channel.category else None,
    }
    source_row = store.ensure_source(
        dao,
        SourceKind.DISCORD,
        _locator(channel.guild.id, channel.id),
        f"{channel.guild.name} #{channel.name}",
    )
    stored = store.get_cursor(source_row.id, f"after:{channel.id}")  # type: ignore[arg-type]
    after = int(stored) if stored else None
    new, window = await _read(channel, after, recheck)
    source = DiscordHistorySource(
        guild_id=str(channel.guild.id),
        channel=meta,
        messages=[message_payload(m) for m in window + new],
        after=after,
        guild_name=channel.guild.name,
    )
    summary = await asyncio.to_thread(run_ingestion, store, dao, source)
    if window and after is not None:
        seen = {str(m.id) for m in window}
        summary.updated += await asyncio.to_thread(
            _deleted_in_window, store, source_row.id, str(channel.id), window[0].id, after, seen
        )
    return summary


def _deleted_in_window(
    store: Store, source_id: int | None, channel_id: str, low: int, high: int, seen: set[str]
) -> int:
    with store.session() as session:
        rows = session.exec(
            select(Post.external_id)
            .join(Thread, col(Thread.id) == Post.thread_id)
            .where(Post.source_id == source_id, Thread.external_id == channel_id, ~col(Post.deleted))
        ).all()
    gone = [r for r in rows if r.isdigit() and low <= int(r) <= high and r not in seen]
    return mark_deleted(store, source_id, gone)


def mark_deleted(store: Store, source_id: int | None, external_ids: list[str]) -> int:
    """Honour deletions: the post stays (threads keep their shape) but its text is gone and it is flagged."""
    if not external_ids:
        return 0
    with store.session() as session:
        posts = session.exec(
            select(Post).where(
                Post.source_id == source_id, col(Post.external_id).in_(external_ids), ~col(Post.deleted)
            )
        ).all()
        for post in posts:
            mark_post_deleted(post)
            session.add(post)
        return len(posts)


@dataclass
class _Listener:
    store: Store
    dao: Dao
    applied: list[str] = field(default_factory=list)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        data = payload.data
        if "content" not in data or payload.guild_id is None:
            return
        source = self.store.ensure_source(
            self.dao, SourceKind.DISCORD, _locator(payload.guild_id, payload.channel_id)
        )
        message = payload.message or payload.cached_message
        record_payload = (
            message_payload(message)
            if message is not None
            else {
                "id": str(payload.message_id),
                "content": data.get("content"),
                "timestamp": data.get("timestamp"),
                "timestampEdited": data.get("edited_timestamp"),
                "author": {
                    "id": str((data.get("author") or {}).get("id")),
                    "name": (data.get("author") or {}).get("username", "unknown"),
                },
            }
        )
        record = discord_message(record_payload, str(payload.channel_id))

        def write() -> None:
            with self.store.session() as session:
                write_records(session, source, [record])

        await asyncio.to_thread(write)
        self.applied.append(f"edit:{payload.message_id}")

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is None:
            return
        source = self.store.ensure_source(
            self.dao, SourceKind.DISCORD, _locator(payload.guild_id, payload.channel_id)
        )
        await asyncio.to_thread(mark_deleted, self.store, source.id, [str(payload.message_id)])
        self.applied.append(f"delete:{payload.message_id}")


def listen_for_changes(client: discord.Client, store: Store, dao: Dao) -> _Listener:
    """Apply message edits and deletions to the store as the gateway reports them."""
    listener = _Listener(store, dao)
    for name in ("on_raw_message_edit", "on_raw_message_delete"):
        handler = getattr(listener, name)
        if hasattr(client, "add_listener"):  # commands.Bot: many listeners per event
            client.add_listener(handler, name)
            continue
        previous = getattr(client, name, None)  # plain Client: one handler per event, so chain to the old one

        async def chained(payload: Any, handler: Any = handler, previous: Any = previous) -> None:
            if previous is not None:
                await previous(payload)
            await handler(payload)

        setattr(client, name, chained)
    return listener


@contextmanager
def discord_endpoints(api_base: str | None = None, gateway_url: str | None = None) -> Iterator[None]:
    """Point discord.py at another REST base and/or gateway for the duration of a run, then restore Discord's.

    For a REST proxy (nirn-proxy, twilight-http-proxy: ``http://proxy:8080/api/v10``), a gateway proxy, or a
    loopback Discord in tests. discord.py keeps both addresses on its classes (``Route.BASE``,
    ``DiscordWebSocket.DEFAULT_GATEWAY``), so they are process-wide while the block runs.
    """
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    if api_base is not None and not api_base.rstrip("/").split("/")[-1].startswith("v"):
        raise ConfigError(
            f"discord.api_base {api_base!r} must end with the API version, e.g. http://127.0.0.1:8080/api/v10"
        )
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    try:
        if api_base:
            Route.BASE = api_base.rstrip("/")
        if gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


async def read_with_bot(
    token: str,
    store: Store,
    dao: Dao,
    *,
    channel_ids: set[int] | None = None,
    recheck: int = 50,
    api_base: str | None = None,
    gateway_url: str | None = None,
) -> list[IngestSummary]:
    """Log in as a bot, read every readable channel (or only ``channel_ids``) once, then disconnect.

    ``api_base`` / ``gateway_url`` (settings ``discord.api_base`` / ``discord.gateway_url``) route the REST calls
    and the gateway connection through a proxy instead of Discord (see ``discord_endpoints``).
    """
    try:
        import discord
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError("discord.py is not installed: pip install 'concord[discord]'") from exc
    with discord_endpoints(api_base, gateway_url):
        try:
            return await _read_once(discord, token, store, dao, channel_ids=channel_ids, recheck=recheck)
        except discord.PrivilegedIntentsRequired as exc:
            raise ConfigError(
                "Discord refused the Message Content intent: enable 'Message Content Intent' for the bot "
                "in the Discord developer portal (Bot -> Privileged Gateway Intents)."
            ) from exc
        except discord.LoginFailure as exc:
            raise ConfigError(
                f"Discord refused the bot token ({exc}): set CONCORD_DISCORD__TOKEN to the bot's token from the "
                "developer portal (Bot -> Reset Token)."
            ) from exc


async def _read_once(
    discord: Any,
    token: str,
    store: Store,
    dao: Dao,
    *,
    channel_ids: set[int] | None,
    recheck: int,
) -> list[IngestSummary]:
    """One gateway session: on READY read the channels, then close (``client.start`` returns)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = (
        True  # privileged: enable "Message Content Intent" for the bot in the developer portal
    )
    client = discord.Client(intents=intents)
    summaries: list[IngestSummary] = []
    failures: list[BaseException] = []

    async def on_ready() -> None:
        try:
            for channel in readable_channels(client):
                if channel_ids is None or channel.id in channel_ids:
                    summaries.append(await ingest_channel(store, dao, channel, recheck=recheck))
        except BaseException as exc:  # noqa: BLE001 - re-raised after the client is closed
            failures.append(exc)
        finally:
            await client.close()

    client.event(on_ready)
    try:
        await client.start(token)
    finally:
        if not client.is_closed():
            await client.close()  # a refused login leaves the HTTP session open otherwise
    if failures:
        raise failures[0]
    return summaries
