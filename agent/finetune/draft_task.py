"""The draft task: LoRA on the DAO's passed proposals (title -> body, before 2025), evaluated on later passed
proposals it never saw: perplexity of their bodies under the tuned model and its base, and greedy drafts for their
titles (whose headings a caller compares with the DAO's template)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from agent.finetune.dataset import Example
from agent.finetune.train import TrainConfig, TrainResult, _collate, encode_example, train_lora
from ingest.core.domain import Dao, Proposal
from ingest.core.errors import InputError
from ingest.core.store import Store

__all__ = ["DraftRun", "draft_examples", "run_draft_finetune"]

CUTOFF = datetime(2025, 1, 1, tzinfo=UTC)
BODY_CHARS = 900


def _when(p: Proposal) -> datetime | None:
    return p.created_at or p.start


def draft_examples(store: Store, dao: str) -> list[Example]:
    """One example per passed proposal dated before 2025, oldest first (same-title duplicates dropped)."""
    with store.session() as session:
        row = session.exec(select(Dao).where(Dao.slug == dao)).first()
        if row is None:
            raise InputError(f"Unknown DAO {dao!r}; ingest it first.")
        proposals = session.exec(select(Proposal).where(Proposal.dao_id == row.id, Proposal.outcome == "passed")
                                 .order_by(col(Proposal.id))).all()
        name = row.name
    seen: set[str] = set()
    out = []
    for p in sorted((p for p in proposals if (w := _when(p)) is not None and w < CUTOFF and len(p.body or "") > 200),
                    key=lambda p: (_when(p), p.id)):
        key = " ".join(p.title.lower().split())
        if key in seen:
            continue
        seen.add(key)
        out.append(Example(task="draft", messages=[
            {"role": "system", "content": f"You write governance proposals for {name} in its usual structure."},
            {"role": "user", "content": f"Write the proposal titled: {p.title}"}], answer=(p.body or "")[:BODY_CHARS], ref=str(p.id)))
    return out


@dataclass
class DraftRun:
    train: TrainResult
    n_train: int
    n_test: int
    perplexity_base: float
    perplexity_tuned: float
    generations: list[dict[str, str]] = field(default_factory=list)


def _perplexity(model: Any, tokenizer: Any, examples: list[Example], max_length: int, device: str) -> float:
    import torch

    total, tokens = 0.0, 0
    model.eval()
    with torch.no_grad():
        for e in examples:
            ids, labels = encode_example(tokenizer, e, max_length)
            batch = _collate([(ids, labels)], tokenizer.pad_token_id, device)
            n = sum(1 for x in labels[1:] if x != -100)
            total += float(model(**batch).loss) * n
            tokens += n
    return round(math.exp(total / max(tokens, 1)), 3)


def _generate(model: Any, tokenizer: Any, example: Example, max_new_tokens: int) -> str:
    import torch

    prompt = tokenizer.apply_chat_template(example.messages, add_generation_prompt=True, tokenize=False)
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(model.device)
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return str(tokenizer.decode(out[0][ids.shape[1]:], skip_special_tokens=True))


def run_draft_finetune(store: Store, *, dao: str, config: TrainConfig, test_share: float = 0.25, max_test: int = 12,
                       generate: int = 3, max_new_tokens: int = 160, on_step: Any = None) -> DraftRun:
    """Train on the older passed proposals, hold out the newest ``test_share`` (never trained on), and score both."""
    from peft import PeftModel

    from agent.finetune.model import load_base, resolve_device

    examples = draft_examples(store, dao)
    if len(examples) < 8:
        raise InputError(f"{dao} has {len(examples)} passed proposals with a body before 2025; the draft task needs 8+.")
    cut = int(len(examples) * (1 - test_share))
    train, test = examples[:cut], examples[cut:][:max_test]
    result = train_lora(train, config, on_step=on_step)
    device = resolve_device(config.device)
    base, tokenizer = load_base(config.base, device=device)
    ppl_base = _perplexity(base, tokenizer, test, config.max_length, device)
    gens = [{"ref": e.ref, "title": e.messages[1]["content"], "base": _generate(base, tokenizer, e, max_new_tokens)} for e in test[:generate]]
    tuned = PeftModel.from_pretrained(base, str(result.adapter_dir))
    ppl_tuned = _perplexity(tuned, tokenizer, test, config.max_length, device)
    for g, e in zip(gens, test):
        g["tuned"] = _generate(tuned, tokenizer, e, max_new_tokens)
    return DraftRun(result, len(train), len(test), ppl_base, ppl_tuned, gens)
