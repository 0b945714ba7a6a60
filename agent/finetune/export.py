"""Writing a PEFT LoRA adapter as a llama.cpp adapter GGUF, which the embedded server loads next to its base GGUF.

llama.cpp stores the query and key projections with their rows permuted for its RoPE layout
(the converter's ``permute``), while transformers un-permutes them when it reads a GGUF. The
adapter's B matrices for ``q_proj``/``k_proj`` change output rows, so they get the same permutation;
A matrices act on inputs and are written as they are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ingest.core.errors import InputError

__all__ = ["GGUF_TENSOR_NAMES", "write_adapter_gguf"]

GGUF_TENSOR_NAMES: dict[str, str] = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_KEY = re.compile(r"layers\.(\d+)\.(\w+\.\w+)\.lora_([AB])\.weight$")


def _permute(weights: Any, n_head: int) -> Any:
    """llama.cpp's RoPE row permutation (the inverse of what transformers applies on GGUF load)."""
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def write_adapter_gguf(adapter_dir: Path, out_path: Path, *, n_head: int, n_head_kv: int) -> Path:
    """Convert the PEFT adapter in ``adapter_dir`` to an adapter GGUF at ``out_path`` (float32 tensors)."""
    import numpy as np
    from gguf import GGUFWriter
    from safetensors.numpy import load_file

    config_path = adapter_dir / "adapter_config.json"
    weights_path = adapter_dir / "adapter_model.safetensors"
    if not config_path.exists() or not weights_path.exists():
        raise InputError(f"{adapter_dir} is not a PEFT adapter (adapter_config.json + adapter_model.safetensors): train one first.")
    config = json.loads(config_path.read_text())
    tensors = load_file(str(weights_path))
    writer = GGUFWriter(str(out_path), "llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(config["lora_alpha"]))
    written = 0
    for key in sorted(tensors):
        match = _KEY.search(key)
        if match is None:
            raise InputError(f"Unexpected tensor {key!r} in {weights_path}: only LoRA A/B weights on llama layers can be exported.")
        layer, module, side = int(match.group(1)), match.group(2), match.group(3)
        if module not in GGUF_TENSOR_NAMES:
            raise InputError(f"LoRA on {module!r} cannot be exported to GGUF; use target modules among {sorted(GGUF_TENSOR_NAMES)}.")
        data = tensors[key].astype(np.float32)
        if side == "B" and module == "self_attn.q_proj":
            data = _permute(data, n_head)
        elif side == "B" and module == "self_attn.k_proj":
            data = _permute(data, n_head_kv)
        name = f"blk.{layer}.{GGUF_TENSOR_NAMES[module]}.weight.lora_{side.lower()}"
        writer.add_tensor(name, np.ascontiguousarray(data))
        written += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    if not written:
        raise InputError(f"No LoRA tensors found in {weights_path}.")
    return out_path
