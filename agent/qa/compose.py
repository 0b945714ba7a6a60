"""An answer composed from the retrieved posts themselves: who said what, when, where, quoted verbatim with links;
an author on the proposer side of the thread's proposal is named as the proposing team (the report's evidence,
:mod:`agent.qa.speakers`).

Used whenever the model's answer fails the gate (or the model fails), so a member always gets an answer
made of the DAO's own words. Each quote is one whole sentence (or its first words) of the cited post.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from agent.qa.speakers import proposer_side_by_thread
from embeddings.hybrid import Hit
from ingest.core.domain import Author, Post, Thread
from ingest.core.store import Store

__all__ = ["PostDetails", "compose_answer", "post_details"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]+")
_QUOTE_MARKS = re.compile(r"[\"“”]")
_STOP = frozenset(["the", "and", "for", "are", "was", "were", "what", "who", "why", "how", "did", "does", "say", "said", "about", "with", "from", "this", "that", "have", "has", "delegates"])
MAX_QUOTE_CHARS = 240


@dataclass(frozen=True)
class PostDetails:
    """Who wrote a post, when, and in which thread."""

    author: str
    created_at: datetime | None
    thread_title: str
    handle: str = ""
    thread_id: int | None = None


def post_details(store: Store, post_ids: Sequence[int]) -> dict[int, PostDetails]:
    with store.session() as session:
        rows = session.exec(
            select(Post.id, Post.created_at, Author.handle, Author.display_name, Thread.title, Thread.id)
            .join(Thread, col(Thread.id) == Post.thread_id)
            .join(Author, col(Author.id) == Post.author_id, isouter=True)
            .where(col(Post.id).in_(list(post_ids)))
        ).all()
    return {
        int(pid): PostDetails(author=(display or handle or "someone").strip(), created_at=created, thread_title=" ".join((title or "").split()),
                              handle=handle or "", thread_id=thread_id)
        for pid, created, handle, display, title, thread_id in rows
    }


def _best_sentence(text: str, question: str) -> str | None:
    """The post's sentence that shares most words with the question (quote-mark free, so it quotes cleanly)."""
    asked = {w for w in _WORD.findall(question.lower()) if w not in _STOP and len(w) > 2}
    best, best_score = None, -1.0
    for sentence in _SENTENCE.split(text):
        sentence = " ".join(sentence.split())
        if len(sentence) < 25 or _QUOTE_MARKS.search(sentence) or not any(c.isalpha() for c in sentence):
            continue
        words = set(_WORD.findall(sentence.lower()))
        score = len(asked & words) + min(len(sentence), 200) / 1000  # ties: the fuller sentence
        if score > best_score:
            best, best_score = sentence, score
    if best is None:
        return None
    if len(best) > MAX_QUOTE_CHARS:
        cut = best[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0].rstrip(",;:-")
        return cut + "…" if cut else None
    return best


def compose_answer(question: str, hits: Sequence[Hit], store: Store, *, limit: int = 3) -> tuple[str, list[Hit]]:
    """The composed answer and the hits it cites, in citation order ([1], [2], …); distinct authors first."""
    details = post_details(store, [h.post_id for h in hits])
    chosen: list[tuple[Hit, str]] = []
    seen_authors: set[str] = set()
    for prefer_new_author in (True, False):
        for hit in hits:
            if len(chosen) >= limit or any(h.post_id == hit.post_id for h, _ in chosen):
                continue
            who = details.get(hit.post_id)
            if prefer_new_author and who is not None and who.author in seen_authors:
                continue
            sentence = _best_sentence(hit.text, question)
            if sentence is None:
                continue
            chosen.append((hit, sentence))
            if who is not None:
                seen_authors.add(who.author)
    if not chosen:
        return "", []
    sides = proposer_side_by_thread(store, [d.thread_id for h, _ in chosen if (d := details.get(h.post_id)) and d.thread_id is not None])
    lines = ["The posts that best match your question, quoted as written:"]
    for number, (hit, sentence) in enumerate(chosen, start=1):
        who = details.get(hit.post_id)
        author = _QUOTE_MARKS.sub("'", who.author) if who else "someone"
        if who is not None and who.thread_id is not None and who.handle in sides.get(who.thread_id, {}):
            author += " (the proposing team)"
        when = f" on {who.created_at:%Y-%m-%d}" if who and who.created_at else ""
        where = f" in the thread {_QUOTE_MARKS.sub(chr(39), who.thread_title)}" if who and who.thread_title else ""
        quote = sentence.removesuffix("…")
        tail = "…" if sentence.endswith("…") else ""
        lines.append(f"[{number}] {author} wrote{when}{where}: “{quote}”{tail}")
    return "\n".join(lines), [hit for hit, _ in chosen]
