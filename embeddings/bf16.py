"""The sentence-transformers model run by torch in bfloat16, for CPUs that multiply bf16 matrices in hardware.

On a CPU with Intel AMX tiles, bf16 matrix products run on the matrix unit: there this runtime is the fastest on
the CPU (``concord bench`` measures it against the stock fp32 call and records the lowest cosine between the two).
Elsewhere bf16 is emulated or narrow and ONNX Runtime fp32 is faster, which is why ``runtime = "auto"`` picks this
one only where :func:`has_bf16_matrix_unit` says so. Texts go through ``SentenceTransformer.encode`` (which sorts
them by length) in batches of 16; the vectors are made float32 and unit length again. They are close to the fp32
vectors, not equal to them, so the model id carries ``+bf16`` and the vector cache and indexes never mix the two.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embeddings.minilm import SentenceTransformerEmbedder, StockRuntime, quietly_loaded

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Bf16Embedder", "has_bf16_matrix_unit"]

BATCH_SIZE = 16  # with length-sorted texts, small batches pad least; 16 measured fastest on 2 cores


def has_bf16_matrix_unit(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has Intel AMX bf16 tiles (bf16 matrix products in hardware), from the kernel's CPU flags
    (``amx_bf16``); False where the kernel does not list them (another OS: ONNX Runtime is used there). Read
    without importing torch, so that faces which never embed do not load it."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.startswith("flags") and "amx_bf16" in line.split() for line in text.splitlines())


class Bf16Embedder(StockRuntime):
    """A sentence-transformers model directory run by torch in bfloat16; drop-in for :class:`SentenceTransformerEmbedder`."""

    def __init__(self, stock: SentenceTransformerEmbedder, *, batch_size: int = BATCH_SIZE) -> None:
        super().__init__(stock)
        self.batch_size = batch_size
        self.model_id = f"{stock.model_id}+bf16"
        self._model: Any = None
        self._loading = threading.Lock()

    def _loaded(self) -> Any:
        if self._model is None:
            with self._loading:  # worker threads may embed at once: one loads, the others wait
                if self._model is None:
                    import torch
                    from sentence_transformers import SentenceTransformer

                    model = quietly_loaded(lambda: SentenceTransformer(str(self.stock.model_dir), device="cpu", local_files_only=True))
                    self._model = model.to(torch.bfloat16).eval()
        return self._model

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._loaded().encode(list(texts), batch_size=self.batch_size, convert_to_tensor=True, show_progress_bar=False)
        vectors = out.float().cpu().numpy()
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)
