"""`concord ingest ...`: bring a DAO's discussion and decisions into the store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bots.cli.context import CliContext, get_context, print_json
from ingest.pipeline import IngestSource, IngestSummary, run_ingestion
from ingest.sources.discord_export import DiscordExportSource
from ingest.sources.sample import SAMPLE_DAOS, sample_sources

__all__ = ["ingest_app"]

ingest_app = typer.Typer(help="Ingest a DAO's forum, chat and votes into the store.", no_args_is_help=True)


def _run_with_progress(cli: CliContext, jobs: list[tuple[str, IngestSource]], quiet: bool) -> list[IngestSummary]:
    store = cli.store()
    summaries = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=cli.err_console,
        disable=quiet,
        transient=False,
    ) as progress:
        for slug, source in jobs:
            task = progress.add_task(f"{slug}: {source.kind} {source.name}", total=None)

            def advance(_summary: IngestSummary, items: int, task_id: int = task) -> None:
                progress.advance(task_id, items)

            summary = run_ingestion(store, store.get_dao(slug), source, on_batch=advance)
            progress.update(task, total=progress.tasks[task].completed or 1, completed=progress.tasks[task].completed or 1)
            summaries.append(summary)
    return summaries


def _report(cli: CliContext, summaries: list[IngestSummary], as_json: bool) -> None:
    if as_json:
        print_json([s.as_dict() for s in summaries])
        return
    for summary in summaries:
        cli.console.print(summary.line())
        for error in summary.errors[:3]:
            cli.console.print(f"  quarantined: {error}", style="yellow")


@ingest_app.command("sample")
def sample(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the run summaries as JSON"),
) -> None:
    """Ingest the bundled real sample (Arbitrum forum + Snapshot + Tally, Compound Governor votes, Aave Discord).

    Example: concord ingest sample && concord status
    """
    cli = get_context(ctx)
    store = cli.store()
    for dao in SAMPLE_DAOS:
        store.ensure_dao(dao.slug, dao.name, forum_url=dao.forum_url, snapshot_space=dao.snapshot_space, chain_id=dao.chain_id)
    _report(cli, _run_with_progress(cli, sample_sources(), quiet=as_json), as_json)


@ingest_app.command("discord-export")
def discord_export(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="DiscordChatExporter JSON files"),
    dao: str = typer.Option(..., "--dao", help="DAO slug to file the messages under (created if new)"),
    as_json: bool = typer.Option(False, "--json", help="Print the run summaries as JSON"),
) -> None:
    """Import DiscordChatExporter JSON exports (one channel per file); re-running adds nothing twice.

    Example: concord ingest discord-export --dao aave exports/governance.json
    """
    cli = get_context(ctx)
    cli.store().ensure_dao(dao)
    jobs: list[tuple[str, IngestSource]] = [(dao, DiscordExportSource.from_file(f)) for f in files]
    _report(cli, _run_with_progress(cli, jobs, quiet=as_json), as_json)
