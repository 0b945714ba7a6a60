"""An exported adapter GGUF is loaded and applied by the embedded llama.cpp server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from agent.finetune.export import write_adapter_gguf
from agent.finetune.model import embedded_gguf_path
from agent.llm.embedded import EmbeddedServer
from ingest.core.errors import InputError


def _random_adapter(directory: Path, *, layers: int = 30, hidden: int = 576, kv: int = 192, rank: int = 4) -> Path:
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    tensors = {}
    for i in range(layers):
        for module, out in (("q_proj", hidden), ("v_proj", kv)):
            prefix = f"base_model.model.model.layers.{i}.self_attn.{module}"
            tensors[f"{prefix}.lora_A.weight"] = rng.normal(0, 0.2, (rank, hidden)).astype(np.float32)
            tensors[f"{prefix}.lora_B.weight"] = rng.normal(0, 0.2, (out, rank)).astype(np.float32)
    directory.mkdir(parents=True)
    save_file(tensors, str(directory / "adapter_model.safetensors"))
    (directory / "adapter_config.json").write_text(json.dumps({"lora_alpha": 8, "r": rank, "target_modules": ["q_proj", "v_proj"]}))
    return directory


def _greedy(url: str, prompt: str) -> str:
    base = url.removesuffix("/v1")
    reply = httpx.post(f"{base}/completion", json={"prompt": prompt, "n_predict": 8, "temperature": 0, "top_k": 1}, timeout=120)
    return str(reply.json()["content"])


@pytest.mark.timeout(300)
def test_adapter_gguf_changes_the_embedded_models_output(tmp_path: Path) -> None:
    adapter = write_adapter_gguf(_random_adapter(tmp_path / "adapter"), tmp_path / "adapter.gguf", n_head=9, n_head_kv=3)
    prompts = ["The capital of France is", "Governance proposals should"]
    with EmbeddedServer(embedded_gguf_path(), port=0) as server:
        base = [_greedy(server.base_url, p) for p in prompts]
    with EmbeddedServer(embedded_gguf_path(), port=0, lora_adapter=adapter) as server:
        tuned = [_greedy(server.base_url, p) for p in prompts]
    assert all(base) and all(tuned)
    assert base != tuned  # the adapter was loaded and applied (a zero or ignored adapter gives identical text)


def test_unexportable_adapters_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a PEFT adapter"):
        write_adapter_gguf(tmp_path, tmp_path / "x.gguf", n_head=9, n_head_kv=3)
