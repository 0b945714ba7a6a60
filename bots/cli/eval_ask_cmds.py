"""`concord eval ask`: members' questions over the bundled sample, answered as `concord ask` answers them."""

from __future__ import annotations

from pathlib import Path

import typer

from bots.cli.context import get_context, print_json

__all__ = ["ask_eval"]


def ask_eval(
    ctx: typer.Context,
    questions: Path | None = typer.Option(None, "--questions", help="Questions with relevance labels (default evals/ask/questions.jsonl)"),
    model: bool = typer.Option(True, "--model/--no-model", help="Ask the configured chat model (default) or compose every answer from the posts"),
    out: Path | None = typer.Option(Path("evals/results/ask.json"), "--out", help="Write the result JSON here"),
    as_json: bool = typer.Option(False, "--json", help="Print the result object as JSON"),
) -> None:
    """Answer the committed member-style questions over the bundled sample (a fresh temporary store) and score the
    answers: answered with citations, a citation relevant to the question, unsupported quotes (must be 0), and how
    often the model's own answer passed the quality gate. Exit 1 when any answer keeps an unsupported quote.

    Example: concord eval ask --json
    """
    from evals.ask.evaluate import QUESTIONS, run_ask_eval

    cli = get_context(ctx)
    with cli.err_console.status("ask evaluation …") as status:
        result = run_ask_eval(cli.settings, questions_path=questions or QUESTIONS, use_model=model,
                              progress=lambda m: status.update(f"ask evaluation: {m}"))
    if out is not None:
        cli.write_json(out, result)
    if as_json:
        print_json(result)
    else:
        cli.console.print(
            f"{result['questions']} questions: answered {result['answered']:.0%}, a relevant post cited {result['cites_relevant']:.0%}, "
            f"unsupported quotes {result['unsupported_quotes']}; answers by method {result['methods']}"
        )
        for row in result["rows"]:
            mark = "ok " if row["cites_relevant"] else "MISS"
            cli.console.print(f"  {mark} {row['id']} ({row['method']})", markup=False)
    if result["unsupported_quotes"]:
        raise SystemExit(1)
