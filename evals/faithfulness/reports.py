"""Faithfulness on real generated reports: build consensus reports of the bundled sample's most discussed
Arbitrum proposals with the configured chat model and count the quotes the checker kept and dropped, by reason.

Stance and prediction are left out (they do not affect quoting); camps, camp naming, the LLM summary and every
faithfulness check run exactly as in ``concord report``.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import col, func, select

if TYPE_CHECKING:
    from agent.llm.backend import ChatBackend
    from embeddings.base import Embedder
    from ingest.core.store import Store

__all__ = ["most_discussed", "report_faithfulness"]

_SUMMARY_QUOTE = re.compile(r"[\"“][^\"“”]*[\"”]")


def most_discussed(store: Store, dao: str, n: int) -> list[int]:
    """Store ids of the ``n`` proposals of ``dao`` with the most linked posts (ties by id), distinct thread sets."""
    from embeddings.scope import linked_thread_ids
    from ingest.core.domain import Dao, Post, Proposal

    with store.session() as session:
        proposals = session.exec(
            select(Proposal).join(Dao, col(Dao.id) == Proposal.dao_id).where(Dao.slug == dao).order_by(col(Proposal.id))
        ).all()
        scored = []
        seen: set[tuple[int, ...]] = set()
        for proposal in proposals:
            threads = tuple(linked_thread_ids(session, proposal))
            if not threads or threads in seen:
                continue
            seen.add(threads)
            count = session.exec(select(func.count()).select_from(Post).where(col(Post.thread_id).in_(threads))).one()
            scored.append((-int(count), int(proposal.id)))  # type: ignore[arg-type]
    return [pid for _, pid in sorted(scored)[:n]]


def report_faithfulness(*, chat: ChatBackend, embedder: Embedder, proposals: int = 3, dao: str = "arbitrum",
                        workdir: Path | None = None) -> dict[str, Any]:
    """Build ``proposals`` reports on a fresh copy of the bundled sample; per report and in total: quotes checked,
    kept, dropped (by reason), and quoted spans left in the summary; reports that fail to build are listed."""
    from agent.report import ReportBuilder
    from evals.retrieval.corpus import sample_store
    from ingest.core.errors import ConcordError

    with tempfile.TemporaryDirectory(prefix="concord-faith-reports-", dir=workdir) as tmp:
        store = sample_store(Path(tmp) / "sample.db", daos=(dao,))
        try:
            builder = ReportBuilder(store, embedder=embedder, chat=chat)
            rows = []
            failed = []
            for pid in most_discussed(store, dao, proposals):
                try:
                    report = builder.build(pid)
                except ConcordError as exc:  # a report that cannot be built is counted, not hidden
                    failed.append({"proposal_id": pid, "error": str(exc)[:300]})
                    continue
                faith = report.faithfulness
                reasons = Counter(str(d.get("reason")) for d in faith.dropped)
                rows.append({
                    "proposal": report.proposal.title[:80], "posts": report.data_window.posts, "checked": faith.checked,
                    "kept": faith.passed, "dropped": dict(sorted(reasons.items())),
                    "summary_by": report.summary.generated_by, "summary_quotes_kept": len(_SUMMARY_QUOTE.findall(report.summary.text)),
                })
        finally:
            store.close()
    total: Counter[str] = Counter()
    for row in rows:
        total.update(row["dropped"])
    return {
        "model": getattr(chat, "model", "?"),
        "reports": rows,
        "failed": failed,
        "checked": sum(r["checked"] for r in rows),
        "kept": sum(r["kept"] for r in rows),
        "dropped": dict(sorted(total.items())),
    }
