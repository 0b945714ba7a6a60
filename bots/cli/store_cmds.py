"""`concord init` and `concord status`."""

from __future__ import annotations

import typer
from rich.table import Table

from bots.cli.context import get_context, print_json
from ingest.status import store_status

__all__ = ["register"]


def init(ctx: typer.Context) -> None:
    """Create the data directory and the store, and migrate the schema to the newest revision.

    Example: CONCORD_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/concord concord init
    """
    cli = get_context(ctx)
    cli.settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = cli.store(migrate=True)
    cli.console.print(f"Store ready at {store.engine.url.render_as_string(hide_password=True)}")


def status(
    ctx: typer.Context,
    dao: str | None = typer.Option(None, "--dao", help="Only this DAO (its slug, e.g. arbitrum)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts"),
) -> None:
    """Show, per DAO and source: counts, newest item, cursors and quarantine size.

    Example: concord status --dao arbitrum --json
    """
    cli = get_context(ctx)
    statuses = store_status(cli.store(migrate=False), dao)
    if as_json:
        print_json([s.as_dict() for s in statuses])
        return
    if not statuses:
        cli.console.print("The store is empty. Run `concord ingest sample` to load the bundled sample.")
        return
    table = Table(title="Concord store")
    for column in ("DAO", "source", "threads", "posts", "proposals", "votes", "newest", "cursors", "quarantined"):
        table.add_column(column, justify="right" if column not in {"DAO", "source", "newest"} else "left")
    for dao_status in statuses:
        for source in dao_status.sources:
            table.add_row(
                dao_status.slug,
                f"{source.kind}: {source.name}",
                str(source.threads),
                str(source.posts),
                str(source.proposals),
                str(source.votes),
                source.newest.strftime("%Y-%m-%d %H:%M") if source.newest else "-",
                str(len(source.cursors)),
                str(source.quarantined),
            )
    cli.console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(status)
