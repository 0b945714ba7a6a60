"""What the store holds, per DAO and source: counts, newest item, cursors, quarantine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from ingest.core.domain import Dao, IngestCursor, Post, Proposal, QuarantinedRecord, Source, Thread, Vote
from ingest.core.store import Store

__all__ = ["SourceStatus", "DaoStatus", "store_status"]


@dataclass
class SourceStatus:
    kind: str
    name: str
    locator: str
    threads: int = 0
    posts: int = 0
    proposals: int = 0
    votes: int = 0
    newest: datetime | None = None
    cursors: dict[str, str] = field(default_factory=dict)
    quarantined: int = 0


@dataclass
class DaoStatus:
    slug: str
    name: str
    sources: list[SourceStatus] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for source in data["sources"]:
            source["newest"] = source["newest"].isoformat() if source["newest"] else None
            cursors = source.pop("cursors")
            source["cursor_streams"] = len(cursors)
            source["cursor_sample"] = dict(list(cursors.items())[:3])
        return data


def _grouped(session: Any, model: Any, key: Any, *, where: Any = None) -> dict[int, int]:
    query = select(key, func.count()).select_from(model).group_by(key)
    if where is not None:
        query = query.where(where)
    return {k: int(v) for k, v in session.exec(query).all() if k is not None}


def store_status(store: Store, dao_slug: str | None = None) -> list[DaoStatus]:
    """One DaoStatus per DAO (or only ``dao_slug``, which must exist)."""
    if dao_slug is not None:
        store.get_dao(dao_slug)
    with store.session() as session:
        threads = _grouped(session, Thread, Thread.source_id)
        posts = _grouped(session, Post, Post.source_id)
        proposals = _grouped(session, Proposal, Proposal.source_id)
        votes = dict(
            session.exec(
                select(Proposal.source_id, func.count())
                .select_from(Vote)
                .join(Proposal, Proposal.id == Vote.proposal_id)
                .group_by(Proposal.source_id)
            ).all()
        )
        quarantined = _grouped(  # open records only: resolved ones were stored, given-up ones are listed apart
            session, QuarantinedRecord, QuarantinedRecord.source_id, where=QuarantinedRecord.status == "open"
        )
        newest_post = dict(
            session.exec(select(Post.source_id, func.max(Post.created_at)).group_by(Post.source_id)).all()
        )
        newest_proposal = dict(
            session.exec(
                select(Proposal.source_id, func.max(func.coalesce(Proposal.start, Proposal.created_at))).group_by(
                    Proposal.source_id
                )
            ).all()
        )
        cursors: dict[int, dict[str, str]] = {}
        for cursor in session.exec(select(IngestCursor).order_by(IngestCursor.stream)):
            cursors.setdefault(cursor.source_id, {})[cursor.stream] = cursor.value
        dao_query = select(Dao).order_by(Dao.slug)
        if dao_slug is not None:
            dao_query = dao_query.where(Dao.slug == dao_slug)
        result = []
        for dao in session.exec(dao_query).all():
            status = DaoStatus(slug=dao.slug, name=dao.name)
            for source in session.exec(select(Source).where(Source.dao_id == dao.id).order_by(Source.kind)).all():
                sid = source.id
                newest_candidates = [d for d in (newest_post.get(sid), newest_proposal.get(sid)) if d is not None]
                status.sources.append(
                    SourceStatus(
                        kind=source.kind,
                        name=source.name,
                        locator=source.locator,
                        threads=threads.get(sid, 0),
                        posts=posts.get(sid, 0),
                        proposals=proposals.get(sid, 0),
                        votes=int(votes.get(sid, 0)),
                        newest=max(newest_candidates) if newest_candidates else None,
                        cursors=cursors.get(sid, {}),
                        quarantined=quarantined.get(sid, 0),
                    )
                )
            result.append(status)
        return result
