"""Text rules for everything the bot says: Discord's length limit and no mass mentions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import discord

__all__ = ["MAX_MESSAGE", "neutralise_mentions", "no_mentions", "split_message"]

MAX_MESSAGE = 2000
_ZWSP = "\u200b"


def no_mentions() -> discord.AllowedMentions:
    """Mentions the bot allows: none (never @everyone, @here, roles or users)."""
    import discord

    return discord.AllowedMentions(everyone=False, users=False, roles=False, replied_user=False)


def neutralise_mentions(text: str) -> str:
    """Break ``@everyone``, ``@here`` and role/user mention syntax so quoted posts cannot ping anyone."""
    text = text.replace("@everyone", f"@{_ZWSP}everyone").replace("@here", f"@{_ZWSP}here")
    return text.replace("<@", f"<@{_ZWSP}")


def split_message(text: str, *, limit: int = MAX_MESSAGE) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, at paragraph, line or word breaks."""
    if limit < 10:
        raise ValueError("limit must be at least 10 characters")
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks
