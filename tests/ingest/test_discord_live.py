"""Live Discord history through discord.py's real HTTP client against a loopback Discord REST API."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from ingest.domain import Post
from ingest.sources.discord_live import ingest_channel, listen_for_changes, readable_channels
from ingest.sources.recordings import SAMPLE_DIR, load_recording
from ingest.store import Store
from tests.ingest.discord_rest import OPEN_CHANNEL, DiscordRest, discord_message, guild_payload

discord = pytest.importorskip("discord")


@pytest.fixture
async def rest(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordRest]:
    from discord.http import Route

    exported = load_recording(SAMPLE_DIR / "discord-aave.json.gz")["messages"][:160]
    server = DiscordRest(messages={OPEN_CHANNEL: [discord_message(m, i) for i, m in enumerate(exported)]})
    await server.start()
    monkeypatch.setattr(Route, "BASE", server.base)
    yield server
    await server.stop()


@pytest.fixture
async def client(rest: DiscordRest) -> AsyncIterator[Any]:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    bot = discord.Client(intents=intents)
    await bot.login("test-token-not-a-secret")
    bot._connection._add_guild_from_data(guild_payload())
    yield bot
    await bot.close()


def _texts(store: Store) -> dict[str, tuple[str, bool]]:
    with store.session() as session:
        return {p.external_id: (p.text, p.deleted) for p in session.exec(select(Post))}


async def test_history_then_edits_and_deletions(sqlite_store: Store, rest: DiscordRest, client: Any) -> None:
    dao = sqlite_store.ensure_dao("aave")
    channels = readable_channels(client)
    assert [c.id for c in channels] == [OPEN_CHANNEL]  # the #mods channel denies View Channel
    channel = channels[0]

    first = await ingest_channel(sqlite_store, dao, channel, recheck=20)
    non_empty = sum(1 for m in rest.messages[OPEN_CHANNEL] if m["content"].strip())
    assert first.ingested == non_empty + 1  # the channel thread + every message with text
    assert first.quarantined == 160 - non_empty  # attachment-only messages, each with its reason
    assert rest.history_requests >= 2  # 160 messages: discord.py paged with `before`

    again = await ingest_channel(sqlite_store, dao, channel, recheck=20)
    assert (again.ingested, again.updated) == (0, 0)

    rows = rest.messages[OPEN_CHANNEL]
    edited, removed = rows[-3], rows[-5]
    edited.update(content="Edited: I now support the proposal", edited_timestamp="2023-07-28T10:00:00+00:00")
    rows.remove(removed)
    newest = copy.deepcopy(rows[-1])
    newest.update(id=str(int(newest["id"]) + 1000), content="A new message after the first read")
    rows.append(newest)
    third = await ingest_channel(sqlite_store, dao, channel, recheck=20)
    assert third.ingested == 1 and third.updated == 2
    texts = _texts(sqlite_store)
    assert texts[edited["id"]] == ("Edited: I now support the proposal", False)
    assert texts[removed["id"]] == ("", True)
    assert texts[newest["id"]][0] == "A new message after the first read"


async def test_gateway_edits_and_deletes_are_applied(
    sqlite_store: Store, rest: DiscordRest, client: Any
) -> None:
    dao = sqlite_store.ensure_dao("aave")
    channel = readable_channels(client)[0]
    await ingest_channel(sqlite_store, dao, channel)
    listener = listen_for_changes(client, sqlite_store, dao)
    rows = [m for m in rest.messages[OPEN_CHANNEL] if m["content"].strip()]
    target, doomed = rows[10], rows[11]
    client._connection.parse_message_update(
        {
            **target,
            "guild_id": str(channel.guild.id),
            "content": "edited via gateway",
            "edited_timestamp": "2023-07-28T10:00:00+00:00",
        }
    )
    client._connection.parse_message_delete(
        {"id": doomed["id"], "channel_id": str(OPEN_CHANNEL), "guild_id": str(channel.guild.id)}
    )
    import asyncio

    for _ in range(50):
        if len(listener.applied) == 2:
            break
        await asyncio.sleep(0.02)
    texts = _texts(sqlite_store)
    assert texts[target["id"]] == ("edited via gateway", False)
    assert texts[doomed["id"]] == ("", True)
