"""`concord config show`."""

from __future__ import annotations

import typer

from bots.cli.context import get_context, print_json
from ingest.core.settings import masked_settings

__all__ = ["config_app"]

config_app = typer.Typer(help="Inspect Concord's configuration.", no_args_is_help=True)


@config_app.command("show")
def show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts"),
) -> None:
    """Print the effective configuration (file, then CONCORD_* variables), secrets masked.

    Example: CONCORD_LLM__MODEL=my-lora concord config show --json
    """
    cli = get_context(ctx)
    data = masked_settings(cli.settings)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                cli.console.print(f"{key}.{sub} = {subvalue!r}", highlight=False)
        else:
            cli.console.print(f"{key} = {value!r}", highlight=False)
