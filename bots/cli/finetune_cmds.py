"""`concord finetune ...`: tune the chat model on a DAO's own history and compare it with its base."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from bots.cli.context import get_context, print_json

__all__ = ["finetune_app"]

finetune_app = typer.Typer(help="Fine-tune the chat model (LoRA) on a DAO's own votes, proposals and threads.", no_args_is_help=True)


@finetune_app.command("train")
def train(
    ctx: typer.Context,
    dao: str = typer.Option(..., "--dao", help="DAO slug whose history to learn from"),
    name: str = typer.Option(..., "--name", help="Name to register the tuned model under (select it with llm.lora_adapter)"),
    model_dir: Path | None = typer.Option(None, "--model-dir", help="Hugging Face model directory to tune (GPU); default: the embedded SmolLM2 GGUF"),
    epochs: float = typer.Option(2.0, "--epochs", help="Passes over the balanced training set"),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after this many optimiser steps"),
    batch_size: int = typer.Option(8, "--batch-size"),
    max_length: int = typer.Option(256, "--max-length", help="Tokens per example (stance: the prompt middle is trimmed; draft: the last sections are dropped)"),
    learning_rate: float = typer.Option(5e-4, "--lr"),
    rank: int = typer.Option(8, "--rank", help="LoRA rank"),
    targets: str = typer.Option("q_proj,v_proj", "--targets", help="Comma-separated module names LoRA adapts (e.g. q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)"),
    save_every: int = typer.Option(10, "--save-every", help="Checkpoint every N steps (a rerun resumes from the latest)"),
    max_train: int | None = typer.Option(None, "--max-train", help="Use only the first N training examples"),
    max_test: int | None = typer.Option(None, "--max-test", help="Hold out only the first N test examples"),
    max_aux: int = typer.Option(120, "--max-aux", help="At most N outcome/summary examples next to the stance ones"),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda"),
    labels: Path | None = typer.Option(None, "--labels", help="Labelled posts to add as stance examples (default evals/data/stance_labels.jsonl)"),
    use_labels: bool = typer.Option(True, "--use-labels/--no-labels", help="Add the labelled posts (they teach off-topic and forum wording) or learn from the DAO's vote reasons alone"),
    as_json: bool = typer.Option(False, "--json", help="Print the registered model as JSON"),
    task: str = typer.Option("stance", "--task", help="stance (default) or draft (title -> body on the DAO's passed proposals, scored held-out)"),
    results: Path | None = typer.Option(None, "--results", help="With --task draft: write the evaluation JSON here"),
    drafts: int | None = typer.Option(None, "--drafts", help="With --task draft: greedy drafts of only the first N held-out titles (default: every one)"),
    max_new_tokens: int = typer.Option(320, "--max-new-tokens", help="With --task draft: tokens each held-out draft may run to"),
    pool: list[str] = typer.Option([], "--pool", help="With --task draft: also train on this DAO's older passed proposals (repeatable; each DAO is split by time on its own, scored on --dao only)"),
) -> None:
    """Build the instruction dataset (reasons and labelled posts -> stance, proposals -> outcome, threads -> summary;
    before 2025), train LoRA, export. Stance examples are split as `concord eval stance` splits them, so
    `concord eval stance --model NAME` scores the tuned model, its base and the trained classifier on texts none saw.

    Writes <data_dir>/models/NAME/adapter (for vLLM --enable-lora --lora-modules NAME=...), and for the embedded model
    adapter.gguf (applied at load time: llm.lora_adapter = NAME) and merged.gguf (served alone: llm.merged_model = NAME).
    Rerunning the same command resumes from the last checkpoint.

    Example: concord finetune train --dao compound --name compound-stance --epochs 2
    """
    from agent.finetune.run import run_finetune
    from agent.finetune.train import TrainConfig
    from agent.stance.dataset import load_post_labels

    cli = get_context(ctx)
    out = cli.settings.data_dir / "models" / name
    config = TrainConfig(
        out_dir=out,
        base=str(model_dir) if model_dir else "smollm2",
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        max_length=max_length,
        learning_rate=learning_rate,
        rank=rank,
        alpha=2 * rank,
        target_modules=[t.strip() for t in targets.split(",") if t.strip()],
        save_every=save_every,
        device=device,
    )
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=cli.err_console, disable=as_json,
    ) as progress:
        bar = progress.add_task(f"training {name}", total=None)

        def on_step(step: int, total: int, loss: float) -> None:
            progress.update(bar, completed=step, total=total, description=f"training {name} loss={loss:.3f}")

        if task == "draft":
            from bots.cli.finetune_draft import train_draft

            report = train_draft(cli, dao=dao, name=name, config=config, on_step=on_step, results=results, pool=list(pool),
                                 drafts=drafts, max_new_tokens=max_new_tokens)
        elif task != "stance":
            from ingest.core.errors import InputError

            raise InputError(f"Unknown --task {task!r}; use stance or draft.")
        else:
            report = None
    if report is not None:
        if as_json:
            print_json(report)
        else:
            ppl, agree, scores = report["perplexity"], report["structure_agreement"], report["draft_scores"]
            cli.console.print(f"{name}: {report['steps']} steps in {report['seconds']}s on {report['n_train']} passed proposals; "
                              f"held-out perplexity {ppl['base']} (base) -> {ppl['tuned']} (tuned) on {report['n_test']}; "
                              f"template agreement {agree['base']} -> {agree['tuned']} over {agree['n_generated']} drafts; "
                              f"all headings in order {scores['base']['all_headings_in_order']} -> "
                              f"{scores['tuned']['all_headings_in_order']}; trigram repetition {scores['base']['repetition']} -> "
                              f"{scores['tuned']['repetition']}; prose sections the gate takes "
                              f"{scores['base']['gate_accepted_sections']} -> {scores['tuned']['gate_accepted_sections']}")
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=cli.err_console, disable=as_json,
    ) as progress:
        task_bar = progress.add_task(f"training {name}", total=None)

        def on_stance_step(step: int, total: int, loss: float) -> None:
            progress.update(task_bar, completed=step, total=total, description=f"training {name} loss={loss:.3f}")

        run = run_finetune(
            cli.settings, cli.store(), dao=dao, name=name, config=config,
            max_train=max_train, max_test=max_test, max_aux=max_aux, on_step=on_stance_step,
            posts=load_post_labels(labels) if use_labels else (),
        )
    if as_json:
        print_json({**run.model.__dict__, "resumed_from": run.train.resumed_from, "losses": run.train.losses, "seconds": run.train.seconds})
        return
    cli.console.print(f"{name}: {run.train.steps} steps (resumed from {run.train.resumed_from}) on {run.train.device} in {run.train.seconds}s")
    cli.console.print(f"  adapter (vLLM): --enable-lora --lora-modules {run.model.vllm_lora_module()}")
    if run.model.adapter_gguf:
        cli.console.print(f"  adapter GGUF (embedded): {run.model.adapter_gguf}  -> set llm.lora_adapter = \"{name}\"")
    if run.model.merged_gguf:
        cli.console.print(f"  merged GGUF (embedded): {run.model.merged_gguf}  -> set llm.merged_model = \"{name}\"")


@finetune_app.command("compare")
def compare(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered tuned model"),
    as_json: bool = typer.Option(False, "--json"),
    out: Path | None = typer.Option(None, "--out", help="Also write the JSON report here (e.g. evals/results/finetune-stance.json)"),
) -> None:
    """Tuned vs base vs majority class on the held-out vote reasons (macro-F1), via the embedded OpenAI-compatible server.

    Example: concord finetune compare compound-stance --out evals/results/finetune-stance.json
    """
    import json

    from agent.finetune.run import compare_on_heldout

    cli = get_context(ctx)
    report = compare_on_heldout(cli.settings, name, threads=cli.settings.llm.threads)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    if as_json:
        print_json(report)
        return
    table = Table(title=f"Stance on {report['n_test']} held-out reasons ({report['dao']}): {report['gold']}")
    for col in ("model", "macro-F1", "accuracy", "predicted"):
        table.add_column(col)
    for s in report["scores"]:
        table.add_row(s["name"], f"{s['macro_f1']:.3f}", f"{s['accuracy']:.3f}", str(s["predicted"]))
    cli.console.print(table)


@finetune_app.command("merge")
def merge(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered tuned model (tuned from the embedded SmolLM2)"),
    out_type: str = typer.Option("f16", "--type", help="Type of the merged tensors: f16 (default), f32 (exact, larger) or q8_0 (smaller, coarser)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """(Re)build <data_dir>/models/NAME/merged.gguf: the base GGUF with the LoRA adapter merged in, for the embedded server.

    Untargeted tensors and all metadata are copied unchanged. Select it with llm.merged_model = NAME.

    Example: concord finetune merge compound-stance
    """
    from agent.finetune.merge import merge_registered

    cli = get_context(ctx)
    with cli.err_console.status(f"Merging {name} into its base GGUF…"):
        summary = merge_registered(cli.settings, name, out_type=out_type)
    if as_json:
        print_json({"name": name, "merged_gguf": str(summary.path), "merged": list(summary.merged), "copied": summary.copied, "type": summary.out_type})
        return
    cli.console.print(
        f"{name}: {len(summary.merged)} tensors merged ({summary.out_type}), {summary.copied} copied unchanged -> {summary.path}\n"
        f"  serve it on the embedded server with llm.merged_model = \"{name}\" (CONCORD_LLM__MERGED_MODEL={name})"
    )


@finetune_app.command("list")
def list_cmd(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Tuned models registered under the data directory.

    Example: concord finetune list --json
    """
    from agent.finetune.registry import list_models

    cli = get_context(ctx)
    models = list_models(cli.settings)
    if as_json:
        print_json([m.__dict__ for m in models])
        return
    for m in models:
        cli.console.print(f"{m.name}: base={m.base} dao={m.dao} steps={m.steps} gguf={m.adapter_gguf or '-'} merged={m.merged_gguf or '-'}")
