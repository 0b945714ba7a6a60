"""A scripted :class:`ChatBackend` for unit tests of the logic around the model (as httpx ships ``MockTransport``).

It answers from a script instead of a server: a list of replies (text, a dict sent as JSON, or an exception
to raise) consumed in order, or a function of the request. Every request is kept in ``calls``. Tests of the
model itself keep using the real embedded server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.llm.backend import ChatMessage, LLMError, parse_json_reply

__all__ = ["ChatRequest", "ScriptedChatBackend"]

Reply = str | Mapping[str, Any] | BaseException


@dataclass(frozen=True)
class ChatRequest:
    """One request the backend received."""

    messages: tuple[ChatMessage, ...]
    max_tokens: int
    schema: Mapping[str, Any] | None


class ScriptedChatBackend:
    """Replies from ``script`` (consumed in order) or ``respond(request)``; raises LLMError when the script runs out."""

    def __init__(
        self, script: Iterable[Reply] = (), *, respond: Callable[[ChatRequest], Reply] | None = None, model: str = "scripted",
    ) -> None:
        self.model = model
        self._script = list(script)
        self._respond = respond
        self.calls: list[ChatRequest] = []

    def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int = 256, schema: Mapping[str, Any] | None = None) -> str:
        request = ChatRequest(tuple(messages), max_tokens, schema)
        self.calls.append(request)
        if self._respond is not None:
            reply = self._respond(request)
        elif self._script:
            reply = self._script.pop(0)
        else:
            raise LLMError(f"The scripted chat backend has no reply left for request {len(self.calls)}.")
        if isinstance(reply, BaseException):
            raise reply
        return reply if isinstance(reply, str) else json.dumps(dict(reply))

    def complete_json(self, messages: Sequence[ChatMessage], *, schema: Mapping[str, Any], max_tokens: int = 256) -> dict[str, Any]:
        return parse_json_reply(self.complete(messages, max_tokens=max_tokens, schema=schema), schema=schema, model=self.model)

    def identity(self) -> dict[str, Any]:
        return {"backend": "scripted", "model": self.model, "base_url": None, "weights_sha256": None, "temperature": 0.0, "seed": 0}
