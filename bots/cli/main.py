"""The `concord` command: one root app; each package contributes its sub-commands here."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from bots.cli.agent_cmds import agent_app
from bots.cli.bench_cmds import bench_cmd
from bots.cli.config_cmds import config_app
from bots.cli.context import CliContext
from bots.cli.eval_cmds import eval_app
from bots.cli.finetune_cmds import finetune_app
from bots.cli.forecast_cmds import forecast_app
from bots.cli.governance_cmds import register as register_governance
from bots.cli.ingest_cmds import ingest_app
from bots.cli.interface_cmds import bot_cmd, proposals_cmd, serve_cmd
from bots.cli.quarantine_cmds import quarantine_app
from bots.cli.queue_cmds import queue_app
from bots.cli.report_cmds import ask, llm_app, report_app
from bots.cli.store_cmds import register as register_store
from ingest.core.errors import ConcordError
from ingest.core.settings import load_settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="concord",
    help="Concord: ingest a DAO's discussion, read the room, and act only with its humans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", help="TOML config file (default: $CONCORD_CONFIG or ./concord.toml)"),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors"),
) -> None:
    """Global options apply to every command."""
    if ctx.resilient_parsing:
        return
    ctx.obj = CliContext(settings=load_settings(config), debug=debug)


register_store(app)
app.add_typer(config_app, name="config")
app.add_typer(ingest_app, name="ingest")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(report_app, name="report")
app.command("ask")(ask)
app.add_typer(llm_app, name="llm")
app.add_typer(eval_app, name="eval")
app.add_typer(finetune_app, name="finetune")
app.add_typer(queue_app, name="queue")
app.add_typer(forecast_app, name="forecast")
app.add_typer(agent_app, name="agent")
app.command("bench")(bench_cmd)
app.command("serve")(serve_cmd)
app.command("bot")(bot_cmd)
app.command("proposals")(proposals_cmd)
register_governance(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; a ConcordError becomes one line on stderr and exit status 2."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        # Outside standalone mode click returns a typer.Exit's code instead of raising it.
        result = app(args=args, prog_name="concord", standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool):
            return result
    except ConcordError as exc:
        if debug:
            raise
        typer.echo(f"Error: {exc}", err=True)
        return 2
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument, ...
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"Error: {exc}", err=True)
        return int(getattr(exc, "exit_code", 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
