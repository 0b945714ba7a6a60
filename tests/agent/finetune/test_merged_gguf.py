"""A LoRA adapter merged into its base GGUF: same tensors and metadata, the right deltas, the same model as base + adapter.

The served comparison is on next-token log-probabilities, not on exact text: llama.cpp quantises activations to
8 bits before every Q4_1 matmul, so the tiny float differences between W·x + s·B(A·x) and (W + s·BA)·x flip a few
roundings and move log-probabilities by ~0.1 (on a base whose every linear weight is F32 they agree to ~0.02).
The merged model must sit far closer to base + adapter than the base alone does; with q/k deltas left
unpermuted it does not (measured: 0.15 vs 1.45 for the merge, 0.55 without the permutation).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from agent.finetune.export import write_adapter_gguf
from agent.finetune.merge import write_merged_gguf
from agent.finetune.model import embedded_gguf_path
from agent.finetune.registry import TunedModel, get_model, list_models, register_model
from agent.llm.backend import ChatMessage
from agent.llm.embedded import EmbeddedServer, file_sha256
from agent.llm.factory import open_chat_backend
from bots.cli.main import main
from ingest.core.errors import ConfigError, InputError, NotFoundError
from ingest.core.settings import LLMSettings, load_settings

HIDDEN, KV, LAYERS, N_HEAD, N_HEAD_KV, RANK, ALPHA = 576, 192, 30, 9, 3, 4, 8
MODULES = (("q_proj", HIDDEN), ("k_proj", KV), ("v_proj", KV))
PROMPTS = [
    "The capital of France is",
    "Governance proposals should",
    "A DAO treasury is",
    "The vote passed because",
    "Delegates in Compound",
    "<|im_start|>user\nIs this post for or against the proposal? 'I support raising the cap.'<|im_end|>\n<|im_start|>assistant\n",
]


def _adapter(directory: Path, *, std: float, seed: int = 0) -> Path:
    """A PEFT-layout LoRA adapter on q/k/v of every layer: A ~ N(0, 0.1), B ~ N(0, std)."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    tensors = {}
    for i in range(LAYERS):
        for module, out in MODULES:
            prefix = f"base_model.model.model.layers.{i}.self_attn.{module}"
            tensors[f"{prefix}.lora_A.weight"] = rng.normal(0, 0.1, (RANK, HIDDEN)).astype(np.float32)
            tensors[f"{prefix}.lora_B.weight"] = rng.normal(0, std, (out, RANK)).astype(np.float32)
    directory.mkdir(parents=True)
    save_file(tensors, str(directory / "adapter_model.safetensors"))
    config = {"lora_alpha": ALPHA, "r": RANK, "target_modules": [m for m, _ in MODULES], "peft_type": "LORA"}
    (directory / "adapter_config.json").write_text(json.dumps(config))
    return directory


def _llama_permute(rows: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf ``permute`` for q/k rows (restated here so the test pins the convention)."""
    return rows.reshape(n_head, 2, rows.shape[0] // n_head // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def _next_token_logprobs(server: EmbeddedServer, *, lora_scale: float | None = None) -> list[dict[int, float]]:
    """Top-10 next-token log-probabilities after each prompt; ``lora_scale`` sets the loaded adapter's scale per request.

    The prompt cache is off: llama.cpp would otherwise reuse a prefix computed under another adapter scale.
    """
    url = server.base_url.removesuffix("/v1") + "/completion"
    body: dict[str, Any] = {"n_predict": 1, "temperature": 0, "seed": 42, "n_probs": 10, "cache_prompt": False}
    if lora_scale is not None:
        body["lora"] = [{"id": 0, "scale": lora_scale}]
    replies = [httpx.post(url, json={**body, "prompt": p}, timeout=120).json() for p in PROMPTS]
    return [{t["id"]: t["logprob"] for t in r["completion_probabilities"][0]["top_logprobs"]} for r in replies]


def _distance(other: list[dict[int, float]], reference: list[dict[int, float]]) -> float:
    """Mean over prompts of the largest log-probability gap on the reference's top-5 tokens (absent ones: other's floor)."""
    gaps = []
    for mine, ref in zip(other, reference, strict=True):
        floor = min(mine.values())
        top = sorted(ref, key=ref.__getitem__, reverse=True)[:5]
        gaps.append(max(abs(ref[k] - mine.get(k, floor)) for k in top))
    return sum(gaps) / len(gaps)


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _adapter(tmp_path_factory.mktemp("adapter") / "adapter", std=0.06)


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory, adapter_dir: Path) -> Iterator[Path]:
    """A data dir with model 'tiny' (tuned from the embedded base) whose merged GGUF `concord finetune merge tiny` built."""
    data = tmp_path_factory.mktemp("merged") / "data"
    settings = load_settings(data_dir=data)
    data.mkdir(parents=True)
    adapter_gguf = write_adapter_gguf(adapter_dir, data / "adapter.gguf", n_head=N_HEAD, n_head_kv=N_HEAD_KV)
    register_model(settings, TunedModel(name="tiny", base="smollm2", adapter_dir=str(adapter_dir), adapter_gguf=str(adapter_gguf), dao="compound", steps=1))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CONCORD_DATA_DIR", str(data))
        env.delenv("CONCORD_CONFIG", raising=False)
        env.chdir(data.parent)
        assert main(["finetune", "merge", "tiny", "--json"]) == 0
    yield data


@pytest.mark.slow
def test_untargeted_tensors_and_metadata_are_copied_and_deltas_merged(registered: Path, adapter_dir: Path) -> None:
    import gguf
    from safetensors.numpy import load_file

    merged_path = Path(get_model(load_settings(data_dir=registered), "tiny").merged_gguf or "")
    base, merged = gguf.GGUFReader(embedded_gguf_path()), gguf.GGUFReader(merged_path)
    base_fields = {k: f for k, f in base.fields.items() if not k.startswith("GGUF.")}
    assert set(base_fields) <= set(merged.fields)
    for key, field in base_fields.items():  # architecture, tokenizer, chat template, ... byte for byte
        other = merged.fields[key]
        assert other.types == field.types and [p.tobytes() for p in other.parts] == [p.tobytes() for p in field.parts], key

    lora = load_file(str(adapter_dir / "adapter_model.safetensors"))
    by_name = {t.name: t for t in merged.tensors}
    assert [t.name for t in merged.tensors] == [t.name for t in base.tensors]
    targeted = 0
    for tensor in base.tensors:
        out = by_name[tensor.name]
        assert out.data_offset % merged.alignment == 0 and list(out.shape) == list(tensor.shape)
        parts = tensor.name.split(".")
        module = {"attn_q": "q_proj", "attn_k": "k_proj", "attn_v": "v_proj"}.get(parts[2]) if parts[0] == "blk" else None
        if module is None:
            assert out.tensor_type == tensor.tensor_type and out.data.tobytes() == tensor.data.tobytes(), tensor.name
            continue
        targeted += 1
        prefix = f"base_model.model.model.layers.{parts[1]}.self_attn.{module}"
        delta = (ALPHA / RANK) * lora[f"{prefix}.lora_B.weight"] @ lora[f"{prefix}.lora_A.weight"]
        if module != "v_proj":
            delta = _llama_permute(delta, N_HEAD if module == "q_proj" else N_HEAD_KV)
        expected = gguf.quants.dequantize(tensor.data, tensor.tensor_type) + delta
        assert out.tensor_type == gguf.GGMLQuantizationType.F16
        np.testing.assert_allclose(out.data.astype(np.float32), expected, rtol=2e-3, atol=1e-4, err_msg=tensor.name)
        assert np.abs(delta).mean() > 50 * 1e-4  # the delta is far above the tolerance: a wrong permutation would fail
    assert targeted == 3 * LAYERS


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.timeout(600)
def test_merged_gguf_predicts_what_base_plus_adapter_predicts(registered: Path) -> None:
    merged = registered / "models" / "tiny" / "merged.gguf"
    # One llama.cpp thread: on a shared 2-core machine two spinning threads are many times slower, with identical results.
    with EmbeddedServer(embedded_gguf_path(), port=0, threads=1, lora_adapter=registered / "adapter.gguf") as server:
        base = _next_token_logprobs(server, lora_scale=0.0)  # exactly the base model
        tuned = _next_token_logprobs(server, lora_scale=1.0)
    with EmbeddedServer(merged, port=0, threads=1) as server:
        merged_lp = _next_token_logprobs(server)
    base_gap, merged_gap = _distance(base, tuned), _distance(merged_lp, tuned)
    assert base_gap > 0.5  # the adapter really changes the model, so a merge that lost it would fail below
    assert merged_gap < 0.25 * base_gap, (merged_gap, base_gap)


@pytest.mark.slow
def test_finetune_list_shows_the_merged_file(registered: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CONCORD_DATA_DIR", str(registered))
    merged = registered / "models" / "tiny" / "merged.gguf"
    assert main(["finetune", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(m["name"], m["merged_gguf"]) for m in listed] == [("tiny", str(merged))] and merged.is_file()
    assert main(["finetune", "list"]) == 0
    assert f"merged={merged}" in capsys.readouterr().out.replace("\n", "")
    assert main(["finetune", "merge", "nosuch"]) == 2
    assert "No tuned model named 'nosuch'" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.llm
def test_merged_model_selected_by_name_is_what_the_embedded_server_serves(registered: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    merged = registered / "models" / "tiny" / "merged.gguf"
    monkeypatch.setenv("CONCORD_DATA_DIR", str(registered))
    monkeypatch.setenv("CONCORD_LLM__MERGED_MODEL", "tiny")
    monkeypatch.setenv("CONCORD_LLM__THREADS", "1")
    settings = load_settings()
    server = EmbeddedServer.from_settings(settings.llm, port=0)
    assert server.gguf_path == merged and server.lora_adapter is None
    with open_chat_backend(settings.llm) as chat:
        assert chat.weights_sha256 == file_sha256(merged)  # reports record the merged weights they were written with
        assert "adapter_sha256" not in chat.identity()
        assert chat.complete([ChatMessage("user", "Say hello.")], max_tokens=8).strip()

    monkeypatch.delenv("CONCORD_LLM__MERGED_MODEL")
    adapter = load_settings(llm={"lora_adapter": "tiny"})  # names resolve for the adapter too
    assert EmbeddedServer.from_settings(adapter.llm).lora_adapter == registered / "adapter.gguf"
    with open_chat_backend(adapter.llm) as chat:  # the adapter applied at load time is part of the model's identity
        assert chat.identity()["adapter_sha256"] == file_sha256(registered / "adapter.gguf")
        assert chat.identity()["weights_sha256"] == file_sha256(embedded_gguf_path())


def test_merged_model_settings_errors_say_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data"
    register_model(load_settings(data_dir=data), TunedModel(name="old", base="smollm2", adapter_dir="a", adapter_gguf="a.gguf", dao="x", steps=1))
    with pytest.raises(ConfigError, match="already contains its adapter"):
        EmbeddedServer.from_settings(load_settings(data_dir=data, llm={"merged_model": "old", "lora_adapter": "old"}).llm)
    with pytest.raises(NotFoundError, match="known: old"):
        EmbeddedServer.from_settings(load_settings(data_dir=data, llm={"merged_model": "nosuch"}).llm)
    with pytest.raises(InputError, match="concord finetune merge old"):
        EmbeddedServer.from_settings(load_settings(data_dir=data, llm={"merged_model": "old"}).llm)
    with pytest.raises(ConfigError, match="embedded server"), open_chat_backend(LLMSettings(backend="openai", merged_model="old")):
        pass


def test_manifests_without_merged_gguf_still_load(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    model = TunedModel(name="legacy", base="smollm2", adapter_dir="a", adapter_gguf=None, dao="x", steps=3)
    path = register_model(settings, model)
    old = {k: v for k, v in asdict(model).items() if k != "merged_gguf"} | {"added_by_a_later_version": 1}
    path.write_text(json.dumps(old))
    assert list_models(settings) == [model] and get_model(settings, "legacy").merged_gguf is None


def test_unmergeable_adapters_are_refused(tmp_path: Path, adapter_dir: Path) -> None:
    with pytest.raises(InputError, match="not a PEFT adapter"):
        write_merged_gguf(embedded_gguf_path(), tmp_path, tmp_path / "x.gguf")
    with pytest.raises(InputError, match="not supported"):
        write_merged_gguf(embedded_gguf_path(), adapter_dir, tmp_path / "x.gguf", out_type="q4_1")
    dora = tmp_path / "dora"
    dora.mkdir()
    (dora / "adapter_model.safetensors").write_bytes((adapter_dir / "adapter_model.safetensors").read_bytes())
    (dora / "adapter_config.json").write_text(json.dumps({"lora_alpha": ALPHA, "r": RANK, "use_dora": True}))
    with pytest.raises(InputError, match="DoRA"):
        write_merged_gguf(embedded_gguf_path(), dora, tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists()
