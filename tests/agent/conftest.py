"""The real embedded llama.cpp server (one per session, free port, 2 threads); MiniLM is in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from agent.llm import ChatMessage, EmbeddedServer, OpenAIChatBackend, default_gguf_path
from tests.sample_vectors import sample_vectors  # noqa: F401 - a fixture


@pytest.fixture(scope="session")
def llm_server() -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(default_gguf_path(), port=0, threads=2, n_ctx=4096).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chat(llm_server: EmbeddedServer) -> OpenAIChatBackend:
    return OpenAIChatBackend(
        base_url=llm_server.base_url, model=llm_server.alias, temperature=0.0, seed=42, timeout_s=120, max_retries=1,
        weights_sha256=llm_server.weights_sha256(), backend_name="embedded",
    )



class RecordingChat:
    """Passes every request to the real backend and keeps the messages and schemas it sent."""

    def __init__(self, inner: OpenAIChatBackend) -> None:
        self.inner = inner
        self.model = inner.model
        self.calls: list[tuple[list[ChatMessage], Mapping[str, Any] | None]] = []

    def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int = 256, schema: Mapping[str, Any] | None = None) -> str:
        self.calls.append((list(messages), schema))
        return self.inner.complete(messages, max_tokens=max_tokens, schema=schema)

    def complete_json(self, messages: Sequence[ChatMessage], *, schema: Mapping[str, Any], max_tokens: int = 256) -> dict[str, Any]:
        self.calls.append((list(messages), schema))
        return self.inner.complete_json(messages, schema=schema, max_tokens=max_tokens)

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()
