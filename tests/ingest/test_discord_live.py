"""Live Discord through discord.py's real clients against the loopback Discord (REST + gateway), and the CLI."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from ingest.core.domain import Post
from ingest.core.store import Store
from ingest.sources.discord_live import ingest_channel, listen_for_changes, readable_channels
from ingest.sources.recordings import SAMPLE_DIR, load_recording
from tests.discord_loopback import (
    CHANNEL_ID,
    GUILD_ID,
    HIDDEN_CHANNEL_ID,
    LoopbackDiscord,
    discord_message,
    guild_payload,
)

discord = pytest.importorskip("discord")


@pytest.fixture
async def rest(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LoopbackDiscord]:
    from discord.http import Route

    exported = load_recording(SAMPLE_DIR / "discord-aave.json.gz")["messages"][:160]
    server = LoopbackDiscord(messages={CHANNEL_ID: [discord_message(m, i) for i, m in enumerate(exported)]})
    await server.start()
    monkeypatch.setattr(Route, "BASE", server.base)
    yield server
    await server.stop()


@pytest.fixture
async def client(rest: LoopbackDiscord) -> AsyncIterator[Any]:
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


async def test_history_then_edits_and_deletions(
    sqlite_store: Store, rest: LoopbackDiscord, client: Any
) -> None:
    dao = sqlite_store.ensure_dao("aave")
    channels = readable_channels(client)
    assert [c.id for c in channels] == [CHANNEL_ID]  # the #mods channel denies View Channel
    channel = channels[0]

    first = await ingest_channel(sqlite_store, dao, channel, recheck=20)
    non_empty = sum(1 for m in rest.messages[CHANNEL_ID] if m["content"].strip())
    assert first.ingested == non_empty + 1  # the channel thread + every message with text
    assert first.quarantined == 160 - non_empty  # attachment-only messages, each with its reason
    assert rest.history_requests >= 2  # 160 messages: discord.py paged with `before`

    again = await ingest_channel(sqlite_store, dao, channel, recheck=20)
    assert (again.ingested, again.updated) == (0, 0)

    rows = rest.messages[CHANNEL_ID]
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
    sqlite_store: Store, rest: LoopbackDiscord, client: Any
) -> None:
    dao = sqlite_store.ensure_dao("aave")
    channel = readable_channels(client)[0]
    await ingest_channel(sqlite_store, dao, channel)
    listener = listen_for_changes(client, sqlite_store, dao)
    rows = [m for m in rest.messages[CHANNEL_ID] if m["content"].strip()]
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
        {"id": doomed["id"], "channel_id": str(CHANNEL_ID), "guild_id": str(channel.guild.id)}
    )
    import asyncio

    for _ in range(50):
        if len(listener.applied) == 2:
            break
        await asyncio.sleep(0.02)
    texts = _texts(sqlite_store)
    assert texts[target["id"]] == ("edited via gateway", False)
    assert texts[doomed["id"]] == ("", True)


def test_concord_ingest_discord_reads_through_gateway_and_rest(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real `concord ingest discord` command: login over REST, gateway READY/GUILD_CREATE, history, re-runs."""
    import json

    from bots.cli.main import main

    exported = load_recording(SAMPLE_DIR / "discord-aave.json.gz")["messages"][:120]
    server = LoopbackDiscord(
        messages={CHANNEL_ID: [discord_message(m, i) for i, m in enumerate(exported)]},
        token="loopback-bot-token",
    )
    url = f"sqlite:///{tmp_path}/discord.db"
    monkeypatch.setenv("CONCORD_DATABASE_URL", url)
    monkeypatch.setenv("CONCORD_DISCORD__TOKEN", "loopback-bot-token")
    with server.serving():
        # Only settings point discord.py at the loopback Discord (the production hook for REST/gateway proxies).
        monkeypatch.setenv("CONCORD_DISCORD__API_BASE", server.base)
        monkeypatch.setenv("CONCORD_DISCORD__GATEWAY_URL", server.gateway_url)
        # exit 1: the export's 3 attachment-only messages are quarantined (0 would mean every record stored)
        assert main(["ingest", "discord", "--dao", "aave", "--recheck", "20", "--json"]) == 1
        first = json.loads(capsys.readouterr().out)
        assert main(["ingest", "discord", "--dao", "aave", "--recheck", "20", "--json"]) == 1
        second = json.loads(capsys.readouterr().out)

        rows = server.messages[CHANNEL_ID]
        edited, removed = rows[-2], rows[-4]
        edited.update(content="Edited: now in favour", edited_timestamp="2023-07-28T10:00:00+00:00")
        rows.remove(removed)
        assert main(["ingest", "discord", "--dao", "aave", "--recheck", "20", "--json"]) == 1  # re-met, still quarantined
        third = json.loads(capsys.readouterr().out)

        monkeypatch.setenv("CONCORD_DISCORD__TOKEN", "a-revoked-token")
        assert main(["ingest", "discord", "--dao", "aave"]) == 2  # one line on stderr, no traceback
        refused = capsys.readouterr().err

    non_empty = sum(1 for m in exported if m["content"].strip())
    assert len(first) == 1  # #governance only: the bot may not view #mods, so it is not read
    assert first[0]["ingested"] == non_empty + 1 and first[0]["quarantined"] == 120 - non_empty
    assert (second[0]["ingested"], second[0]["updated"]) == (0, 0)
    assert (third[0]["ingested"], third[0]["updated"]) == (0, 2)  # the edit and the deletion
    assert [i["token"] for i in server.identified[:3]] == ["loopback-bot-token"] * 3  # three gateway sessions
    intents = discord.Intents._from_value(server.identified[0]["intents"])
    assert intents.guild_messages and intents.message_content and not intents.members
    assert all(r.authorization == "Bot loopback-bot-token" for r in server.requests[:3])
    assert not any(f"/channels/{HIDDEN_CHANNEL_ID}/" in r.path for r in server.requests)
    store = Store.open(url)
    try:
        texts = _texts(store)
    finally:
        store.close()
    assert texts[edited["id"]] == ("Edited: now in favour", False)
    assert texts[removed["id"]] == ("", True)
    assert refused.startswith("Error: Discord refused the bot token") and "CONCORD_DISCORD__TOKEN" in refused


def test_loopback_events_carry_every_field_discord_documents_as_always_present() -> None:
    from tests.discord_loopback import (
        COMMAND_DATA_FIELDS,
        GUILD_CREATE_FIELDS,
        GUILD_FIELDS,
        INTERACTION_FIELDS,
        ROLE_FIELDS,
        interaction_payload,
    )

    guild = guild_payload()
    assert [f for f in GUILD_FIELDS + GUILD_CREATE_FIELDS if f not in guild] == []
    assert all(f in role for role in guild["roles"] for f in ROLE_FIELDS)
    assert all({"id", "type"} <= set(c) for c in guild["channels"])
    assert all({"roles", "joined_at", "deaf", "mute", "flags"} <= set(m) for m in guild["members"])
    for in_guild in (True, False):
        payload = interaction_payload("status", in_guild=in_guild)
        assert [f for f in INTERACTION_FIELDS if f not in payload] == []
        assert all(f in payload["data"] for f in COMMAND_DATA_FIELDS)
        assert ("member" in payload) is in_guild and ("user" in payload) is not in_guild
        owner = payload["authorizing_integration_owners"]["0"]
        assert owner == (str(GUILD_ID) if in_guild else "0")


async def test_discord_py_reads_the_loopback_guild_create(client: Any) -> None:
    guild = client.get_guild(GUILD_ID)
    assert guild is not None and guild.name == "Test DAO" and guild.preferred_locale.value == "en-US"
    assert {r.name for r in guild.roles} >= {"@everyone", "signer", "delegate"}
