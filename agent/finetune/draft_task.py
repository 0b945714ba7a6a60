"""The draft task: LoRA on the DAO's passed proposals before 2025, taught to write a proposal in the sections its
prompt names. Each example is "title + the proposal's own section headings, in order -> the body rewritten as
``## Heading`` sections, each cut to a few sentences", so the headings, their order and the markdown form fit in the
token budget the model is trained on. Evaluated on later passed proposals it never saw: perplexity of their bodies
(same format) under the tuned model and its base, and greedy drafts whose prompt names the DAO's template headings
(which a caller compares with the template).

The same prompt (:func:`draft_messages`) is what the tuned drafter is asked at drafting time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from agent.finetune.dataset import Example
from agent.finetune.train import TrainConfig, TrainResult, _collate, encode_example, train_lora
from ingest.core.domain import Dao, Proposal
from ingest.core.errors import InputError
from ingest.core.store import Store

__all__ = ["DraftRun", "base_heldout", "draft_examples", "draft_messages", "draft_split", "fit_example", "heldout_prompts", "run_draft_finetune",
           "sectioned_body", "split_by_time"]

CUTOFF = datetime(2025, 1, 1, tzinfo=UTC)
#: Characters kept of each section's text (whole words; ~25 tokens), so a 5-7 section body fits in 384 tokens.
SECTION_CHARS = 100
#: At most this many sections per example (the rest of a long proposal is dropped).
MAX_SECTIONS = 7
#: A proposal needs at least this many headings to teach structure.
MIN_SECTIONS = 3


def _when(p: Proposal) -> datetime | None:
    return p.created_at or p.start


def _ask(title: str, headings: Sequence[str]) -> str:
    return f"Write the proposal titled: {title}\nSections, in this order: {'; '.join(headings)}"


def draft_messages(dao_name: str, title: str, headings: Sequence[str]) -> list[dict[str, str]]:
    """The drafter's prompt: write the proposal titled ``title`` in ``headings``' sections, in that order."""
    return [
        {"role": "system", "content": f"You write governance proposals for {dao_name} in its usual structure."},
        {"role": "user", "content": _ask(title, headings)},
    ]


def _cut(text: str, limit: int) -> str:
    flat = " ".join(text.replace("*", "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " …"


def sectioned_body(body: str, *, title: str = "") -> tuple[list[str], str] | None:
    """(headings, the body as ``## Heading`` sections each cut to SECTION_CHARS), or None when the body has fewer
    than MIN_SECTIONS non-empty sections. A heading repeating the title is not a section."""
    from governance.draft_template import split_sections

    own_title = " ".join(title.lower().split())
    sections = [(h, _cut(t, SECTION_CHARS)) for h, t in split_sections(body)
                if t.strip() and " ".join(h.lower().split()) != own_title][:MAX_SECTIONS]
    if len(sections) < MIN_SECTIONS:
        return None
    return [h for h, _ in sections], "\n\n".join(f"## {h}\n\n{t}" for h, t in sections)


def draft_examples(store: Store, dao: str) -> list[Example]:
    """One example per structured passed proposal dated before 2025, oldest first (same-title duplicates dropped)."""
    with store.session() as session:
        row = session.exec(select(Dao).where(Dao.slug == dao)).first()
        if row is None:
            raise InputError(f"Unknown DAO {dao!r}; ingest it first.")
        proposals = session.exec(select(Proposal).where(Proposal.dao_id == row.id, Proposal.outcome == "passed")
                                 .order_by(col(Proposal.id))).all()
    name = _dao_name(store, dao)
    seen: set[str] = set()
    out = []
    for p in sorted((p for p in proposals if (w := _when(p)) is not None and w < CUTOFF and len(p.body or "") > 200),
                    key=lambda p: (_when(p), p.id)):
        key = " ".join(p.title.lower().split())
        shaped = sectioned_body(p.body or "", title=p.title)
        if key in seen or shaped is None:
            continue
        seen.add(key)
        headings, answer = shaped
        out.append(Example(task="draft", messages=draft_messages(name, p.title, headings), answer=answer, ref=str(p.id)))
    return out


_ANSWER_HEADING = re.compile(r"^## (.+)$", re.MULTILINE)


def _answer_sections(answer: str) -> list[tuple[str, str]]:
    parts = _ANSWER_HEADING.split(answer)
    return [(parts[i].strip(), parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


def fit_example(tokenizer: Any, example: Example, max_length: int) -> Example | None:
    """``example`` with its last sections dropped (from the answer and from the prompt's heading list alike) until
    prompt and answer fit in ``max_length`` tokens, so training never cuts into the prompt's heading list or the
    answer; None when even MIN_SECTIONS sections do not fit."""
    sections = _answer_sections(example.answer)
    title = _title(example)
    while len(sections) >= MIN_SECTIONS:
        messages = [example.messages[0], {"role": "user", "content": _ask(title, [h for h, _ in sections])}]
        fitted = Example(task=example.task, messages=messages, ref=example.ref,
                         answer="\n\n".join(f"## {h}\n\n{t}" for h, t in sections))
        ids, _ = encode_example(tokenizer, fitted, 10**6)
        if len(ids) <= max_length:
            return fitted
        sections = sections[:-1]
    return None


def split_by_time(examples: list[Example], test_share: float) -> tuple[list[Example], list[Example]]:
    """Oldest ``1 - test_share`` for training, the newest rest held out (``examples`` come oldest first)."""
    cut = int(len(examples) * (1 - test_share))
    return examples[:cut], examples[cut:]


@dataclass
class DraftRun:
    train: TrainResult
    n_train: int
    n_test: int
    perplexity_base: float
    perplexity_tuned: float
    generations: list[dict[str, str]] = field(default_factory=list)
    #: training examples per DAO (the target DAO and any pooled ones)
    train_by_dao: dict[str, int] = field(default_factory=dict)
    #: examples left out because MIN_SECTIONS sections did not fit in max_length tokens
    too_long: int = 0


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


def generate_text(model: Any, tokenizer: Any, messages: list[dict[str, str]], max_new_tokens: int) -> str:
    """Greedy continuation of a chat prompt (what the tuned drafter writes at drafting time too)."""
    import torch

    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(model.device)
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return str(tokenizer.decode(out[0][ids.shape[1]:], skip_special_tokens=True))


def _dao_name(store: Store, dao: str) -> str:
    with store.session() as session:
        row = session.exec(select(Dao).where(Dao.slug == dao)).first()
        return (row.name if row is not None else None) or dao


def _title(example: Example) -> str:
    return example.messages[1]["content"].split("\n", 1)[0].removeprefix("Write the proposal titled: ")


def draft_split(store: Store, *, dao: str, tokenizer: Any, max_length: int, pool: Sequence[str] = (),
                test_share: float = 0.25) -> tuple[list[Example], list[Example], dict[str, int], int]:
    """(training examples of ``dao`` and of the ``pool`` DAOs, ``dao``'s held-out examples, training examples per DAO,
    examples too long to keep). Each DAO is split by time on its own: its oldest ``1 - test_share`` train, its newest
    are held out; the system prompt names the DAO, so pooled proposals are tagged with their DAO."""
    train: list[Example] = []
    test: list[Example] = []
    per_dao: dict[str, int] = {}
    too_long = 0
    for slug in [dao, *[p for p in pool if p != dao]]:
        shaped = draft_examples(store, slug)
        fitted = [f for f in (fit_example(tokenizer, e, max_length) for e in shaped) if f is not None]
        too_long += len(shaped) - len(fitted)
        if slug == dao and len(fitted) < 8:
            raise InputError(f"{dao} has {len(fitted)} passed proposals before 2025 with {MIN_SECTIONS}+ sections that fit "
                             f"in {max_length} tokens; the draft task needs 8+ (ingest more of its history or raise "
                             "--max-length).")
        older, newer = split_by_time(fitted, test_share)
        train += older
        per_dao[slug] = len(older)
        if slug == dao:
            test = newer
    return train, test, per_dao, too_long


def heldout_prompts(store: Store, *, dao: str, test: Sequence[Example], template: Sequence[str],
                    generate: int | None = None) -> list[tuple[Example, list[dict[str, str]]]]:
    """(held-out example, the drafting prompt for its title asking for ``template``'s headings), for every held-out
    example or the first ``generate``."""
    name = _dao_name(store, dao)
    return [(e, draft_messages(name, _title(e), template)) for e in (test if generate is None else test[:generate])]


def base_heldout(base: Any, tokenizer: Any, test: Sequence[Example], prompts: Sequence[tuple[Example, Any]], *,
                 config: TrainConfig, max_new_tokens: int, device: str) -> tuple[float, list[str]]:
    """The base model's side of the held-out evaluation (perplexity, greedy drafts), kept in
    ``<out_dir>/base_heldout.json`` and reused while the base, held-out set, prompts and lengths are the same: the
    base does not change with training, so a resumed or repeated run need not recompute it."""
    import json

    key = {"base": config.base, "refs": [e.ref for e in test], "answers": [e.answer for e in test],
           "prompts": [m for _, m in prompts], "max_length": config.max_length, "max_new_tokens": max_new_tokens}
    cache = config.out_dir / "base_heldout.json"
    if cache.exists():
        kept = json.loads(cache.read_text())
        if kept.get("key") == key:
            return float(kept["perplexity"]), list(kept["drafts"])
    ppl = _perplexity(base, tokenizer, list(test), config.max_length, device)
    drafts = [generate_text(base, tokenizer, m, max_new_tokens) for _, m in prompts]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "perplexity": ppl, "drafts": drafts}))
    return ppl, drafts


def run_draft_finetune(store: Store, *, dao: str, config: TrainConfig, template: Sequence[str], pool: Sequence[str] = (),
                       test_share: float = 0.25, max_test: int | None = None, generate: int | None = None,
                       max_new_tokens: int = 320, on_step: Any = None) -> DraftRun:
    """Train on the older passed proposals (of ``dao`` and any ``pool`` DAOs), hold out ``dao``'s newest
    ``test_share`` (never trained on), and score both the base model and the tuned one: perplexity of the held-out
    bodies, and greedy drafts of every held-out title (or the first ``generate``) asked for the ``template`` headings."""
    from peft import PeftModel

    from agent.finetune.model import load_base, resolve_device

    device = resolve_device(config.device)
    base, tokenizer = load_base(config.base, device=device)
    train, test, per_dao, too_long = draft_split(store, dao=dao, tokenizer=tokenizer, max_length=config.max_length,
                                                 pool=pool, test_share=test_share)
    test = test[:max_test] if max_test is not None else test
    result = train_lora(train, config, on_step=on_step)
    prompts = heldout_prompts(store, dao=dao, test=test, template=template, generate=generate)
    ppl_base, base_drafts = base_heldout(base, tokenizer, test, prompts, config=config, max_new_tokens=max_new_tokens,
                                         device=device)
    gens = [{"ref": e.ref, "title": _title(e), "base": text} for (e, _), text in zip(prompts, base_drafts)]
    tuned = PeftModel.from_pretrained(base, str(result.adapter_dir))
    ppl_tuned = _perplexity(tuned, tokenizer, test, config.max_length, device)
    for g, (_, m) in zip(gens, prompts):
        g["tuned"] = generate_text(tuned, tokenizer, m, max_new_tokens)
    return DraftRun(result, len(train), len(test), ppl_base, ppl_tuned, gens, per_dao, too_long)
