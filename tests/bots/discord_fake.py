"""A loopback stand-in for Discord's REST API, and gateway payloads, for driving the real bot.

discord.py's own HTTP client and webhook adapter talk to this server (``Route.BASE`` points at
it), so every reply the bot makes is serialised by discord.py exactly as it would be for
Discord, and recorded here for the tests to read. Interactions enter through discord.py's own
gateway parser (``ConnectionState.parse_interaction_create``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 900000000000000001
APP_ID = 900000000000000002
GUILD_ID = 800000000000000001
CHANNEL_ID = 800000000000000002
SIGNER_ROLE_ID = 800000000000000003
MEMBER_ROLE_ID = 800000000000000004

_ids = itertools.count(700000000000000001)


@dataclass
class Recorded:
    method: str
    path: str
    json: Any


@dataclass
class FakeDiscord:
    """The server and what it received."""

    requests: list[Recorded] = field(default_factory=list)
    base: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}/api/v10"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body and request.content_type == "application/json" else None
        path = "/" + request.match_info["tail"]
        self.requests.append(Recorded(request.method, path, body))
        if path == "/users/@me":
            return _json(_user(BOT_ID, "concord", bot=True))
        if path == "/oauth2/applications/@me":
            return _json({
                "id": str(APP_ID), "name": "Concord", "description": "", "icon": None, "bot_public": False,
                "bot_require_code_grant": False, "verify_key": "00", "owner": _user(1, "owner"), "flags": 0,
            })
        if path.startswith("/interactions/") and path.endswith("/callback"):
            return _json({"interaction": {"id": path.split("/")[2], "type": 2}})
        if path.startswith("/webhooks/"):
            return _json(_message(body or {}))
        return _json({"message": f"fake Discord has no route {path}", "code": 0}, status=404)

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


def _json(data: Any, *, status: int = 200) -> web.Response:
    # discord.py reads JSON only when Content-Type is exactly application/json (no charset).
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name, "avatar": None, "bot": bot}


def _message(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(next(_ids)), "channel_id": str(CHANNEL_ID), "type": 0, "content": body.get("content", ""),
        "author": _user(APP_ID, "concord", bot=True), "embeds": body.get("embeds", []), "attachments": [],
        "mentions": [], "mention_roles": [], "pinned": False, "mention_everyone": False, "tts": False,
        "timestamp": "2026-01-01T00:00:00+00:00", "edited_timestamp": None, "flags": body.get("flags", 0),
        "components": [],
    }


def guild_payload() -> dict[str, Any]:
    """A GUILD_CREATE payload: one text channel, the signer role and a member role."""
    role = {"color": 0, "hoist": False, "managed": False, "mentionable": False, "permissions": "0", "position": 1}
    return {
        "id": str(GUILD_ID), "name": "Test DAO", "owner_id": "1", "member_count": 2, "features": [],
        "roles": [
            {**role, "id": str(GUILD_ID), "name": "@everyone", "position": 0, "permissions": "104324673"},
            {**role, "id": str(SIGNER_ROLE_ID), "name": "signer"},
            {**role, "id": str(MEMBER_ROLE_ID), "name": "delegate"},
        ],
        "channels": [{"id": str(CHANNEL_ID), "type": 0, "name": "governance", "position": 0, "permission_overwrites": []}],
        "members": [], "emojis": [], "stickers": [], "voice_states": [], "presences": [], "threads": [],
        "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
    }


SEND_AND_EMBED = (1 << 11) | (1 << 14)  # Send Messages, Embed Links


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
    }
    user = _user(user_id, f"member{user_id % 1000}")
    if in_guild:
        payload["guild_id"] = str(GUILD_ID)
        payload["guild_locale"] = "en-US"
        payload["member"] = {
            "user": user, "roles": [str(r) for r in (roles or [])], "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False, "mute": False, "flags": 0, "permissions": "104324673",
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
        await asyncio.wait_for(asyncio.gather(*pending), timeout=30)
