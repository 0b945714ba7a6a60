"""Concord's Discord bot (discord.py application commands). Run it with ``concord bot``."""

from __future__ import annotations

from typing import Any

__all__ = ["build_bot", "run_bot"]


def build_bot(*args: Any, **kwargs: Any) -> Any:
    """See ``bots.discord_bot.bot.build_bot`` (imported lazily: discord.py loads only when used)."""
    from bots.discord_bot.bot import build_bot as _build

    return _build(*args, **kwargs)


def run_bot(settings: Any, *, services: Any = None) -> None:
    """Run the bot until interrupted, with the token and guild from ``settings.discord`` (see ``bots.discord_bot.run``)."""
    from bots.discord_bot.run import run_bot as _run

    _run(settings, services=services)
