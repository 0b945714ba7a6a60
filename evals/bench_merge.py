"""How faithful and how fast a merged GGUF is next to base + adapter GGUF, for one registered tuned model. One run.

For each merged tensor type (F16, F32, Q8_0): how much of the LoRA delta the stored weights keep, the file size,
and, on the model's first held-out stance prompts, next-token agreement with base + adapter GGUF (top-1,
the largest log-probability gap on its top-5 tokens) and whether 10-token greedy completions are identical;
the base alone is measured the same way as the reference point. Then generation tokens/s of base, base + adapter
and the F16 merge, interleaved over rounds, as ratios to the base.

Run: ``python -m evals.bench_merge --data-dir DIR --name NAME`` (after `concord finetune train --name NAME`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["bench_merge"]

TYPES = ("f16", "f32", "q8_0")


def _delta_kept(adapter_dir: Path, base_gguf: Path, out_type: str) -> dict[str, float]:
    """Relative L2 error of the stored delta ``(stored W') - W - delta`` over ``delta``, across merged tensors."""
    import gguf
    import numpy as np

    from agent.finetune.export import _permute
    from agent.finetune.merge import read_lora_deltas

    reader = gguf.GGUFReader(base_gguf)
    heads = {"attn_q": int(reader.get_field("llama.attention.head_count").contents()),
             "attn_k": int(reader.get_field("llama.attention.head_count_kv").contents())}
    tensors = {t.name: t for t in reader.tensors}
    qtype = gguf.GGMLQuantizationType[out_type.upper()]
    errors, ratios = [], []
    for name, delta in read_lora_deltas(adapter_dir).items():
        base = gguf.quants.dequantize(tensors[name].data, tensors[name].tensor_type)
        part = name.split(".")[2]
        delta = _permute(delta, heads[part]) if part in heads else delta
        stored = gguf.quants.dequantize(gguf.quants.quantize((base + delta).astype(np.float32), qtype), qtype)
        errors.append(float(np.linalg.norm(stored - base - delta) / np.linalg.norm(delta)))
        ratios.append(float(np.linalg.norm(delta) / np.linalg.norm(base)))
    return {"delta_error_median": statistics.median(errors), "delta_error_max": max(errors), "delta_over_weight_median": statistics.median(ratios)}


def _probe(base_url: str, prompts: list[str], *, lora_scale: float | None = None) -> dict[str, Any]:
    import httpx

    url = base_url.removesuffix("/v1") + "/completion"
    extra: dict[str, Any] = {"cache_prompt": False} | ({"lora": [{"id": 0, "scale": lora_scale}]} if lora_scale is not None else {})
    top = [{t["id"]: t["logprob"] for t in httpx.post(url, json={"prompt": p, "n_predict": 1, "n_probs": 10, **extra}, timeout=300)
            .json()["completion_probabilities"][0]["top_logprobs"]} for p in prompts]
    text = [httpx.post(url, json={"prompt": p, "n_predict": 10, "temperature": 0, "top_k": 1, "seed": 42, **extra}, timeout=300)
            .json()["content"] for p in prompts]
    return {"top": top, "text": text}


def _versus(probe: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    gaps, same_top1 = [], 0
    for mine, theirs in zip(probe["top"], ref["top"], strict=True):
        floor = min(mine.values())
        best = sorted(theirs, key=theirs.__getitem__, reverse=True)[:5]
        gaps.append(max(abs(theirs[k] - mine.get(k, floor)) for k in best))
        same_top1 += max(mine, key=mine.__getitem__) == best[0]
    same_text = sum(a == b for a, b in zip(probe["text"], ref["text"], strict=True))
    return {"logprob_gap_mean": round(statistics.mean(gaps), 4), "same_top1": same_top1, "same_greedy_text": same_text, "n": len(gaps)}


def _tokens_per_s(gguf_path: Path, lora: Path | None) -> float:
    import httpx

    from agent.llm.embedded import EmbeddedServer

    with EmbeddedServer(gguf_path, port=0, threads=1, lora_adapter=lora) as server:
        body = {"prompt": "The history of decentralized governance", "n_predict": 64, "temperature": 0, "ignore_eos": True}
        reply = httpx.post(server.base_url.removesuffix("/v1") + "/completion", json=body, timeout=300).json()
    return float(reply["timings"]["predicted_per_second"])


def bench_merge(data_dir: Path, name: str, *, prompts: int = 12, rounds: int = 5) -> dict[str, Any]:
    """The figures described in the module docstring, as one JSON-able dict."""
    from agent.finetune.dataset import load_examples
    from agent.finetune.merge import write_merged_gguf
    from agent.finetune.model import embedded_gguf_path
    from agent.finetune.registry import get_model, models_dir
    from agent.llm.embedded import EmbeddedServer
    from ingest.core.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    model = get_model(settings, name)
    base, adapter = embedded_gguf_path(), Path(model.adapter_gguf or "")
    examples = [e for e in load_examples(models_dir(settings) / name / "test.jsonl") if e.task == "stance"][:prompts]
    texts = ["".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in e.messages) + "<|im_start|>assistant\n" for e in examples]
    with EmbeddedServer(base, port=0, threads=1, lora_adapter=adapter) as server:
        reference = _probe(server.base_url, texts, lora_scale=1.0)
        result: dict[str, Any] = {"model": name, "prompts": len(texts), "base": _versus(_probe(server.base_url, texts, lora_scale=0.0), reference)}
    with tempfile.TemporaryDirectory() as tmp:
        merged: dict[str, Path] = {}
        for out_type in TYPES:
            merged[out_type] = write_merged_gguf(base, Path(model.adapter_dir), Path(tmp) / f"{out_type}.gguf", out_type=out_type).path
            with EmbeddedServer(merged[out_type], port=0, threads=1) as server:
                versus = _versus(_probe(server.base_url, texts), reference)
            size = merged[out_type].stat().st_size / base.stat().st_size
            result[f"merged_{out_type}"] = {**versus, **_delta_kept(Path(model.adapter_dir), base, out_type), "size_vs_base": round(size, 3)}
        runs: dict[str, list[float]] = {"base": [], "base+adapter": [], "merged_f16": []}
        for _ in range(rounds):
            runs["base"].append(_tokens_per_s(base, None))
            runs["base+adapter"].append(_tokens_per_s(base, adapter))
            runs["merged_f16"].append(_tokens_per_s(merged["f16"], None))
    baseline = statistics.median(runs["base"])
    result["generation_speed_vs_base"] = {k: round(statistics.median(v) / baseline, 3) for k, v in runs.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, help="Also write the JSON here")
    args = parser.parse_args()
    result = bench_merge(args.data_dir, args.name, prompts=args.prompts, rounds=args.rounds)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
