"""`concord eval ...`: measure stance classifiers and outcome predictions on held-out, time-ordered data."""

from __future__ import annotations

from pathlib import Path

import typer

from bots.cli.context import get_context, print_json
from bots.cli.eval_ask_cmds import ask_eval
from bots.cli.eval_faithfulness_cmds import faithfulness_eval
from bots.cli.eval_readme_cmds import readme_eval
from bots.cli.eval_report_cmds import report_eval
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
    calibration: str = typer.Option("platt", "--calibration", help="platt, isotonic or platt_group (one sigmoid per DAO)"),
    per_dao: bool = typer.Option(False, "--per-dao/--pooled", help="One model per DAO on its own proposals (the store's previous predictor) instead of one pooled model"),
    learner: str = typer.Option("logistic", "--learner", help="logistic or boosting (gradient-boosted trees)"),
    stance: bool = typer.Option(False, "--stance/--no-stance", help="Score pre-vote discussion with the trained stance classifier (loads MiniLM)"),
    out_name: str = typer.Option("predict", "--name", help="File name stem for --out: NAME.json, NAME.md, NAME_reliability.png"),
    features: str = typer.Option("", "--features", help="Feature families beyond history, comma-separated: text,kind,engagement,jury,voters"),
    select: bool = typer.Option(False, "--select/--no-select", help="Choose calibration and recency weighting walk-forward"),
    vector_cache: Path = typer.Option(Path("evals/results/tmp/proposal_vectors.sqlite"), "--vector-cache", help="SQLite cache of MiniLM vectors of proposal texts (for --features text)"),  # noqa: B008
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
        families = tuple(f.strip() for f in features.split(",") if f.strip())
        embed = _proposal_embedder(vector_cache) if "text" in families else None
        summary, result = run_predict_eval(data, since=since, refit_every=refit_every, calibration=calibration,
                                           stance=classifier, families=families, embed=embed, select=select,
                                           per_dao=per_dao, learner=learner)
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
eval_app.command("report")(report_eval)
eval_app.command("ask")(ask_eval)



def _proposal_embedder(vector_cache: Path):  # type: ignore[no-untyped-def]
    """MiniLM behind an on-disk vector cache: proposal texts are embedded once, reruns read the cache."""
    from embeddings import CachedEmbedder, SentenceTransformerEmbedder, VectorCache, minilm_path

    embedder = CachedEmbedder(SentenceTransformerEmbedder(minilm_path()), VectorCache(vector_cache))
    return lambda texts: embedder.embed_batch(texts)


@eval_app.command("predict-ablation")
def predict_ablation(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Directory in the shared data format"),  # noqa: B008
    since: str = typer.Option("2023-01-01", "--since", help="Score proposals opened on or after this date"),
    out: Path = typer.Option(Path("evals/results"), "--out", help="Write predict_ablation.json and .md here"),  # noqa: B008
    rows: str | None = typer.Option(None, "--rows", help="Comma-separated subset of rows (see evals/predict_ablation.py ABLATION_ROWS); rows already in the results JSON for the same --since are kept"),
    vector_cache: Path = typer.Option(Path("evals/results/tmp/proposal_vectors.sqlite"), "--vector-cache", help="SQLite cache of MiniLM vectors of proposal texts"),  # noqa: B008
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Walk-forward ablation of the outcome model's feature families on one scoring set (plus walk-forward
    selection of calibration and recency weighting), with the targets each row meets.

    Example: concord eval predict-ablation --data ../shared/data --since 2023-01-01
    """
    from evals.predict_ablation import ABLATION_ROWS, render_ablation, run_ablation, write_ablation
    from ingest.core.errors import InputError

    cli = get_context(ctx)
    chosen = tuple(r.strip() for r in rows.split(",")) if rows else None
    known = {key for key, *_ in ABLATION_ROWS}
    if chosen and set(chosen) - known:
        raise InputError(f"--rows: unknown {sorted(set(chosen) - known)}; choose from {sorted(known)}")
    results = run_ablation(data, since=since, embed=_proposal_embedder(vector_cache), rows=chosen,
                           log=cli.err_console.print)
    for path in write_ablation(results, out):
        cli.err_console.print(f"wrote {path}")
    if as_json:
        print_json(results)
    else:
        typer.echo(render_ablation(results), nl=False)


@eval_app.command("live")
def live_eval(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Directory in the shared data format with per-voter votes"),  # noqa: B008
    out: Path = typer.Option(Path("evals/results/live.json"), "--out", help="Results JSON"),  # noqa: B008
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Live forecast during voting from the tally so far, walk-forward at 10/25/50/75% of the voting period,
    against "the current leader wins" and "current shares are final" in the same run.

    Example: concord eval live --data ../shared/data
    """
    from evals.live import FRACTIONS, load_live, render_live, run_live

    cli = get_context(ctx)
    proposals = load_live(data)
    with cli.err_console.status(f"live forecasts for {len(proposals)} proposals ..."):
        per_dao = run_live(proposals)
    results = {"config": {"data": str(data), "fractions": list(FRACTIONS)}, "n_proposals": len(proposals),
               "per_dao": per_dao}
    cli.write_json(out, results)
    if as_json:
        print_json(results)
    else:
        typer.echo(render_live(results), nl=False)


@eval_app.command("jury")
def jury_eval(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Directory in the shared data format with per-voter votes"),  # noqa: B008
    out: Path = typer.Option(Path("evals/results/jury.json"), "--out", help="Results JSON"),  # noqa: B008
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Simulated jury: each known voter's choice probabilities from their own earlier votes, scored voter by voter
    walk-forward against "votes as last time" and "votes with the majority".

    Example: concord eval jury --data ../shared/data
    """
    from evals.jury import render_jury, run_jury
    from evals.live import load_live

    cli = get_context(ctx)
    proposals = load_live(data)
    with cli.err_console.status(f"jury over {len(proposals)} proposals ..."):
        per_dao = run_jury(proposals)
    results = {"config": {"data": str(data)}, "n_proposals": len(proposals), "per_dao": per_dao}
    cli.write_json(out, results)
    if as_json:
        print_json(results)
    else:
        typer.echo(render_jury(results), nl=False)
