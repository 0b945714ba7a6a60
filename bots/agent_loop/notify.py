"""Where the agent speaks: a small :class:`Notifier` protocol, Discord over REST, and Discourse replies.

Every message carries its step key as a marker, so that after a kill the agent can look for the message it
may already have sent (:meth:`Notifier.find`) instead of sending it twice. Discord also gets the key as an
enforced nonce, which Discord itself de-duplicates.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

import httpx

from ingest.core.errors import ConcordError

__all__ = ["DiscordRestNotifier", "DiscourseReplier", "Notifier", "NotifyError", "marker"]

DISCORD_API = "https://discord.com/api/v10"


class NotifyError(ConcordError, RuntimeError):
    """A message could not be sent or looked up; the message names the service and the status."""


def marker(step_key: str) -> str:
    """The short tag a message carries for its step key."""
    return "concord:" + hashlib.sha256(step_key.encode()).hexdigest()[:16]


class Notifier(Protocol):
    """Posts a message to a channel (or topic) once per step key."""

    def post(self, channel: str, content: str, *, step_key: str, mention_role: int | None = None) -> dict[str, Any]: ...

    def find(self, channel: str, *, step_key: str) -> dict[str, Any] | None: ...


class DiscordRestNotifier:
    """Discord's REST API (``discord.api_base`` or discord.com), authenticated as the bot."""

    def __init__(self, token: str, *, api_base: str | None = None, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base = (api_base or DISCORD_API).rstrip("/")
        self._client = httpx.Client(headers={"Authorization": f"Bot {token}"}, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, self.base + path, **kwargs)
        except httpx.HTTPError as exc:
            raise NotifyError(f"Discord is unreachable at {self.base} ({exc}); check discord.api_base and the network.") from exc
        if response.status_code >= 400:
            raise NotifyError(f"Discord refused {method} {path}: HTTP {response.status_code} {response.text[:200]}. "
                              "Check the bot token and its permission to send messages in that channel.")
        return response.json()

    def post(self, channel: str, content: str, *, step_key: str, mention_role: int | None = None) -> dict[str, Any]:
        tag = marker(step_key)
        body: dict[str, Any] = {
            "content": f"{content}\n-# {tag}",
            "nonce": tag[-16:],
            "enforce_nonce": True,
            "allowed_mentions": {"parse": [], "roles": [str(mention_role)] if mention_role else []},
        }
        sent = self._call("POST", f"/channels/{channel}/messages", json=body)
        return {"channel": channel, "message_id": str(sent.get("id", "")), "marker": tag}

    def find(self, channel: str, *, step_key: str) -> dict[str, Any] | None:
        tag = marker(step_key)
        for message in self._call("GET", f"/channels/{channel}/messages", params={"limit": 100}):
            if tag in str(message.get("content", "")):
                return {"channel": channel, "message_id": str(message.get("id", "")), "marker": tag}
        return None


class DiscourseReplier:
    """Replies in a forum topic with a Discourse User API key (channel = the topic id)."""

    def __init__(self, base_url: str, user_api_key: str, *, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base = base_url.rstrip("/")
        self._client = httpx.Client(headers={"User-Api-Key": user_api_key, "Accept": "application/json"},
                                    timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, self.base + path, **kwargs)
        except httpx.HTTPError as exc:
            raise NotifyError(f"The forum {self.base} is unreachable ({exc}).") from exc
        if response.status_code >= 400:
            raise NotifyError(f"The forum refused {method} {path}: HTTP {response.status_code}. Check the User API key's write scope.")
        return response.json()

    def post(self, channel: str, content: str, *, step_key: str, mention_role: int | None = None) -> dict[str, Any]:
        tag = marker(step_key)
        sent = self._call("POST", "/posts.json", json={"topic_id": int(channel), "raw": f"{content}\n\n<small>{tag}</small>"})
        return {"topic": channel, "post_id": sent.get("id"), "marker": tag}

    def find(self, channel: str, *, step_key: str) -> dict[str, Any] | None:
        tag = marker(step_key)
        topic = self._call("GET", f"/t/{int(channel)}.json")
        for post in (topic.get("post_stream") or {}).get("posts", []):
            if tag in str(post.get("cooked", "")) or tag in str(post.get("raw", "")):
                return {"topic": channel, "post_id": post.get("id"), "marker": tag}
        return None
