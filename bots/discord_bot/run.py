"""Start the bot with the token from settings; a missing token is a ConfigError that says how to set it."""

from __future__ import annotations

from ingest.errors import ConfigError
from ingest.settings import ConcordSettings

__all__ = ["run_bot"]


def run_bot(settings: ConcordSettings) -> None:
    """Connect to Discord and serve commands until interrupted."""
    token = settings.discord.token.get_secret_value() if settings.discord.token else ""
    if not token:
        raise ConfigError(
            "No Discord bot token: set CONCORD_DISCORD__TOKEN or `token` under [discord] in concord.toml "
            "(create a bot at https://discord.com/developers/applications)."
        )
    from bots.discord_bot.bot import build_bot
    from bots.web.services import Services

    bot = build_bot(Services.from_settings(settings))
    bot.run(token, log_handler=None)
