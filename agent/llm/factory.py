"""Wire the configured chat backend: an OpenAI-compatible URL (vLLM), or the embedded server started here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from agent.llm.backend import OpenAIChatBackend
from agent.llm.embedded import EmbeddedServer
from ingest.core.errors import ConfigError

if TYPE_CHECKING:
    from ingest.core.settings import LLMSettings

__all__ = ["backend_for_url", "open_chat_backend"]


def backend_for_url(
    settings: LLMSettings, base_url: str, *, weights_sha256: str | None = None, backend_name: str | None = None,
    adapter_sha256: str | None = None,
) -> OpenAIChatBackend:
    """A backend for a server that is already running at ``base_url``."""
    return OpenAIChatBackend(
        base_url=base_url,
        model=settings.model,
        api_key=settings.api_key.get_secret_value(),
        temperature=settings.temperature,
        seed=settings.seed,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
        weights_sha256=weights_sha256,
        adapter_sha256=adapter_sha256,
        backend_name=backend_name or settings.backend,
    )


@contextmanager
def open_chat_backend(settings: LLMSettings) -> Iterator[OpenAIChatBackend]:
    """The chat backend for one command.

    ``backend = "openai"`` (vLLM or any compatible server) needs ``base_url``. ``backend = "embedded"``
    uses ``base_url`` when set (a server from ``concord llm serve``), else starts the embedded server on a
    free port for the duration of the ``with`` block, on ``merged_model``'s GGUF when one is named. Either way
    the same HTTP code path is used.
    """
    if settings.backend not in {"embedded", "openai"}:
        raise ConfigError(f"Unknown LLM backend {settings.backend!r}; set CONCORD_LLM__BACKEND to 'embedded' or 'openai'.")
    if settings.backend == "openai" and settings.merged_model:
        raise ConfigError(
            f"llm.merged_model={settings.merged_model!r} is a GGUF for the embedded server; with backend=openai (vLLM) "
            "serve the tuned adapter (--lora-modules NAME=DIR) and set llm.model to NAME, or unset merged_model."
        )
    if settings.base_url:
        yield backend_for_url(settings, settings.base_url)
        return
    if settings.backend == "openai":
        raise ConfigError("CONCORD_LLM__BACKEND=openai needs CONCORD_LLM__BASE_URL, e.g. http://vllm:8000/v1 (see infra/vllm/).")
    with EmbeddedServer.from_settings(settings, port=0) as server:
        yield backend_for_url(
            settings, server.base_url, weights_sha256=server.weights_sha256(), adapter_sha256=server.adapter_sha256(), backend_name="embedded"
        )
