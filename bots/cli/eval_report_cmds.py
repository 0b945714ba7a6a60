"""`concord eval report`: reading the room on the bundled sample's real threads (proposer side, camps, coverage,
unit types, unsupported quotes, the injection corpus)."""

from __future__ import annotations

from pathlib import Path

import typer

from bots.cli.context import get_context, print_json

__all__ = ["report_eval"]


def report_eval(
    ctx: typer.Context,
    out: Path | None = typer.Option(Path("evals/results/report.json"), "--out", help="Write the result JSON here"),
    injection: bool = typer.Option(True, "--injection/--no-injection", help="Also add the injection corpus to real threads and compare"),
    units: bool = typer.Option(False, "--units", help="Also re-run the held-out unit-type evaluation (evals/results/units.json)"),
    retrain_units: bool = typer.Option(False, "--retrain-units", help="With --units: refit the committed unit-type head on every label"),
    as_json: bool = typer.Option(False, "--json", help="Print the result object as JSON"),
) -> None:
    """Proposer-side precision/recall against labelled author roles, camp purity and coverage, unit-type macro-F1,
    unsupported quotes kept (must be 0), and whether the injection corpus changes anything but itself. Builds a
    fresh copy of the bundled sample; never touches your store. Reports use the template digest (no chat model).

    Example: concord eval report --units
    """
    from agent.stance.trained import load_trained_stance
    from embeddings import cached_embedder
    from evals.report_eval import evaluate_reports

    cli = get_context(ctx)
    embedder = cached_embedder(cli.settings)
    if units or retrain_units:
        from evals.units import evaluate_units

        with cli.err_console.status("unit types: thread-grouped cross-validation ..."):
            unit_result = evaluate_units(embedder, retrain=retrain_units)
        cli.write_json(Path("evals/results/units.json"), unit_result)
    with cli.err_console.status("building reports of the bundled sample ..."):
        result = evaluate_reports(embedder=embedder, stance=load_trained_stance(embedder=embedder), injection=injection)
    if out is not None:
        cli.write_json(out, result)
    if as_json:
        print_json(result)
    else:
        from evals.readme import _report

        tmp = out.parent if out is not None else None
        cli.console.print(_report(tmp) if tmp is not None else result)
