"""`concord eval readme`: regenerate the README's marked result blocks from evals/results/*.json (or check them)."""

from __future__ import annotations

from pathlib import Path

import typer

from bots.cli.context import get_context

__all__ = ["readme_eval"]


def readme_eval(
    ctx: typer.Context,
    readme: Path = typer.Option(Path("README.md"), "--readme", help="The Markdown file holding <!-- NAME:start --> ... <!-- NAME:end --> blocks"),
    results: Path = typer.Option(Path("evals/results"), "--results", help="Directory of the results JSON files"),
    check: bool = typer.Option(False, "--check", help="Change nothing; exit 1 when a block differs from what the results say"),
) -> None:
    """Rewrite each marked block (predict-quality, stance-quality, retrieval-quality, faithfulness-quality,
    bench-figures) from the results JSON, so the README's tables are produced by a command, never typed.

    Example: concord eval readme --check
    """
    from evals.readme import update_readme
    from ingest.core.errors import InputError

    cli = get_context(ctx)
    if not readme.exists():
        raise InputError(f"{readme} does not exist; pass --readme PATH.")
    update = update_readme(readme.read_text(encoding="utf-8"), results)
    for name in update.unmarked:
        cli.err_console.print(f"no markers for {name} in {readme} (add <!-- {name}:start --> and <!-- {name}:end --> lines to place it)")
    if check:
        if update.changed:
            cli.err_console.print(f"{readme} is out of date with {results} in: {', '.join(update.changed)}; run `concord eval readme`.")
            raise typer.Exit(1)
        cli.err_console.print(f"{readme} matches {results}.")
        return
    if update.changed:
        readme.write_text(update.text, encoding="utf-8")
    cli.err_console.print(f"updated {', '.join(update.changed)} in {readme}" if update.changed else f"{readme} already up to date.")
