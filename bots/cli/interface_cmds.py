"""`concord serve` (the web dashboard), `concord bot` (the Discord bot) and `concord proposals` (the stored proposals)."""

from __future__ import annotations

import gc
import socket

import typer

from bots.cli.context import get_context, print_json
from ingest.core.errors import ConfigError

__all__ = ["bot_cmd", "proposals_cmd", "serve_cmd"]


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"Cannot serve on {host}:{port} ({exc.strerror}). Pass --port with a free port "
                "or set CONCORD_WEB__PORT."
            ) from exc


def serve_cmd(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default: settings web.host, 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="Port (default: settings web.port, 8000)"),
) -> None:
    """Serve the web dashboard and its JSON API.

    Example: concord serve --port 8000   then open http://127.0.0.1:8000/
    """
    cli = get_context(ctx)
    settings = cli.settings
    host = host or settings.web.host
    port = port if port is not None else settings.web.port
    from bots.web.security import check_session_secret

    check_session_secret(host, settings.web.session_secret.get_secret_value())
    _check_port_free(host, port)
    import uvicorn

    from bots.services import build_services
    from bots.web.app import create_app
    from bots.web.security import allowed_origins

    settings = settings.model_copy(update={"web": settings.web.model_copy(update={"host": host, "port": port})})
    app = create_app(settings, services=build_services(settings, store=cli.store()))
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    cli.err_console.print(f"Concord dashboard: [bold]http://{shown}:{port}/[/bold]  (API docs: http://{shown}:{port}/api/docs; Ctrl+C stops)")
    cli.err_console.print(f"Signatures are accepted from pages at: {', '.join(sorted(allowed_origins(settings)))} (web.public_origins)")
    from bots.web.middleware import FreezeHeapAfterWarmup

    gc.collect()
    gc.freeze()  # what is loaded so far (libraries, models, settings) leaves the collector's view
    uvicorn.run(FreezeHeapAfterWarmup(app), host=host, port=port, log_level="warning")


def bot_cmd(ctx: typer.Context) -> None:
    """Run the Discord bot (token and guild from settings: CONCORD_DISCORD__TOKEN, CONCORD_DISCORD__GUILD_ID).

    Example: CONCORD_DISCORD__TOKEN=... CONCORD_DISCORD__GUILD_ID=123 concord bot
    """
    from bots.discord_bot import run_bot

    cli = get_context(ctx)
    run_bot(cli.settings, services=cli.services)


def proposals_cmd(
    ctx: typer.Context,
    dao: str | None = typer.Option(None, "--dao", help="Only this DAO"),
    status: str | None = typer.Option(None, "--status", help="active, pending or closed"),
    limit: int = typer.Option(20, "--limit", min=1, max=200, help="At most this many, newest first"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts"),
) -> None:
    """List stored proposals, newest first, with the store id other commands take (the dashboard's list, in the terminal).

    Example: concord proposals --dao arbitrum --limit 5
    """
    from rich.table import Table

    from bots.web.queries import list_proposals

    cli = get_context(ctx)
    rows = list_proposals(cli.store(), dao=dao, status=status, limit=limit)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        cli.console.print("No proposals stored" + (f" for {dao}" if dao else "") + ". Ingest some with `concord ingest sample`.")
        return
    table = Table(title="Proposals")
    for column in ("id", "dao", "status", "start", "title", "external id"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.id), r.dao, r.status, f"{r.start:%Y-%m-%d}" if r.start else "", r.title[:60], r.external_id[:20])
    cli.console.print(table)
