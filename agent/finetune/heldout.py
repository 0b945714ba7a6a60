"""Base and tuned chat models as stance classifiers on held-out labels, served by the embedded llama.cpp server.

Both go through the same OpenAI-compatible path (:class:`agent.finetune.stance.FineTunedStance`) with the same
prompt and JSON schema, so the only difference between them is the adapter the server applies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from agent.finetune.dataset import load_examples
from agent.finetune.evaluate import split_prompt
from agent.finetune.model import EMBEDDED_BASE, embedded_gguf_path
from agent.finetune.registry import get_model, models_dir
from agent.finetune.stance import FineTunedStance
from ingest.core.errors import InputError
from ingest.core.settings import ConcordSettings

__all__ = ["check_not_trained_on", "embedded_chat_stance"]


@contextmanager
def embedded_chat_stance(settings: ConcordSettings, name: str | None = None, *, threads: int = 2) -> Iterator[FineTunedStance]:
    """A stance classifier on the embedded server: the base GGUF when ``name`` is None, else the tuned model ``name``."""
    from agent.llm.embedded import EmbeddedServer

    adapter: Path | None = None
    if name is not None:
        model = get_model(settings, name)
        if not model.adapter_gguf:
            raise InputError(f"{name!r} was tuned from {model.base!r}, not the embedded model: evaluate it on a vLLM server instead.")
        adapter = Path(model.adapter_gguf)
    with EmbeddedServer(embedded_gguf_path(), port=0, threads=threads, n_ctx=2048, lora_adapter=adapter) as server:
        model_id = f"{EMBEDDED_BASE}:{server.weights_sha256()[:12]}"
        if name is not None:
            model_id += f"+lora:{name}:{server.adapter_sha256()[:12]}"  # type: ignore[index]
        yield FineTunedStance(base_url=server.base_url, model=server.alias, model_id=model_id)


def check_not_trained_on(settings: ConcordSettings, name: str, texts: Sequence[str]) -> None:
    """Raise InputError when any of ``texts`` was in the tuned model's training set (a leaked held-out text)."""
    get_model(settings, name)  # NotFoundError naming the known models
    train = load_examples(models_dir(settings) / name / "train.jsonl")
    seen = {split_prompt(e)[0].strip() for e in train if e.task == "stance"}
    leaked = [t for t in texts if t.strip() in seen]
    if leaked:
        raise InputError(
            f"{len(leaked)} held-out texts were in {name!r}'s training set (e.g. {leaked[0][:80]!r}): retrain it with "
            "`concord finetune train` (its split follows agent.stance.dataset.is_heldout) before comparing."
        )
