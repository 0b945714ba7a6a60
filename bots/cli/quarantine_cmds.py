"""`concord quarantine list|show|retry`: what could not be stored, why, and replaying it."""

from __future__ import annotations

import typer
from rich.table import Table

from bots.cli.context import get_context, print_json
from ingest.quarantine import (
    DEFAULT_MAX_ATTEMPTS,
    GIVEN_UP,
    OPEN,
    RESOLVED,
    get_quarantined,
    list_quarantined,
    retry_quarantined,
)

__all__ = ["quarantine_app"]

quarantine_app = typer.Typer(
    help="List, inspect and retry records that could not be stored (each kept with its reason).",
    no_args_is_help=True,
)

_STATUSES = (OPEN, RESOLVED, GIVEN_UP, "all")


@quarantine_app.command("list")
def list_cmd(
    ctx: typer.Context,
    dao: str | None = typer.Option(None, "--dao", help="Only this DAO's sources (its slug)"),
    source: str | None = typer.Option(None, "--source", help="Only this source: its kind (discord, discourse, ...), locator or name"),
    status: str = typer.Option(OPEN, "--status", help=f"One of {', '.join(_STATUSES)}"),
    limit: int = typer.Option(100, "--limit", help="Show at most this many, newest first"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts"),
) -> None:
    """Quarantined records, newest first, with their reason and attempts.

    Example: concord quarantine list --dao aave --source discord
    """
    from ingest.core.errors import InputError

    if status not in _STATUSES:
        raise InputError(f"Unknown --status {status!r}; use one of {', '.join(_STATUSES)}")
    cli = get_context(ctx)
    entries = list_quarantined(
        cli.store(migrate=False), dao=dao, source=source, status=None if status == "all" else status, limit=limit
    )
    if as_json:
        print_json([e.as_dict() for e in entries])
        return
    if not entries:
        cli.console.print(f"No {'' if status == 'all' else status + ' '}quarantined records.")
        return
    table = Table(title="Quarantined records")
    for column in ("id", "DAO", "source", "kind", "ref", "status", "attempts", "reason"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(str(e.id), e.dao or "-", e.source or "-", e.kind, e.ref or "-", e.status, str(e.attempts), e.error[:200])
    cli.console.print(table)


@quarantine_app.command("show")
def show_cmd(
    ctx: typer.Context,
    record_id: int = typer.Argument(..., help="The record's id (from `concord quarantine list`)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts"),
) -> None:
    """One quarantined record: its reason, attempts and the raw payload as it arrived.

    Example: concord quarantine show 12
    """
    cli = get_context(ctx)
    entry = get_quarantined(cli.store(migrate=False), record_id)
    if as_json:
        print_json(entry.as_dict(with_raw=True))
        return
    for key, value in entry.as_dict().items():
        cli.console.print(f"{key}: {value}", highlight=False, markup=False)
    cli.console.print("raw:", highlight=False)
    cli.console.print(entry.raw[:20_000], highlight=False, markup=False, soft_wrap=True)


@quarantine_app.command("retry")
def retry_cmd(
    ctx: typer.Context,
    record_ids: list[int] = typer.Argument(None, help="Ids to retry, whatever their status (default: every open record)"),
    dao: str | None = typer.Option(None, "--dao", help="Only this DAO's sources"),
    source: str | None = typer.Option(None, "--source", help="Only this source: its kind, locator or name"),
    max_attempts: int = typer.Option(DEFAULT_MAX_ATTEMPTS, "--max-attempts", help="Give a record up after this many failed attempts"),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON"),
) -> None:
    """Replay quarantined payloads through the same normaliser and writer a run uses.

    Stored: the record is resolved. Still failing: its new reason and one more attempt are kept; after
    --max-attempts it is given up. Failed fetches (kind *-error) are retried by their source's next run.
    Exit status: 0 nothing left failing, 1 some records still quarantined.

    Example: concord quarantine retry --dao aave
    """
    from ingest.sources.quarantine_replay import quarantine_normalisers

    cli = get_context(ctx)
    summary = retry_quarantined(
        cli.store(),
        quarantine_normalisers(),
        ids=record_ids or None,
        dao=dao,
        source=source,
        max_attempts=max_attempts,
    )
    if as_json:
        print_json(summary.as_dict())
    else:
        cli.console.print(summary.line(), highlight=False)
        for error in summary.errors[:5]:
            cli.console.print(f"  {error}", style="yellow", highlight=False, markup=False)
    raise typer.Exit(1 if summary.failed or summary.given_up else 0)
