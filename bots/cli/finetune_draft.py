"""`concord finetune train --task draft`: tune the drafter on the DAO's passed proposals and score it held-out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["structure_agreement", "train_draft"]


def structure_agreement(text: str, template_headings: list[str]) -> float:
    """Share of the template's headings that a generated draft uses, in the template's order (longest in-order run)."""
    from governance.draft_template import proposal_headings

    wanted = [h.lower() for h in template_headings]
    got = [h.lower() for h in proposal_headings(text)]
    # longest common subsequence between the two heading lists, over the template's length
    table = [[0] * (len(got) + 1) for _ in range(len(wanted) + 1)]
    for i, w in enumerate(wanted):
        for j, g in enumerate(got):
            table[i + 1][j + 1] = table[i][j] + 1 if w == g else max(table[i][j + 1], table[i + 1][j])
    return round(table[-1][-1] / max(len(wanted), 1), 3)


def train_draft(cli: Any, *, dao: str, name: str, config: Any, on_step: Any, results: Path | None) -> dict[str, Any]:
    from agent.finetune.draft_task import run_draft_finetune
    from agent.finetune.registry import TunedModel, register_model
    from governance.draft_template import learn_template

    with cli.store().session() as session:
        template = learn_template(session, dao)
    run = run_draft_finetune(cli.store(), dao=dao, config=config, template=template.headings, on_step=on_step)
    base_agree = [structure_agreement(g["base"], template.headings) for g in run.generations]
    tuned_agree = [structure_agreement(g["tuned"], template.headings) for g in run.generations]
    out = {
        "task": "draft", "dao": dao, "name": name, "steps": run.train.steps, "seconds": run.train.seconds,
        "device": run.train.device, "n_train": run.n_train, "n_test": run.n_test,
        "split": "structured passed proposals before 2025, oldest 75% train, newest 25% held out (never trained on)",
        "format": "title + the proposal's own headings -> '## Heading' sections of <= 170 characters each; drafts are "
                  "asked for the template's headings",
        "perplexity": {"base": run.perplexity_base, "tuned": run.perplexity_tuned},
        "template": template.headings, "template_basis": template.basis,
        "structure_agreement": {"base": round(sum(base_agree) / max(len(base_agree), 1), 3),
                                "tuned": round(sum(tuned_agree) / max(len(tuned_agree), 1), 3),
                                "n_generated": len(run.generations)},
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
