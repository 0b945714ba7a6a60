"""A loopback Discord REST API serving channel history, for driving discord.py's real HTTP client.

Messages are real Aave #governance messages (the bundled DiscordChatExporter sample) re-shaped as Discord's
message objects, with snowflake ids made from their timestamps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

GUILD_ID = 810000000000000001
BOT_ID = 810000000000000002
OPEN_CHANNEL = 810000000000000003
HIDDEN_CHANNEL = 810000000000000004
VIEW_CHANNEL = 1 << 10


def snowflake(when: str, sequence: int) -> int:
    ms = int(datetime.fromisoformat(when).timestamp() * 1000)
    return ((ms - 1420070400000) << 22) + sequence


def discord_message(
    exported: dict[str, Any], sequence: int, channel_id: int = OPEN_CHANNEL
) -> dict[str, Any]:
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


def guild_payload() -> dict[str, Any]:
    role = {"color": 0, "hoist": False, "managed": False, "mentionable": False, "position": 0}
    return {
        "id": str(GUILD_ID),
        "name": "Aave Community",
        "owner_id": "1",
        "member_count": 1,
        "features": [],
        "roles": [{**role, "id": str(GUILD_ID), "name": "@everyone", "permissions": "104324673"}],
        "channels": [
            {
                "id": str(OPEN_CHANNEL),
                "type": 0,
                "name": "governance",
                "position": 0,
                "permission_overwrites": [],
            },
            {
                "id": str(HIDDEN_CHANNEL),
                "type": 0,
                "name": "mods",
                "position": 1,
                "permission_overwrites": [
                    {"id": str(GUILD_ID), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)}
                ],
            },
        ],
        "members": [
            {
                "user": {
                    "id": str(BOT_ID),
                    "username": "concord",
                    "discriminator": "0",
                    "bot": True,
                    "avatar": None,
                },
                "roles": [],
                "joined_at": "2024-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
        ],
        "emojis": [],
        "stickers": [],
        "voice_states": [],
        "presences": [],
        "threads": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py decodes only an exact "application/json" content type, as Discord sends it
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


@dataclass
class DiscordRest:
    """GET /channels/{id}/messages (before/after/limit, newest first) and /users/@me."""

    messages: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    history_requests: int = 0
    base: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._application)
        app.router.add_get("/api/v10/channels/{channel}/messages", self._history)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}/api/v10"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _me(self, _request: web.Request) -> web.Response:
        return _json(
            {"id": str(BOT_ID), "username": "concord", "discriminator": "0", "bot": True, "avatar": None}
        )

    async def _application(self, _request: web.Request) -> web.Response:
        owner = {"id": "1", "username": "owner", "discriminator": "0", "avatar": None}
        return _json(
            {
                "id": str(BOT_ID),
                "name": "Concord",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "00",
                "owner": owner,
                "flags": 0,
            }
        )

    async def _history(self, request: web.Request) -> web.Response:
        self.history_requests += 1
        channel = int(request.match_info["channel"])
        if channel == HIDDEN_CHANNEL:
            return _json({"message": "Missing Access", "code": 50001}, status=403)
        rows = sorted(self.messages.get(channel, []), key=lambda m: int(m["id"]), reverse=True)
        limit = int(request.query.get("limit", 50))
        if "before" in request.query:
            rows = [m for m in rows if int(m["id"]) < int(request.query["before"])]
        if "after" in request.query:
            rows = [m for m in rows if int(m["id"]) > int(request.query["after"])][-limit:]
        return _json(rows[:limit])
