"""Stance-labelling throughput and latency: through an OpenAI-compatible server (vLLM, embedded) or transformers on a GPU.

Server mode sends ``concurrency`` requests at a time (vLLM batches them continuously); transformers mode
runs batched greedy generation in this process (the fallback where vLLM cannot be installed). Both label
the same prompts as :class:`agent.finetune.stance.FineTunedStance`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from agent.finetune.dataset import Example
from agent.finetune.evaluate import split_prompt

__all__ = ["ThroughputResult", "measure_server", "measure_transformers"]


@dataclass
class ThroughputResult:
    engine: str
    model: str
    device: str
    n: int
    concurrency: int
    seconds: float
    labels_per_s: float
    latency_p50_s: float
    latency_p95_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)


def measure_server(base_url: str, model: str, examples: list[Example], *, concurrency: int = 8, engine: str = "openai-compatible") -> ThroughputResult:
    """Label every stance example through the server with ``concurrency`` requests in flight."""
    from agent.finetune.stance import FineTunedStance

    rows = [split_prompt(e) for e in examples if e.task == "stance"]
    classifier = FineTunedStance(base_url=base_url, model=model)
    latencies: list[float] = []

    def one(row: tuple[str, str]) -> None:
        started = time.perf_counter()
        classifier.classify([row[0]], proposal_titles=[row[1]])
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, rows))
    seconds = time.perf_counter() - started
    return ThroughputResult(engine, model, "server", len(rows), concurrency, round(seconds, 3), round(len(rows) / seconds, 3),
                            _pct(latencies, 0.5), _pct(latencies, 0.95))


def measure_transformers(base: str, examples: list[Example], *, adapter_dir: str | None = None, batch_size: int = 32, device: str = "auto") -> ThroughputResult:
    """Batched greedy labelling with transformers (+ the PEFT adapter) on ``device`` (a GPU where there is one)."""
    import torch

    from agent.finetune.model import load_base, resolve_device

    device = resolve_device(device)
    model, tokenizer = load_base(base, device=device)
    if adapter_dir:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter_dir)
    model.eval()
    tokenizer.padding_side = "left"
    prompts = [tokenizer.apply_chat_template(e.messages, add_generation_prompt=True, tokenize=False) for e in examples if e.task == "stance"]
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(0, len(prompts), batch_size):
        chunk = prompts[i : i + batch_size]
        t0 = time.perf_counter()
        batch = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        with torch.no_grad():
            # the answer is the JSON the server is asked for, {"stance": "off-topic"}: about 10 tokens
            model.generate(**batch, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        latencies.extend([time.perf_counter() - t0] * len(chunk))
    seconds = time.perf_counter() - started
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
    return ThroughputResult("transformers", base + (f"+{adapter_dir}" if adapter_dir else ""), name, len(prompts), batch_size,
                            round(seconds, 3), round(len(prompts) / seconds, 3), _pct(latencies, 0.5), _pct(latencies, 0.95))


