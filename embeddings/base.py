"""The encoder contract: implement ``embed_batch``; ``embed`` and ``embed_many`` come with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension.

    ``model_id`` names the weights (it keys the vector cache, so two models never share vectors);
    ``weights_sha256`` identifies the weights file for attestation manifests.
    """

    model_id: str
    dim: int

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, shape ``(len(texts), dim)``, unit length."""
        ...

    def weights_sha256(self) -> str:
        """SHA-256 of the weights file(s), for the report manifest."""
        ...
