"""The drafter tuned by ``concord finetune train --task draft``: SmolLM2 with the LoRA adapter, run in-process,
asked exactly as it was trained (:func:`agent.finetune.draft_task.draft_messages`) for a whole body in the DAO's
template headings. What it writes is only a candidate: the drafting service gates every section."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.core.errors import ConfigError

__all__ = ["TunedDrafter"]


class TunedDrafter:
    """``write_body(dao_name=, title=, headings=)`` -> markdown with ``## Heading`` sections (greedy, deterministic).

    The model loads on the first call (a few seconds on a CPU) and is kept for the next drafts."""

    def __init__(self, *, name: str, adapter_dir: Path, base: str = "smollm2", max_new_tokens: int = 320,
                 device: str = "cpu") -> None:
        if not (adapter_dir / "adapter_config.json").exists():
            raise ConfigError(f"The drafter {name!r} has no adapter at {adapter_dir}; retrain it with "
                              f"`concord finetune train --task draft --dao DAO --name {name}`.")
        self.name = name
        self.model = f"tuned:{name}"
        self.adapter_dir = adapter_dir
        self.base = base
        self.max_new_tokens = max_new_tokens
        self.device = device
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from peft import PeftModel

            from agent.finetune.model import load_base

            base, tokenizer = load_base(self.base, device=self.device)
            self._loaded = (PeftModel.from_pretrained(base, str(self.adapter_dir)).eval(), tokenizer)
        return self._loaded

    def write_body(self, *, dao_name: str, title: str, headings: Sequence[str]) -> str:
        from agent.finetune.draft_task import draft_messages, generate_text

        with self._lock:  # one generation at a time (the bot drafts from worker threads)
            model, tokenizer = self._load()
            return generate_text(model, tokenizer, draft_messages(dao_name, title, list(headings)), self.max_new_tokens)
