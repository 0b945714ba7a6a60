"""One small chat interface over the OpenAI-compatible API (vLLM in production, embedded llama.cpp by default)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ingest.core.errors import ConcordError

__all__ = ["ChatBackend", "ChatMessage", "LLMError", "LLMTruncatedError", "OpenAIChatBackend", "parse_json_reply"]


class LLMError(ConcordError, RuntimeError):
    """The chat server failed, timed out after its retries, or answered outside the requested schema."""


class LLMTruncatedError(LLMError):
    """The answer was cut off at ``max_tokens`` before it was complete (a step may fall back to extractive text)."""


@dataclass(frozen=True)
class ChatMessage:
    """One chat turn: ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@runtime_checkable
class ChatBackend(Protocol):
    """Anything that completes a chat. ``schema`` (a JSON schema) constrains the answer to JSON of that shape."""

    model: str

    def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int = 256, schema: Mapping[str, Any] | None = None) -> str:
        """The assistant's reply text."""
        ...

    def complete_json(self, messages: Sequence[ChatMessage], *, schema: Mapping[str, Any], max_tokens: int = 256) -> dict[str, Any]:
        """The reply parsed as JSON that follows ``schema``."""
        ...

    def identity(self) -> dict[str, Any]:
        """What produced the text (for attestation): model name, server, sampling parameters."""
        ...


def parse_json_reply(text: str, *, schema: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A reply parsed as a JSON object with the schema's required fields, or an :class:`LLMError` saying what was wrong."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LLMError(
            f"The model {model!r} answered text that is not JSON ({text[:120]!r}); the answer may have been cut "
            "off by max_tokens, or the server ignores response_format."
        ) from exc
    if not isinstance(value, dict):
        raise LLMError(f"The model {model!r} answered JSON that is not an object: {text[:120]!r}")
    missing = [k for k in schema.get("required", []) if k not in value]
    if missing:
        raise LLMError(f"The model {model!r} left out required fields {missing} in {text[:120]!r}")
    return value


class OpenAIChatBackend:
    """Any OpenAI-compatible server through langchain-openai's ``ChatOpenAI``.

    Temperature and seed are fixed so that the same inputs give the same report; the client retries
    failed or timed-out requests ``max_retries`` times with exponential backoff. Structured steps send
    ``response_format={"type": "json_schema", ...}``, which vLLM and llama.cpp's server both enforce.
    """

    def __init__(
        self, *, base_url: str, model: str, api_key: str = "not-needed", temperature: float = 0.0, seed: int = 42,
        timeout_s: float = 120.0, max_retries: int = 3, weights_sha256: str | None = None, backend_name: str = "openai",
        adapter_sha256: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.temperature = temperature
        self.seed = seed
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.weights_sha256 = weights_sha256
        self.adapter_sha256 = adapter_sha256
        self.backend_name = backend_name
        self._client: Any = None

    def _chat(self) -> Any:
        if self._client is None:
            try:
                from langchain_openai import ChatOpenAI
            except ImportError as exc:
                raise LLMError("LLM steps need langchain-openai: pip install 'concord-dao[llm]'") from exc
            self._client = ChatOpenAI(
                model=self.model,
                base_url=self.base_url,
                api_key=self.api_key,  # type: ignore[arg-type]
                temperature=self.temperature,
                seed=self.seed,
                timeout=self.timeout_s,
                max_retries=self.max_retries,
                # llama.cpp reuses cached prompt prefixes, which changes batch shapes and so greedy output;
                # the embedded server is told not to, so the same request gives the same answer.
                extra_body={"cache_prompt": False} if self.backend_name == "embedded" else None,
            )
        return self._client

    def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int = 256, schema: Mapping[str, Any] | None = None) -> str:
        import openai

        payload = [(m.role if m.role != "user" else "human", m.content) for m in messages]
        kwargs: dict[str, Any] = {"max_tokens": max_tokens}
        if schema is not None:
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": dict(schema)}}
        try:
            reply = self._chat().invoke(payload, **kwargs)
        except openai.LengthFinishReasonError as exc:
            raise LLMTruncatedError(
                f"The model {self.model!r} was cut off at max_tokens={max_tokens} before finishing its answer; raise max_tokens for this step."
            ) from exc
        except openai.APITimeoutError as exc:
            raise LLMError(
                f"The chat server at {self.base_url} did not answer within {self.timeout_s:.0f} s after {self.max_retries} retries; "
                "raise CONCORD_LLM__TIMEOUT_S or check the server."
            ) from exc
        except openai.APIConnectionError as exc:
            raise LLMError(
                f"Cannot reach the chat server at {self.base_url} after {self.max_retries} retries. Start it with "
                "`concord llm serve` or set CONCORD_LLM__BASE_URL."
            ) from exc
        except openai.APIStatusError as exc:
            raise LLMError(
                f"The chat server at {self.base_url} answered HTTP {exc.status_code} after {self.max_retries} retries: "
                f"{str(exc.message)[:200]}"
            ) from exc
        content = reply.content
        return content if isinstance(content, str) else json.dumps(content)

    def complete_json(self, messages: Sequence[ChatMessage], *, schema: Mapping[str, Any], max_tokens: int = 256) -> dict[str, Any]:
        return parse_json_reply(self.complete(messages, max_tokens=max_tokens, schema=schema), schema=schema, model=self.model)

    def identity(self) -> dict[str, Any]:
        return {
            "backend": self.backend_name,
            "model": self.model,
            "base_url": self.base_url,
            "weights_sha256": self.weights_sha256,
            **({"adapter_sha256": self.adapter_sha256} if self.adapter_sha256 else {}),
            "temperature": self.temperature,
            "seed": self.seed,
        }
