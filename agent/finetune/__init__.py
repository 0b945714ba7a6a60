"""Fine-tuning the chat model on a DAO's own history: dataset, LoRA training, GGUF export and merge, registry, evaluation.

Heavy dependencies (torch, transformers, peft, gguf, xllamacpp) load inside the functions that need them.
"""

from agent.finetune.dataset import (
    Example,
    FinetuneDataset,
    balance,
    build_dataset,
    load_examples,
    save_examples,
)
from agent.finetune.evaluate import StanceScores, evaluate_classifier, score_labels
from agent.finetune.export import write_adapter_gguf
from agent.finetune.merge import MergeSummary, merge_registered, write_merged_gguf
from agent.finetune.model import EMBEDDED_BASE, embedded_gguf_path, load_base
from agent.finetune.prompts import STANCE_LABELS, parse_label, stance_messages
from agent.finetune.registry import (
    TunedModel,
    get_model,
    list_models,
    register_model,
    resolve_lora_adapter,
    resolve_merged_model,
)
from agent.finetune.run import FinetuneRun, compare_on_heldout, run_finetune
from agent.finetune.stance import FineTunedStance
from agent.finetune.train import TrainConfig, TrainResult, train_lora

__all__ = [
    "EMBEDDED_BASE",
    "STANCE_LABELS",
    "Example",
    "FineTunedStance",
    "FinetuneDataset",
    "FinetuneRun",
    "MergeSummary",
    "StanceScores",
    "TrainConfig",
    "TrainResult",
    "TunedModel",
    "balance",
    "build_dataset",
    "compare_on_heldout",
    "embedded_gguf_path",
    "evaluate_classifier",
    "get_model",
    "list_models",
    "load_base",
    "load_examples",
    "merge_registered",
    "parse_label",
    "register_model",
    "resolve_lora_adapter",
    "resolve_merged_model",
    "run_finetune",
    "save_examples",
    "score_labels",
    "stance_messages",
    "train_lora",
    "write_adapter_gguf",
    "write_merged_gguf",
]
