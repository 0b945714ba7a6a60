"""Start the bot with the token from settings; a missing token is a ConfigError that says how to set it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ingest.core.errors import ConfigError
from ingest.core.settings import ConcordSettings

if TYPE_CHECKING:
    from bots.services import Services

__all__ = ["run_bot"]


def run_bot(settings: ConcordSettings, *, services: Callable[[], Services] | None = None) -> None:
    """Connect to Discord and serve commands until interrupted, over the services ``services()`` returns (once the
    token is known to be there; built from the settings when not given)."""
    token = settings.discord.token.get_secret_value() if settings.discord.token else ""
    if not token:
        raise ConfigError(
            "No Discord bot token: set CONCORD_DISCORD__TOKEN or `token` under [discord] in concord.toml "
            "(create a bot at https://discord.com/developers/applications)."
        )
    from bots.discord_bot.bot import build_bot
    from bots.services import build_services

    bot = build_bot(services() if services is not None else build_services(settings))
    bot.run(token, log_handler=None)
