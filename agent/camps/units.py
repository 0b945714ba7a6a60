"""Argument units: sentences cut verbatim out of posts, so every quote drawn from them occurs in its post."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ArgumentUnit", "SourcePost", "split_units"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class SourcePost:
    """The parts of a post that camps and reports need."""

    post_id: int
    text: str
    author: str
    url: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class ArgumentUnit:
    """A sentence-sized span of one post: ``post.text[start:start + len(text)] == text``."""

    post_id: int
    author: str
    text: str
    start: int


_SKIP = re.compile(r"^(>|\[quote\]|\[/quote\]|image\d+[×x]\d+)", re.IGNORECASE)


def split_units(posts: Sequence[SourcePost], *, min_chars: int = 12, max_chars: int = 400, min_words: int = 3) -> list[ArgumentUnit]:
    """Sentences of 12 to 400 characters and at least three words (longer ones are cut at a word boundary);
    quoted lines (``> ``, ``[quote]``) and image captions are skipped."""
    units: list[ArgumentUnit] = []
    for post in posts:
        position = 0
        for piece in _SENTENCE_END.split(post.text):
            start = post.text.find(piece, position)
            if start < 0:
                continue
            position = start + len(piece)
            stripped = piece.strip()
            if not stripped or _SKIP.match(stripped):
                continue
            start += piece.find(stripped)
            if len(stripped) > max_chars:
                cut = stripped.rfind(" ", 0, max_chars)
                stripped = stripped[: cut if cut > min_chars else max_chars]
            if len(stripped) >= min_chars and len(stripped.split()) >= min_words:
                units.append(ArgumentUnit(post_id=post.post_id, author=post.author, text=stripped, start=start))
    return units
