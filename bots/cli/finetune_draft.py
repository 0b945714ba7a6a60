"""`concord finetune train --task draft`: tune the drafter on the DAO's passed proposals and score it held-out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["draft_scores", "repetition", "structure_agreement", "train_draft"]


def structure_agreement(text: str, template_headings: list[str], *, markdown_only: bool = False) -> float:
    """Share of the template's headings that a generated draft uses, in the template's order (longest in-order run).

    A heading is a markdown ``#`` line, a bold-only line or (unless ``markdown_only``) a "Name:" line, the forms the
    drafting service reads a model's body in; ``markdown_only`` counts only the first two (the trained format)."""
    from governance.draft_template import proposal_headings

    wanted = [h.lower() for h in template_headings]
    got = [h.lower() for h in proposal_headings(text, plain=not markdown_only)]
    # longest common subsequence between the two heading lists, over the template's length
    table = [[0] * (len(got) + 1) for _ in range(len(wanted) + 1)]
    for i, w in enumerate(wanted):
        for j, g in enumerate(got):
            table[i + 1][j + 1] = table[i][j] + 1 if w == g else max(table[i][j + 1], table[i + 1][j])
    return round(table[-1][-1] / max(len(wanted), 1), 3)


def repetition(text: str) -> float:
    """Share of a text's word trigrams that repeat an earlier one (0 = none repeated; a looping draft nears 1)."""
    from embeddings.hybrid import tokenize

    words = tokenize(text)
    grams = list(zip(words, words[1:], words[2:]))
    return round(1 - len(set(grams)) / len(grams), 3) if grams else 0.0


def draft_scores(text: str, template: Any, *, idea: str) -> dict[str, Any]:
    """What one generated draft is worth against the DAO's ``template``: in-order heading agreement (any heading
    form the drafting service reads, and markdown only), whether every heading came in order, trigram repetition, and
    how many of the template's prose sections the drafting service's gate would take from it."""
    from governance.draft_compose import body_verdicts

    verdicts = body_verdicts(text, template, idea=idea)
    return {"agreement": structure_agreement(text, template.headings),
            "agreement_markdown": structure_agreement(text, template.headings, markdown_only=True),
            "repetition": repetition(text),
            "prose_sections": len(verdicts), "accepted": sum(1 for why in verdicts.values() if not why),
            "refusals": {h: why for h, why in verdicts.items() if why}}


def _summary(scores: list[dict[str, Any]]) -> dict[str, Any]:
    n = max(len(scores), 1)
    return {"agreement": round(sum(s["agreement"] for s in scores) / n, 3),
            "agreement_markdown": round(sum(s["agreement_markdown"] for s in scores) / n, 3),
            "all_headings_in_order": round(sum(1 for s in scores if s["agreement"] == 1.0) / n, 3),
            "repetition": round(sum(s["repetition"] for s in scores) / n, 3),
            "gate_accepted_sections": f"{sum(s['accepted'] for s in scores)}/{sum(s['prose_sections'] for s in scores)}"}


def train_draft(cli: Any, *, dao: str, name: str, config: Any, on_step: Any, results: Path | None,
                pool: list[str] | None = None, drafts: int | None = None, max_new_tokens: int = 320) -> dict[str, Any]:
    from agent.finetune.draft_task import MIN_SECTIONS, SECTION_CHARS, run_draft_finetune
    from agent.finetune.registry import TunedModel, register_model
    from governance.draft_template import learn_template

    with cli.store().session() as session:
        template = learn_template(session, dao)
    run = run_draft_finetune(cli.store(), dao=dao, config=config, template=template.headings, pool=pool or [],
                             generate=drafts, max_new_tokens=max_new_tokens, on_step=on_step)
    for g in run.generations:
        g["scores"] = {side: draft_scores(g[side], template, idea=g["title"]) for side in ("base", "tuned")}
    summary = {side: _summary([g["scores"][side] for g in run.generations]) for side in ("base", "tuned")}
    out = {
        "task": "draft", "dao": dao, "name": name, "pool": pool or [], "steps": run.train.steps,
        "resumed_from": run.train.resumed_from, "seconds": run.train.seconds, "device": run.train.device, "n_train": run.n_train,
        "train_by_dao": run.train_by_dao, "n_test": run.n_test, "too_long": run.too_long,
        "config": {"epochs": config.epochs, "batch_size": config.batch_size, "max_length": config.max_length,
                   "learning_rate": config.learning_rate, "rank": config.rank, "target_modules": config.target_modules},
        "split": "each DAO's structured passed proposals before 2025 by time: its oldest 75% train, its newest 25% "
                 f"held out (never trained on); scored on {dao}'s held-out only",
        "format": f"title + the proposal's own headings -> '## Heading' sections of <= {SECTION_CHARS} characters "
                  f"each ({MIN_SECTIONS}+ sections, the last ones dropped until it fits max_length); held-out drafts "
                  "are asked for the template's headings",
        "perplexity": {"base": run.perplexity_base, "tuned": run.perplexity_tuned},
        "template": template.headings, "template_basis": template.basis,
        "structure_agreement": {"base": summary["base"]["agreement"], "tuned": summary["tuned"]["agreement"],
                                "n_generated": len(run.generations)},
        "draft_scores": summary, "max_new_tokens": max_new_tokens,
        "losses": run.train.losses, "adapter": str(run.train.adapter_dir), "generations": run.generations,
    }
    register_model(cli.settings, TunedModel(
        name=name, base=config.base, adapter_dir=str(run.train.adapter_dir), adapter_gguf=None, dao=dao,
        steps=run.train.steps, config={"task": "draft", "max_length": config.max_length, "epochs": config.epochs},
        counts={"train": run.n_train, "test": run.n_test},
        evaluation={"perplexity": out["perplexity"], "structure_agreement": out["structure_agreement"]}))
    if results is not None:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(out, indent=2))
    return out
