"""DiscordChatExporter JSON messages to post records (one thread per channel)."""

from __future__ import annotations

from typing import Any

from ingest.core.errors import InputError
from ingest.normalise.payload import clean_text, optional_str, require
from ingest.normalise.timeparse import parse_time
from ingest.records import PostRecord

__all__ = ["discord_message"]


def discord_message(message: Any, channel_id: str, number: int | None = None) -> PostRecord:
    message_id = require(message, "id", str, "Discord message")
    where = f"Discord message {message_id}"
    author = require(message, "author", dict, where)
    content = message.get("content")
    if not isinstance(content, str):
        raise InputError(f"{where}: content should be text, got {type(content).__name__}")
    text = clean_text(content, where)
    if not text.strip():
        raise InputError(f"{where}: empty message (attachments or embeds only)")
    name = str(author.get("name") or "unknown")
    discriminator = str(author.get("discriminator") or "0000")
    handle = name if discriminator in {"0", "0000"} else f"{name}#{discriminator}"
    return PostRecord(
        thread_external_id=channel_id,
        external_id=message_id,
        text=text,
        author_handle=handle,
        author_external_id=optional_str(author, "id"),
        author_display_name=optional_str(author, "nickname"),
        number=number,
        created_at=parse_time(message.get("timestamp"), f"{where} timestamp"),
        edited_at=parse_time(message.get("timestampEdited"), f"{where} timestampEdited"),
    )
