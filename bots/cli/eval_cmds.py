"""`concord eval ...`: measure stance classifiers and outcome predictions on held-out, time-ordered data."""

from __future__ import annotations

from pathlib import Path

import typer

from bots.cli.context import get_context, print_json
from bots.cli.eval_ask_cmds import ask_eval
from bots.cli.eval_faithfulness_cmds import faithfulness_eval
from bots.cli.eval_readme_cmds import readme_eval
from bots.cli.eval_retrieval_cmds import retrieval_eval
from bots.cli.eval_stance_cmds import stance_eval

__all__ = ["eval_app"]

eval_app = typer.Typer(help="Evaluate Concord's models on held-out data (stance, outcome prediction).", no_args_is_help=True)


@eval_app.command("predict")
def predict(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Directory in the shared data format (proposals.jsonl, optional votes.jsonl, posts.jsonl, proposal_updates.jsonl)"),
    since: str | None = typer.Option(None, "--since", help="Score only proposals opened on or after this date (YYYY-MM-DD); earlier ones are history"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: n, model, baselines (+ skip counts)"),
    markdown: bool = typer.Option(False, "--markdown", help="Print the README 'Prediction quality' block"),
    out: Path | None = typer.Option(None, "--out", help="Also write NAME.json, NAME.md and NAME_reliability.png here (NAME: --name, default predict)"),
    refit_every: int = typer.Option(25, "--refit-every", help="Refit after this many newly closed proposals"),
    calibration: str = typer.Option("platt", "--calibration", help="platt or isotonic"),
    stance: bool = typer.Option(False, "--stance/--no-stance", help="Score pre-vote discussion with the trained stance classifier (loads MiniLM)"),
    out_name: str = typer.Option("predict", "--name", help="File name stem for --out: NAME.json, NAME.md, NAME_reliability.png"),
) -> None:
    """Walk-forward evaluation of P(pass) and vote shares: each proposal is predicted by a model trained only on
    proposals that had closed before it opened, next to three baselines measured in the same run.

    Example: concord eval predict --data ../shared/data --since 2023-01-01 --json
    """
    from evals.predict import render_markdown, run_predict_eval, write_outputs

    cli = get_context(ctx)
    classifier = None
    if stance:
        from agent.stance.trained import load_trained_stance

        classifier = load_trained_stance()
    with cli.err_console.status("walk-forward evaluation ..."):
        summary, result = run_predict_eval(data, since=since, refit_every=refit_every, calibration=calibration, stance=classifier)
    if out is not None:
        for path in write_outputs(summary, result, out, stem=out_name):
            cli.err_console.print(f"wrote {path}")
    if as_json:
        print_json({k: v for k, v in summary.items()})
        return
    if markdown:
        typer.echo(render_markdown(summary), nl=False)
        return
    from rich.table import Table

    table = Table(title=f"Walk-forward outcome prediction, n={summary['n']} (skipped {summary['n_skipped']})")
    table.add_column("predictor")
    for metric in ("brier", "log_loss", "accuracy", "roc_auc", "ece", "vote_share_mae"):
        table.add_column(metric, justify="right")
    rows = [("model", summary["model"])] + list(summary["baselines"].items())
    for name, block in rows:
        table.add_row(name, *("–" if v is None else f"{v:.3f}" for v in block.values()))
    cli.console.print(table)
    cli.console.print(f"skipped: {summary['skipped']}; history only: {summary['n_history_only']}; refits: {summary['refits']}")


# Each further `concord eval` command lives in a module of its own.
eval_app.command("stance")(stance_eval)
eval_app.command("retrieval")(retrieval_eval)
eval_app.command("faithfulness")(faithfulness_eval)
eval_app.command("readme")(readme_eval)
eval_app.command("ask")(ask_eval)
