"""The same sentence-transformers model run by ONNX Runtime (fp32): exported once, offline, from the local weights.

The export is cached under ``cache_dir`` by the weights' SHA-256, written atomically, and reused by every later
process; nothing is downloaded. Texts are tokenised as sentence-transformers does (stripped, truncated at the
model's ``max_seq_length``), sorted by token count so each batch pads little, run through the exported encoder,
mean-pooled over real tokens and L2-normalised: the vectors match the stock fp32 ones (``concord bench`` records
the minimum cosine on its embedding rows, ``tests/embeddings/test_onnx.py`` checks it).
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embeddings.minilm import SentenceTransformerEmbedder, StockRuntime
from ingest.core.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["OnnxEmbedder", "export_onnx"]

EXPORT_VERSION = "1"  # bump when the export recipe changes: older files are then ignored
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ConfigError(
            "The fast embedding runtime needs onnxruntime: pip install 'concord-dao[embeddings]', "
            "or set CONCORD_EMBEDDINGS__RUNTIME=torch."
        ) from exc
    return onnxruntime


def export_onnx(stock: SentenceTransformerEmbedder, target: Path) -> Path:
    """Export ``stock``'s transformer (its last hidden state) to ``target`` with dynamic batch and length axes."""
    import torch

    model = stock.model
    encoder = model[0].auto_model.eval()
    previous = encoder.config._attn_implementation

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    sample = model.tokenizer(["a first sentence", "and a second, longer one"], padding=True, return_tensors="pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        encoder.set_attn_implementation("eager")  # plain matmul attention: exports cleanly, ORT fuses it
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shapes it treats as dynamic anyway
            torch.onnx.export(
                LastHiddenState(), tuple(sample[name] for name in INPUTS), str(tmp), dynamo=False, opset_version=17,
                input_names=list(INPUTS), output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")},
            )
        _fuse(tmp, heads=int(encoder.config.num_attention_heads), hidden=int(encoder.config.hidden_size))
        tmp.replace(target)
    finally:
        encoder.set_attn_implementation(previous)  # the torch model keeps running as it did
        tmp.unlink(missing_ok=True)
    return target


def _fuse(path: Path, *, heads: int, hidden: int) -> None:
    """ONNX Runtime's own BERT graph fusions (attention, skip-layer-norm, bias-GELU), in fp32: same numbers, fewer ops."""
    _onnxruntime()
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(str(path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
    fused.save_model_to_file(str(path))


#: texts per ONNX Runtime call (sorted by token count, so a batch pads little). On a 2-core AMD EPYC (Zen 3, no
#: AVX-512) batches of 8 ran 3.7-4.3x the stock encode where 16 ran 2.7-3.1x (128 and 512 Discord messages, the
#: bench's own texts); on a loaded Xeon 8 and 16 were within noise of each other.
BATCH_SIZE = 8


class OnnxEmbedder(StockRuntime):
    """A sentence-transformers model directory run by ONNX Runtime; drop-in for :class:`SentenceTransformerEmbedder`."""

    def __init__(self, stock: SentenceTransformerEmbedder, cache_dir: Path, *, batch_size: int = BATCH_SIZE,
                 threads: int = 0) -> None:
        super().__init__(stock)
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.threads = threads
        self.model_id = stock.model_id  # same weights, same vectors: the vector cache is shared with the torch runtime
        self._session: Any = None
        self._tokenizer: Any = None
        self._loading = threading.Lock()
        config = json.loads((stock.model_dir / "sentence_bert_config.json").read_text()) if (
            stock.model_dir / "sentence_bert_config.json").exists() else {}
        self.max_seq_length = int(config.get("max_seq_length") or 256)
        self.lowercase = bool(config.get("do_lower_case", False))

    @property
    def model_path(self) -> Path:
        return self.cache_dir / f"{self.model_id}-{self.stock.weights_sha256()[:16]}-v{EXPORT_VERSION}.onnx"

    def _load(self) -> None:
        ort = _onnxruntime()
        from transformers import AutoTokenizer

        path = self.model_path
        if not path.exists():
            export_onnx(self.stock, path)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting on shared cores
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.stock.model_dir), local_files_only=True)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in the order given."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._tokenizer is None:  # set last by _load: once it is there, so is the session
            with self._loading:  # worker threads (dashboard, bot) may embed at once: one loads, the others wait
                if self._tokenizer is None:
                    self._load()
        cleaned = [(t.lower() if self.lowercase else t).strip() for t in texts]
        token_ids = self._tokenizer(cleaned, truncation=True, max_length=self.max_seq_length)["input_ids"]
        order = np.argsort([len(ids) for ids in token_ids], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(token_ids[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                ids[j, : len(token_ids[i])] = token_ids[i]
                mask[j, : len(token_ids[i])] = 1
            hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
            summed = (hidden * mask[..., None]).sum(axis=1)
            pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out
