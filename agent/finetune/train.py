"""LoRA training with resumable checkpoints: a plain torch loop over chat examples, loss on the answer only.

A run writes ``<out>/checkpoints/step-NNNNNN/`` every ``save_every`` steps (adapter weights,
optimizer state, step) and ``<out>/adapter/`` at the end (a PEFT adapter vLLM loads with
``--enable-lora --lora-modules NAME=<out>/adapter``). Running again with the same output
directory resumes from the latest checkpoint; the batch order is a function of the seed and
the epoch, so a resumed run sees exactly the batches the interrupted one had left.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.finetune.dataset import Example
from agent.finetune.model import EMBEDDED_BASE, load_base, resolve_device
from ingest.core.errors import InputError

__all__ = ["TrainConfig", "TrainResult", "encode_example", "latest_checkpoint", "train_lora"]

_STATE = "trainer_state.json"


@dataclass
class TrainConfig:
    """What to train and how. ``base`` is 'smollm2' (the shipped GGUF) or a Hugging Face model directory."""

    out_dir: Path
    base: str = EMBEDDED_BASE
    epochs: float = 2.0
    max_steps: int | None = None
    batch_size: int = 8
    max_length: int = 256
    learning_rate: float = 5e-4
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    save_every: int = 10
    keep_checkpoints: int = 2
    seed: int = 0
    device: str = "auto"


@dataclass
class TrainResult:
    adapter_dir: Path
    steps: int
    resumed_from: int
    losses: list[float]
    device: str
    seconds: float


def encode_example(tokenizer: Any, example: Example, max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels (-100 on the prompt) for one example, trimming the prompt's middle to fit."""
    prompt = tokenizer.apply_chat_template(example.messages, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(
        [*example.messages, {"role": "assistant", "content": example.assistant_text()}], tokenize=False
    )
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    room = max_length - len(answer_ids)
    if room < 8:
        answer_ids = answer_ids[: max_length - 8]
        room = 8
    if len(prompt_ids) > room:
        tail = min(12, room // 2)
        prompt_ids = prompt_ids[: room - tail] + prompt_ids[-tail:]
    return prompt_ids + answer_ids, [-100] * len(prompt_ids) + answer_ids


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest complete checkpoint under ``out_dir/checkpoints``, if any."""
    root = out_dir / "checkpoints"
    done = sorted(p for p in root.glob("step-*") if (p / _STATE).exists()) if root.exists() else []
    return done[-1] if done else None


def _batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    order = list(range(n))
    random.Random(seed * 1000 + epoch).shuffle(order)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _collate(encoded: list[tuple[list[int], list[int]]], pad_id: int, device: str) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in encoded)
    ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    labels = torch.full((len(encoded), width), -100, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (tokens, labs) in enumerate(encoded):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        labels[row, : len(labs)] = torch.tensor(labs)
        mask[row, : len(tokens)] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def _save_checkpoint(model: Any, optimizer: Any, out_dir: Path, step: int, losses: list[float], keep: int) -> None:
    import torch

    ckpt = out_dir / "checkpoints" / f"step-{step:06d}"
    ckpt.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(ckpt))
    torch.save(optimizer.state_dict(), ckpt / "optimizer.pt")
    (ckpt / _STATE).write_text(json.dumps({"step": step, "losses": losses}))  # written last: marks it complete
    older = sorted(p for p in (out_dir / "checkpoints").glob("step-*") if p != ckpt)
    for stale in older[: max(0, len(older) - (keep - 1))]:
        shutil.rmtree(stale, ignore_errors=True)


def train_lora(
    examples: list[Example],
    config: TrainConfig,
    *,
    on_step: Callable[[int, int, float], None] | None = None,
) -> TrainResult:
    """Train (or resume training) a LoRA adapter on ``examples``; return where the adapter is."""
    import time

    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from peft.utils import load_peft_weights

    if not examples:
        raise InputError(
            "No training examples: `concord finetune train` builds them from the DAO's vote reasons and labelled posts "
            "before 2025; ingest its history first (`concord ingest ...`)."
        )
    started = time.monotonic()
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    model, tokenizer = load_base(config.base, device=device)
    model.config.use_cache = False
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    encoded = [encode_example(tokenizer, e, config.max_length) for e in examples]
    per_epoch = math.ceil(len(encoded) / config.batch_size)
    total = config.max_steps or max(1, math.ceil(per_epoch * config.epochs))

    step, losses = 0, []
    ckpt = latest_checkpoint(config.out_dir)
    if ckpt is not None:
        state = json.loads((ckpt / _STATE).read_text())
        set_peft_model_state_dict(model, load_peft_weights(str(ckpt), device=device))
        optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", map_location=device))
        step, losses = int(state["step"]), list(state["losses"])
    resumed_from = step
    (config.out_dir).mkdir(parents=True, exist_ok=True)
    (config.out_dir / "train_config.json").write_text(json.dumps({**asdict(config), "out_dir": str(config.out_dir)}, indent=2))

    model.train()
    while step < total:
        epoch, index = divmod(step, per_epoch)
        batch_ids = _batches(len(encoded), config.batch_size, config.seed, epoch)[index]
        batch = _collate([encoded[i] for i in batch_ids], tokenizer.pad_token_id, device)
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(round(float(loss.detach()), 5))
        if on_step is not None:
            on_step(step, total, losses[-1])
        if step % config.save_every == 0 or step == total:
            _save_checkpoint(model, optimizer, config.out_dir, step, losses, config.keep_checkpoints)

    adapter_dir = config.out_dir / "adapter"
    model.save_pretrained(str(adapter_dir))
    tokenizer.save_pretrained(str(adapter_dir))
    return TrainResult(adapter_dir, step, resumed_from, losses, device, round(time.monotonic() - started, 2))
