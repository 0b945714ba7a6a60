"""Members' questions (``questions.jsonl``) answered over the bundled sample by the Q&A service `concord ask` uses.

Per question: did it get an answer with citations, does a citation point at a relevant post (its thread's title
contains a labelled phrase, or its author is the labelled person), and how many quoted spans of the final answer
occur in none of its cited posts (rechecked here with the faithfulness checker; must be 0). Also counted: how
often the model's own answer passed the gate, and why it was rejected otherwise.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from ingest.core.errors import InputError

__all__ = ["QUESTIONS", "load_questions", "run_ask_eval", "unsupported_quotes"]

QUESTIONS = Path(__file__).with_name("questions.jsonl")
_QUOTED = re.compile(r"[\"“]([^\"“”]*)[\"”]")


def load_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not row.get("question") or not row.get("relevant"):
            raise InputError(f"{path}:{number}: a question needs 'question' and 'relevant'.")
        rows.append(row)
    return rows


def unsupported_quotes(text: str, cited_texts: list[str]) -> list[str]:
    """Quoted spans of ``text`` that occur verbatim in none of ``cited_texts``."""
    from agent.report.faithfulness import occurs_in

    return [q for q in _QUOTED.findall(text) if any(c.isalnum() for c in q) and not any(occurs_in(q, t) for t in cited_texts)]


def _relevant(store: Any, post_ids: list[int], relevant: dict[str, list[str]]) -> list[int]:
    from ingest.core.domain import Author, Post, Thread

    with store.session() as session:
        rows = session.exec(
            select(Post.id, Thread.title, Author.handle)
            .join(Thread, col(Thread.id) == Post.thread_id)
            .join(Author, col(Author.id) == Post.author_id, isouter=True)
            .where(col(Post.id).in_(post_ids))
        ).all()
    titles = [t.lower() for t in relevant.get("thread_title", [])]
    authors = {a.lower() for a in relevant.get("author", [])}
    return [int(pid) for pid, title, handle in rows
            if any(t in (title or "").lower() for t in titles) or (handle or "").lower() in authors]


def run_ask_eval(settings: Any, *, questions_path: Path = QUESTIONS, use_model: bool = True,
                 progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Ingest the bundled sample into a temporary store, link it, and answer every question."""
    from agent.qa import QAService
    from embeddings.retrievers import DaoRetrievers
    from evals.retrieval.corpus import sample_store
    from ingest.linking import link_dao

    say = progress or (lambda _m: None)
    questions = load_questions(questions_path)
    daos = sorted({q.get("dao", "arbitrum") for q in questions})
    with tempfile.TemporaryDirectory(prefix="concord-ask-") as tmp:
        say("ingesting the bundled sample")
        store = sample_store(Path(tmp) / "sample.db", daos=daos)
        try:
            for dao in daos:
                link_dao(store, dao)
            from agent.llm import open_chat_backend

            # the index of this temporary store lives beside it; the vector cache is the configured one (reused)
            from embeddings import cached_embedder

            scratch = settings.model_copy(update={"data_dir": Path(tmp) / "data"})
            retrievers = DaoRetrievers(store, scratch, embedder=cached_embedder(settings))
            qa = QAService(retrievers, open_chat=(lambda: open_chat_backend(settings.llm)) if use_model else None)
            rows = []
            for number, q in enumerate(questions, start=1):
                say(f"question {number}/{len(questions)}: {q['id']}")
                answer = qa.answer(q["question"], dao=q.get("dao"))
                cited = [h.post_id for h in answer.cited]
                relevant = _relevant(store, cited, q["relevant"]) if cited else []
                bad = unsupported_quotes(answer.text, [h.text for h in answer.cited])
                rows.append({
                    "id": q["id"], "question": q["question"], "method": answer.method, "answered": bool(answer.text and cited),
                    "cites_relevant": bool(relevant), "cited": cited, "relevant_cited": relevant,
                    "unsupported_quotes": len(bad), "rejected": answer.rejected, "scope": list(answer.scope),
                    "answer": answer.text,
                })
            model = settings.llm.model if use_model else None
        finally:
            store.close()
    n = len(rows)
    reasons = Counter(r.split(" (")[0].split(":")[0] for row in rows for r in row["rejected"])
    return {
        "questions": n,
        "corpus": "bundled sample (ingest/sample/data), linked",
        "model": model,
        "answered": sum(r["answered"] for r in rows) / n,
        "cites_relevant": sum(r["cites_relevant"] for r in rows) / n,
        "unsupported_quotes": sum(r["unsupported_quotes"] for r in rows),
        "methods": dict(Counter(r["method"] for r in rows)),
        "model_rejections": dict(reasons),
        "rows": rows,
    }
