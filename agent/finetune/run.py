"""The whole fine-tuning path as two calls: ``run_finetune`` (dataset -> LoRA -> GGUF -> registry) and ``compare_on_heldout``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agent.finetune.dataset import FinetuneDataset, balance, build_dataset, load_examples, save_examples
from agent.finetune.evaluate import StanceScores, evaluate_classifier, score_labels
from agent.finetune.export import write_adapter_gguf
from agent.finetune.merge import write_merged_gguf
from agent.finetune.model import EMBEDDED_BASE, embedded_gguf_path
from agent.finetune.registry import TunedModel, get_model, models_dir, register_model
from agent.finetune.train import TrainConfig, TrainResult, train_lora
from agent.stance.dataset import LabelledText
from ingest.core.errors import InputError
from ingest.core.settings import ConcordSettings
from ingest.core.store import Store

__all__ = ["FinetuneRun", "compare_on_heldout", "run_finetune"]


@dataclass
class FinetuneRun:
    model: TunedModel
    train: TrainResult
    dataset: FinetuneDataset


def run_finetune(
    settings: ConcordSettings,
    store: Store,
    *,
    dao: str,
    name: str,
    config: TrainConfig | None = None,
    max_train: int | None = None,
    max_test: int | None = None,
    max_aux: int = 120,
    split_seed: int = 0,
    posts: Sequence[LabelledText] = (),
    on_step: Callable[[int, int, float], None] | None = None,
) -> FinetuneRun:
    """Build the dataset for ``dao`` (its vote reasons plus labelled ``posts``), train a LoRA adapter, export it,
    and register it as ``name``."""
    out_dir = models_dir(settings) / name
    config = replace(config or TrainConfig(out_dir=out_dir), out_dir=out_dir)
    dataset = build_dataset(store, dao, seed=split_seed, max_aux=max_aux, posts=posts)
    if max_train is not None:
        dataset.train = dataset.train[:max_train]
    if max_test is not None:
        dataset.test = dataset.test[:max_test]
    save_examples(dataset.train, out_dir / "train.jsonl")
    save_examples(dataset.test, out_dir / "test.jsonl")
    result = train_lora(balance(dataset.train, seed=config.seed), config, on_step=on_step)
    adapter_gguf: str | None = None
    merged_gguf: str | None = None
    if config.base == EMBEDDED_BASE:
        from transformers import AutoConfig

        base_cfg = AutoConfig.from_pretrained(str(embedded_gguf_path().parent), gguf_file=embedded_gguf_path().name)
        adapter_gguf = str(
            write_adapter_gguf(
                result.adapter_dir,
                out_dir / "adapter.gguf",
                n_head=base_cfg.num_attention_heads,
                n_head_kv=base_cfg.num_key_value_heads,
            )
        )
        merged_gguf = str(write_merged_gguf(embedded_gguf_path(), result.adapter_dir, out_dir / "merged.gguf").path)
    model = TunedModel(
        name=name,
        base=config.base,
        adapter_dir=str(result.adapter_dir),
        adapter_gguf=adapter_gguf,
        merged_gguf=merged_gguf,
        dao=dao,
        steps=result.steps,
        config={k: (str(v) if isinstance(v, Path) else v) for k, v in config.__dict__.items()},
        counts=dataset.counts(),
    )
    register_model(settings, model)
    return FinetuneRun(model, result, dataset)


def compare_on_heldout(settings: ConcordSettings, name: str, *, threads: int = 2) -> dict[str, Any]:
    """Base vs tuned (both through the embedded OpenAI-compatible server) and the majority baseline, on the model's
    held-out stance examples (its ``test.jsonl``)."""
    from agent.finetune.heldout import embedded_chat_stance

    model = get_model(settings, name)
    if not model.adapter_gguf:
        raise InputError(f"{name!r} was tuned from {model.base!r}, not the embedded model: compare it on a vLLM server instead.")
    test = load_examples(models_dir(settings) / name / "test.jsonl")
    train = load_examples(models_dir(settings) / name / "train.jsonl")
    gold = [e.answer for e in test if e.task == "stance"]
    majority = Counter(e.answer for e in train if e.task == "stance").most_common(1)[0][0]
    scores: list[StanceScores] = [score_labels("majority-class", gold, [majority] * len(gold))]
    for label, tuned in ((f"{EMBEDDED_BASE} (base)", None), (f"{name} (tuned)", name)):
        with embedded_chat_stance(settings, tuned, threads=threads) as stance:
            scores.append(evaluate_classifier(label, lambda texts, titles: [r.label.value for r in stance.classify(texts, proposal_titles=titles)], test))
    report = {"model": name, "dao": model.dao, "n_test": len(gold), "gold": dict(Counter(gold)), "scores": [s.as_dict() for s in scores]}
    model.evaluation = report
    register_model(settings, model)
    return report
