"""What a member's question names: a proposal, a thread, a person. Retrieval is narrowed to it.

A title is named when the question shares a *distinctive* word with it (one that few titles of the DAO
contain, such as "Rarible"); retrieval then ranks the posts of every named thread together. A person is named by their handle or display name written as a word.
Nothing here guesses beyond the stored titles and names; an unnamed question searches the whole DAO.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from sqlmodel import col, select

from embeddings.hybrid import RetrievalFilter
from embeddings.scope import linked_thread_ids
from ingest.core.domain import Author, Dao, Proposal, Source, Thread
from ingest.core.store import Store

__all__ = ["QuestionScope", "resolve_scope"]

_WORD = re.compile(r"[a-z0-9][a-z0-9\-_.]*[a-z0-9]|[a-z0-9]")
#: Words too common in governance talk to name anything.
_COMMON = frozenset(
    ["the", "and", "for", "are", "was", "were", "what", "who", "whom", "why", "how", "when", "where", "which", "did", "does", "doing", "done", "say", "said", "says", "about", "with", "from", "this", "that", "these", "those", "there", "their", "they", "them", "have", "has", "had", "will", "would", "should", "could", "can", "may", "might", "not", "but", "any", "all", "its", "into", "onto", "over", "under", "than", "then", "also", "just", "some", "such", "very", "much", "more", "most", "many", "each", "other", "only", "own", "same", "so", "too", "out", "off", "our", "ours", "your", "yours", "you", "dao", "daos", "proposal", "proposals", "thread", "threads", "post", "posts", "forum", "delegate", "delegates", "member", "members", "vote", "votes", "voting", "voted", "team", "community", "governance", "people", "think", "thought", "discuss", "discussed", "discussion", "mention", "mentioned", "opinion", "opinions", "view", "views", "arbitrum", "aave", "compound", "token", "tokens"]
)
#: A word names a title only when at most this share of the DAO's titles contain it (and at most _MAX_TITLES).
_MAX_SHARE, _MAX_TITLES = 0.02, 6


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _COMMON}


@dataclass(frozen=True)
class QuestionScope:
    """The threads and authors a question names (None: not narrowed), and how to say so."""

    thread_ids: frozenset[int] | None = None
    author_ids: frozenset[int] | None = None
    named: tuple[str, ...] = field(default_factory=tuple)

    @property
    def narrowed(self) -> bool:
        return self.thread_ids is not None or self.author_ids is not None

    def retrieval_filter(self, proposal_id: int | None = None) -> RetrievalFilter | None:
        if self.thread_ids is None and proposal_id is None:
            return None
        return RetrievalFilter(proposal_id=proposal_id, thread_ids=self.thread_ids)


def resolve_scope(store: Store, dao_slug: str, question: str) -> QuestionScope:
    """The proposals, threads and people ``question`` names in the DAO ``dao_slug``."""
    asked = _words(question)
    if not asked:
        return QuestionScope()
    with store.session() as session:
        dao = session.exec(select(Dao).where(Dao.slug == dao_slug)).one()
        threads = session.exec(
            select(Thread.id, Thread.title).join(Source, col(Source.id) == Thread.source_id).where(Source.dao_id == dao.id)
        ).all()
        proposals = session.exec(select(Proposal).where(Proposal.dao_id == dao.id)).all()
        titles: list[tuple[str, str, object]] = [("thread", t, i) for i, t in threads if t]
        titles += [("proposal", p.title, p) for p in proposals if p.title]
        df = Counter(w for _, title, _ in titles for w in _words(title))
        limit = min(_MAX_TITLES, max(1, math.ceil(_MAX_SHARE * len(titles))))
        distinctive = {w for w in asked if 0 < df[w] <= limit}
        thread_ids: set[int] = set()
        named: list[str] = []
        for kind, title, ref in titles:  # every title sharing a distinctive word; retrieval ranks inside their union
            if distinctive & _words(title):
                if kind == "thread":
                    thread_ids.add(int(ref))  # type: ignore[call-overload]
                else:
                    thread_ids.update(linked_thread_ids(session, ref))  # type: ignore[arg-type]
                named.append(f"{kind} “{_plain(title)}”")
        authors = session.exec(
            select(Author.id, Author.handle, Author.display_name).join(Source, col(Source.id) == Author.source_id).where(Source.dao_id == dao.id)
        ).all()
    author_ids: set[int] = set()
    lowered = question.lower()
    for author_id, handle, display in authors:
        for name in {handle, display or ""}:
            key = name.strip().lower().lstrip("@")
            if len(key) >= 3 and key not in _COMMON and re.search(rf"(?<![\w@]){re.escape(key)}(?!\w)|@{re.escape(key)}(?!\w)", lowered):
                author_ids.add(int(author_id))  # type: ignore[arg-type]
                named.append(f"posts by {name.strip()}")
                break
    return QuestionScope(
        thread_ids=frozenset(thread_ids) if thread_ids else None,
        author_ids=frozenset(author_ids) if author_ids else None,
        named=tuple(dict.fromkeys(named)),
    )


def _plain(text: str) -> str:
    """A title safe to print inside typographic quotes (no quote marks of its own)."""
    return re.sub(r"[\"“”]", "'", " ".join(text.split()))[:120]
