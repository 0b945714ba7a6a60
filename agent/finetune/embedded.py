"""A llama.cpp OpenAI-compatible server inside this process (xllamacpp), with an optional LoRA adapter GGUF.

Used to evaluate the base and the tuned model through the same HTTP API the agent uses
(and that vLLM serves), so what is measured is what runs.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError

__all__ = ["embedded_server", "free_port"]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def embedded_server(
    gguf_path: Path,
    *,
    alias: str = "smollm2",
    lora_path: Path | None = None,
    port: int | None = None,
    n_ctx: int = 2048,
    threads: int = 2,
) -> Iterator[str]:
    """Serve ``gguf_path`` (plus ``lora_path`` if given) on loopback; yield the ``/v1`` base URL."""
    try:
        import xllamacpp
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("The embedded LLM server needs xllamacpp: pip install 'concord[llm]' (or pip install xllamacpp).") from exc
    import httpx

    params: Any = xllamacpp.CommonParams()
    params.model.path = str(gguf_path)
    params.model_alias = {alias}
    params.n_ctx = n_ctx
    params.port = port or free_port()
    params.hostnames = ["127.0.0.1"]
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    if lora_path is not None:
        params.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(str(lora_path), 1.0)]
    server = xllamacpp.Server(params)
    base = f"http://127.0.0.1:{params.port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise ConfigError(f"Embedded LLM server on {base} did not become healthy within 60 s (model {gguf_path}).")
        time.sleep(0.2)
    try:
        yield f"{base}/v1"
    finally:
        del server
