"""A loopback Discord for driving discord.py's real clients: REST API, gateway websocket, payload builders.

One aiohttp server plays Discord for both the ingestion tests (channel history, the live `concord ingest
discord` command) and the bot tests (interaction callbacks and follow-ups):

- REST under ``/api/v10``: ``users/@me`` (checks the bot token), ``oauth2/applications/@me``,
  ``channels/{id}/messages`` (newest first, ``before``/``after``/``limit`` paging, 403 on the hidden channel; POST
  sends a bot message, de-duplicated by an enforced nonce as Discord does),
  ``interactions/{id}/{token}/callback`` and ``webhooks/...`` (replies are recorded for the tests to read).
- A gateway websocket at ``/gateway``: HELLO, heartbeat ACKs, and on IDENTIFY a READY with the guild
  unavailable followed by its GUILD_CREATE, as Discord does. Plain JSON text frames (discord.py only
  decompresses binary frames).

discord.py is pointed at it through ``discord.http.Route.BASE`` (``base``) and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (``gateway_url``): in Concord through the settings
``discord.api_base`` / ``discord.gateway_url``, or by the fixtures directly. ``serving()`` runs the server on its
own event loop in a thread, for tests of synchronous code (the CLI) that starts its own loop.

Messages in the ingestion tests are real Aave #governance messages (the bundled DiscordChatExporter sample)
re-shaped as Discord message objects, with snowflake ids made from their timestamps.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web

__all__ = [
    "APP_ID",
    "BOT_ID",
    "CHANNEL_ID",
    "COMMAND_DATA_FIELDS",
    "GUILD_CREATE_FIELDS",
    "GUILD_FIELDS",
    "GUILD_ID",
    "HIDDEN_CHANNEL_ID",
    "INTERACTION_FIELDS",
    "MEMBER_ROLE_ID",
    "ROLE_FIELDS",
    "SIGNER_ROLE_ID",
    "LoopbackDiscord",
    "Recorded",
    "discord_message",
    "dispatch",
    "guild_payload",
    "interaction_payload",
    "snowflake",
]

BOT_ID = 900000000000000001
APP_ID = 900000000000000002
GUILD_ID = 800000000000000001
CHANNEL_ID = 800000000000000002
SIGNER_ROLE_ID = 800000000000000003
MEMBER_ROLE_ID = 800000000000000004
HIDDEN_CHANNEL_ID = 800000000000000005
VIEW_CHANNEL = 1 << 10
EVERYONE_PERMISSIONS = "104324673"  # view, send, embed, read history, ... (Discord's default @everyone)
SEND_AND_EMBED = (1 << 11) | (1 << 14)  # Send Messages, Embed Links

_ids = itertools.count(700000000000000001)

# Fields Discord documents as always present (no "?" after the name), from discord/discord-api-docs:
# docs/resources/guild.mdx "Guild Structure" and docs/events/gateway-events "Guild Create Extra Fields".
GUILD_FIELDS = (
    "id", "name", "icon", "splash", "discovery_splash", "owner_id", "afk_channel_id", "afk_timeout",
    "verification_level", "default_message_notifications", "explicit_content_filter", "roles", "emojis",
    "features", "mfa_level", "application_id", "system_channel_id", "system_channel_flags", "rules_channel_id",
    "vanity_url_code", "description", "banner", "premium_tier", "preferred_locale", "public_updates_channel_id",
    "nsfw_level", "premium_progress_bar_enabled", "safety_alerts_channel_id", "incidents_data",
)  # fmt: skip
GUILD_CREATE_FIELDS = (
    "joined_at", "large", "member_count", "voice_states", "members", "channels", "threads", "presences",
    "stage_instances", "guild_scheduled_events", "soundboard_sounds",
)  # fmt: skip
ROLE_FIELDS = ("id", "name", "color", "hoist", "position", "permissions", "managed", "mentionable", "flags")
# docs/interactions/receiving-and-responding.mdx "Interaction Structure"; ``data`` is always present on
# application commands and ``locale`` on every type but PING; ``member`` (in a guild) or ``user`` (in a DM).
INTERACTION_FIELDS = (
    "id", "application_id", "type", "data", "token", "version", "app_permissions", "locale", "entitlements",
    "authorizing_integration_owners", "attachment_size_limit",
)  # fmt: skip
COMMAND_DATA_FIELDS = ("id", "name", "type")


@dataclass
class Recorded:
    method: str
    path: str
    json: Any
    authorization: str | None = None


def snowflake(when: str, sequence: int) -> int:
    """A Discord id for a message sent at ``when`` (ISO time), unique by ``sequence``."""
    ms = int(datetime.fromisoformat(when).timestamp() * 1000)
    return ((ms - 1420070400000) << 22) + sequence


def _user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name, "avatar": None, "bot": bot}


def discord_message(exported: dict[str, Any], sequence: int, channel_id: int = CHANNEL_ID) -> dict[str, Any]:
    """A DiscordChatExporter message as the message object Discord's REST API returns."""
    author = exported["author"]
    return {
        "id": str(snowflake(exported["timestamp"], sequence)),
        "channel_id": str(channel_id),
        "type": 0,
        "author": {
            "id": author["id"],
            "username": author["name"],
            "discriminator": author.get("discriminator", "0"),
            "global_name": author.get("nickname"),
            "avatar": None,
        },
        "content": exported["content"],
        "timestamp": exported["timestamp"],
        "edited_timestamp": None,
        "attachments": [],
        "embeds": [],
        "mentions": [],
        "mention_roles": [],
        "pinned": False,
        "mention_everyone": False,
        "tts": False,
        "flags": 0,
    }


def _reply_message(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(next(_ids)), "channel_id": str(CHANNEL_ID), "type": 0, "content": body.get("content", ""),
        "author": _user(APP_ID, "concord", bot=True), "embeds": body.get("embeds", []), "attachments": [],
        "mentions": [], "mention_roles": [], "pinned": False, "mention_everyone": False, "tts": False,
        "timestamp": "2026-01-01T00:00:00+00:00", "edited_timestamp": None, "flags": body.get("flags", 0),
        "components": [],
    }


def guild_payload() -> dict[str, Any]:
    """A GUILD_CREATE payload: #governance (readable), #mods (hidden from @everyone), signer and member roles, the bot."""
    role = {
        "color": 0, "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False, "managed": False, "mentionable": False, "permissions": "0", "position": 1, "flags": 0,
        "icon": None, "unicode_emoji": None,
    }  # fmt: skip
    return {
        "id": str(GUILD_ID), "name": "Test DAO", "icon": None, "splash": None, "discovery_splash": None,
        "owner_id": "1", "afk_channel_id": None, "afk_timeout": 300, "verification_level": 0,
        "default_message_notifications": 1, "explicit_content_filter": 0, "mfa_level": 0, "application_id": None,
        "system_channel_id": None, "system_channel_flags": 0, "rules_channel_id": None, "vanity_url_code": None,
        "description": None, "banner": None, "premium_tier": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": None, "nsfw_level": 0, "premium_progress_bar_enabled": False,
        "safety_alerts_channel_id": None, "incidents_data": None,
        "joined_at": "2024-01-01T00:00:00+00:00", "large": False, "unavailable": False,
        "member_count": 2, "features": [],
        "roles": [
            {**role, "id": str(GUILD_ID), "name": "@everyone", "position": 0, "permissions": EVERYONE_PERMISSIONS},
            {**role, "id": str(SIGNER_ROLE_ID), "name": "signer"},
            {**role, "id": str(MEMBER_ROLE_ID), "name": "delegate"},
        ],
        "channels": [
            {"id": str(CHANNEL_ID), "type": 0, "name": "governance", "position": 0, "permission_overwrites": []},
            {
                "id": str(HIDDEN_CHANNEL_ID), "type": 0, "name": "mods", "position": 1,
                "permission_overwrites": [{"id": str(GUILD_ID), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)}],
            },
        ],
        "members": [
            {
                "user": _user(BOT_ID, "concord", bot=True), "roles": [], "joined_at": "2024-01-01T00:00:00+00:00",
                "deaf": False, "mute": False, "flags": 0,
            }
        ],
        "emojis": [], "stickers": [], "voice_states": [], "presences": [], "threads": [],
        "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
    }


def _json(data: Any, *, status: int = 200) -> web.Response:
    # discord.py reads JSON only when Content-Type is exactly application/json (no charset), as Discord sends it.
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


@dataclass
class LoopbackDiscord:
    """The server and what it received. ``token`` (if set) is the only bot token REST and gateway accept."""

    messages: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    token: str | None = None
    requests: list[Recorded] = field(default_factory=list)
    identified: list[dict[str, Any]] = field(default_factory=list)
    history_requests: int = 0
    base: str = ""
    gateway_url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}/api/v10"
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @contextmanager
    def serving(self) -> Iterator[LoopbackDiscord]:
        """Run the server on its own event loop in a thread (for synchronous callers such as the CLI)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=30)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.close()

    # --- REST ---------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body and request.content_type == "application/json" else None
        path = "/" + request.match_info["tail"]
        self.requests.append(Recorded(request.method, path, body, request.headers.get("Authorization")))
        if path == "/users/@me":
            if self.token is not None and request.headers.get("Authorization") != f"Bot {self.token}":
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
            return _json(_user(BOT_ID, "concord", bot=True))
        if path == "/oauth2/applications/@me":
            return _json({
                "id": str(APP_ID), "name": "Concord", "description": "", "icon": None, "bot_public": False,
                "bot_require_code_grant": False, "verify_key": "00", "owner": _user(1, "owner"), "flags": 0,
            })
        if path.startswith("/channels/") and path.endswith("/messages") and request.method == "GET":
            return self._history(int(path.split("/")[2]), request)
        if path.startswith("/channels/") and path.endswith("/messages") and request.method == "POST":
            return self._create(int(path.split("/")[2]), body or {})
        if path.startswith("/interactions/") and path.endswith("/callback"):
            return _json({"interaction": {"id": path.split("/")[2], "type": 2}})
        if path.startswith("/webhooks/"):
            return _json(_reply_message(body or {}))
        return _json({"message": f"loopback Discord has no route {request.method} {path}", "code": 0}, status=404)

    def _history(self, channel: int, request: web.Request) -> web.Response:
        self.history_requests += 1
        if channel == HIDDEN_CHANNEL_ID:
            return _json({"message": "Missing Access", "code": 50001}, status=403)
        rows = sorted(self.messages.get(channel, []), key=lambda m: int(m["id"]), reverse=True)
        limit = int(request.query.get("limit", 50))
        if "before" in request.query:
            rows = [m for m in rows if int(m["id"]) < int(request.query["before"])]
        if "after" in request.query:
            rows = [m for m in rows if int(m["id"]) > int(request.query["after"])][-limit:]
        return _json(rows[:limit])

    def _create(self, channel: int, body: dict[str, Any]) -> web.Response:
        """A bot message sent to a channel; an enforced nonce already used in the channel returns that message (as Discord does)."""
        rows = self.messages.setdefault(channel, [])
        if body.get("enforce_nonce") and body.get("nonce"):
            for message in rows:
                if message.get("nonce") == body["nonce"]:
                    return _json(message)
        message = {**_reply_message(body), "channel_id": str(channel), "nonce": body.get("nonce")}
        rows.append(message)
        return _json(message)

    def posted(self, channel: int = CHANNEL_ID) -> list[Recorded]:
        """The POST requests that sent messages to ``channel`` (repeats included)."""
        return [r for r in self.requests if r.method == "POST" and r.path == f"/channels/{channel}/messages"]

    def replies(self, token: str) -> list[dict[str, Any]]:
        """The JSON bodies the bot sent for the interaction with ``token``: the callback, then follow-ups."""
        out = []
        for rec in self.requests:
            if f"/{token}" not in rec.path or rec.method == "GET":
                continue
            if rec.path.endswith("/callback"):
                out.append({"kind": "callback", "type": rec.json["type"], **(rec.json.get("data") or {})})
            else:
                out.append({"kind": "followup", **(rec.json or {})})
        return out

    # --- gateway ------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sequence = 0

        async def send(op: int, data: Any = None, event: str | None = None) -> None:
            nonlocal sequence
            payload: dict[str, Any] = {"op": op, "d": data, "s": None, "t": None}
            if event is not None:
                sequence += 1
                payload.update(s=sequence, t=event)
            await ws.send_str(json.dumps(payload))

        await send(10, {"heartbeat_interval": 41250})  # HELLO
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            if frame["op"] == 1:  # HEARTBEAT
                await send(11)
            elif frame["op"] == 2:  # IDENTIFY
                self.identified.append(frame["d"])
                if self.token is not None and frame["d"].get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                await send(0, self._ready(), "READY")
                await send(0, guild_payload(), "GUILD_CREATE")
        return ws

    def _ready(self) -> dict[str, Any]:
        return {
            "v": 10,
            "user": _user(BOT_ID, "concord", bot=True),
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": "loopback-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": 0},
        }


# --- interactions (bot tests) -----------------------------------------------


def interaction_payload(
    name: str,
    options: dict[str, Any] | None = None,
    *,
    user_id: int = 123456789012345678,
    roles: list[int] | None = None,
    app_permissions: int = SEND_AND_EMBED,
    in_guild: bool = True,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload for the slash command ``name`` as Discord sends it."""
    option_types = {str: 3, int: 4, bool: 5}
    data: dict[str, Any] = {
        "id": str(next(_ids)), "name": name, "type": 1,
        "options": [{"name": k, "type": option_types[type(v)], "value": v} for k, v in (options or {}).items()],
    }
    token = f"tok{next(_ids)}"
    payload: dict[str, Any] = {
        "id": str(next(_ids)), "application_id": str(APP_ID), "type": 2, "data": data, "token": token,
        "version": 1, "locale": "en-US", "app_permissions": str(app_permissions), "attachment_size_limit": 8388608,
        "channel": {"id": str(CHANNEL_ID), "type": 0 if in_guild else 1, "name": "governance"},
        "channel_id": str(CHANNEL_ID), "entitlements": [],
        # Installed to the guild: the key GUILD_INSTALL ("0") holds the guild id, or "0" in a DM with the bot.
        "authorizing_integration_owners": {"0": str(GUILD_ID) if in_guild else "0"},
        "context": 0 if in_guild else 1,
    }
    user = _user(user_id, f"member{user_id % 1000}")
    if in_guild:
        payload["guild_id"] = str(GUILD_ID)
        payload["guild_locale"] = "en-US"
        payload["member"] = {
            "user": user, "roles": [str(r) for r in (roles or [])], "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False, "mute": False, "flags": 0, "permissions": EVERYONE_PERMISSIONS,
        }
    else:
        payload["user"] = user
        payload["channel"] = {"id": str(CHANNEL_ID), "type": 1, "recipients": [user]}
    return payload


async def dispatch(bot: Any, payload: dict[str, Any]) -> None:
    """Feed ``payload`` to discord.py's gateway parser and wait for the command task it starts."""
    bot._connection.parse_interaction_create(payload)
    for _ in range(3):
        await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks() if t.get_name().startswith("CommandTree-invoker")]
    if pending:
        await asyncio.wait_for(asyncio.gather(*pending), timeout=180)  # a guard against a hung command, not a speed bound
