"""`concord eval faithfulness`: the quote checker of reports and answers on labelled real quotes, against an
exact-substring baseline, plus quotes dropped in real generated reports."""

from __future__ import annotations

from pathlib import Path

import typer

from bots.cli.context import get_context, print_json

__all__ = ["faithfulness_eval"]


def faithfulness_eval(
    ctx: typer.Context,
    labels: Path | None = typer.Option(None, "--labels", help="Labelled quotes (default evals/data/faithfulness_labels.jsonl)"),
    posts: Path | None = typer.Option(None, "--posts", help="The posts they cite (default evals/data/faithfulness_posts.jsonl)"),
    reports: int = typer.Option(3, "--reports", help="Also build this many real reports of the bundled sample with the configured chat model and count dropped quotes (0: skip)"),
    out: Path | None = typer.Option(Path("evals/results/faithfulness.json"), "--out", help="Write the result JSON here"),
    as_json: bool = typer.Option(False, "--json", help="Print the result object as JSON"),
    min_f1: float | None = typer.Option(None, "--min-f1", help="Exit 1 when Concord's F1 of flagging unsupported quotes is below this"),
) -> None:
    """Precision, recall and F1 of flagging unsupported quotes (wrong post, changed or negated words, paraphrases,
    splices, partial words, empty or overrunning quotes) without dropping supported ones (verbatim, whitespace,
    typography, Unicode and markup variants), overall, per path and per case type, next to an exact-substring baseline.

    Example: concord eval faithfulness --reports 3
    """
    from evals.faithfulness.evaluate import LABELS, POSTS, run_faithfulness_eval
    from ingest.core.errors import InputError

    cli = get_context(ctx)
    if reports < 0:
        raise InputError(f"--reports must be 0 or more, got {reports}")
    result = run_faithfulness_eval(labels_path=labels or LABELS, posts_path=posts or POSTS)
    if reports:
        from agent.llm import open_chat_backend
        from embeddings import cached_embedder
        from evals.faithfulness.reports import report_faithfulness

        with cli.err_console.status(f"building {reports} reports of the bundled sample ..."), open_chat_backend(cli.settings.llm) as chat:
            result["generated_reports"] = report_faithfulness(chat=chat, embedder=cached_embedder(cli.settings), proposals=reports)
    if out is not None:
        cli.write_json(out, result)
    if as_json:
        print_json(result)
    else:
        _print_tables(cli, result)
    concord = result["checkers"]["concord"]["all"]
    if min_f1 is not None and concord["f1"] < min_f1:
        cli.err_console.print(f"below the floor: concord F1 {concord['f1']:.3f} < {min_f1}")
        raise typer.Exit(1)


def _print_tables(cli, result: dict) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    summary = Table(title=f"Flagging unsupported quotes: {result['n']} labelled quotes on {result['posts']} real posts")
    for column in ("checker", "path", "n", "precision", "recall", "F1", "true quotes dropped", "false quotes kept"):
        summary.add_column(column)
    for name, block in result["checkers"].items():
        for path, s in [("all", block["all"]), *block["paths"].items()]:
            summary.add_row(name, path, str(s["n"]), f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}",
                            str(s["true_quotes_dropped"]), str(s["false_quotes_kept"]))
    cli.console.print(summary)
    names = list(result["checkers"])
    cases = Table(title="Correct verdicts per case type")
    for column in ("case", "expected", "n", *names):
        cases.add_column(column)
    for case, block in result["checkers"][names[0]]["cases"].items():
        cases.add_row(case, block["expected"], str(block["n"]),
                      *(f"{result['checkers'][n]['cases'][case]['correct']}" for n in names))
    cli.console.print(cases)
    generated = result.get("generated_reports")
    if generated:
        cli.console.print(f"{len(generated['reports'])} generated reports ({generated['model']}): {generated['checked']} quotes "
                          f"checked, {generated['kept']} kept, dropped: {generated['dropped'] or 'none'}")
        for failure in generated.get("failed", []):
            cli.console.print(f"failed to build a report of proposal {failure['proposal_id']}: {failure['error']}")
