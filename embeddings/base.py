"""The encoder contract: implement ``embed_batch``; ``embed`` and ``embed_many`` come with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Embedder", "weights_of"]


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


def weights_of(model_id: str) -> str:
    """The weights a model id names, without a runtime's precision mark (``all-MiniLM-L6-v2+bf16`` -> ``all-MiniLM-L6-v2``):
    what a head trained on the model's vectors is paired with."""
    return model_id.split("+", 1)[0]
