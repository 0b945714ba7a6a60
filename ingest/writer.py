"""Writes normalised records idempotently: natural keys decide insert, update or skip."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.engine import Dialect
from sqlmodel import Session, col, select

from ingest.core.domain import Author, Post, Proposal, Source, Thread, Vote, content_hash, utcnow
from ingest.records import PostRecord, PresentPostsRecord, ProposalRecord, Record, ThreadRecord, VoteRecord

__all__ = ["WriteCounts", "mark_post_deleted", "write_records"]


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: WriteCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def _values(record: Record) -> dict[str, Any]:
    """A record's fields by name, shallow (``dataclasses.asdict`` deep-copies every list and dict inside)."""
    return {name: getattr(record, name) for name in _field_names(type(record))}


@cache
def _columns(model: type[Any]) -> tuple[tuple[str, Any], ...]:
    """(column, its model field) for every column of ``model``'s table but the generated id."""
    table = model.__table__  # type: ignore[attr-defined]
    return tuple((c.name, model.model_fields[c.name]) for c in table.columns if c.name != "id")


def _rows(model: type[Any], values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Whole rows for a bulk insert: every column, the model's defaults where ``values`` leave one out (a bulk
    insert bypasses the model, so its defaults would otherwise be missing; factories run once per batch)."""
    defaults = {name: f.get_default(call_default_factory=True) for name, f in _columns(model)}
    return [{**defaults, **v} for v in values]


@cache
def _driver_insert(model: type[Any], dialect: Dialect) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The dialect's INSERT of every column but the id, and each column's bind processor (None: as it is), in
    the statement's parameter order: what SQLAlchemy itself would send, compiled once."""
    table = model.__table__  # type: ignore[attr-defined]
    names = [name for name, _ in _columns(model)]
    compiled = insert(table).values({name: bindparam(name) for name in names}).compile(dialect=dialect)
    order = compiled.positiontup if dialect.positional else names
    if compiled.positiontup is not None and sorted(compiled.positiontup) != sorted(names):
        raise RuntimeError(f"the {table.name} insert binds {compiled.positiontup}, not its columns {names}")
    processors = tuple((name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in order)
    return compiled.string, processors


def _insert(session: Session, model: type[Any], values: list[dict[str, Any]], *returning: str) -> list[Any]:
    """Insert many rows, bypassing the ORM's per-object bookkeeping; with ``returning``, the rows of those columns
    in no particular order (one multi-row statement). Without it, the rows go to the driver's executemany with
    the columns' own bind processors applied here (SQLAlchemy's per-row parameter handling costs more than the
    insert itself on a batch of posts)."""
    if not values:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    if returning:
        statement = insert(table).returning(*(table.c[name] for name in returning))
        return list(connection.execute(statement, _rows(model, values)).all())
    sql, processors = _driver_insert(model, connection.dialect)
    names = [name for name, _ in processors]
    processed = [(i, p) for i, (_, p) in enumerate(processors) if p is not None]
    in_order = itemgetter(*names)
    params: list[Any] = []
    for row in _rows(model, values):
        bound = list(in_order(row))
        for i, process in processed:
            bound[i] = process(bound[i])
        params.append(tuple(bound) if connection.dialect.positional else dict(zip(names, bound, strict=True)))
    connection.exec_driver_sql(sql, params)
    return []


def write_records(session: Session, source: Source, records: Sequence[Record]) -> WriteCounts:
    """Store a batch inside the caller's transaction. Threads before posts (then deletions), proposals before votes."""
    counts = WriteCounts()
    counts.add(_write_threads(session, source, [r for r in records if isinstance(r, ThreadRecord)]))
    counts.add(_write_posts(session, source, [r for r in records if isinstance(r, PostRecord)]))
    counts.add(_write_presence(session, source, [r for r in records if isinstance(r, PresentPostsRecord)]))
    counts.add(_write_proposals(session, source, [r for r in records if isinstance(r, ProposalRecord)]))
    counts.add(_write_votes(session, source, [r for r in records if isinstance(r, VoteRecord)]))
    return counts


def _write_threads(session: Session, source: Source, records: list[ThreadRecord]) -> WriteCounts:
    counts = WriteCounts()
    if not records:
        return counts
    latest = {r.external_id: r for r in records}
    existing = {
        t.external_id: t
        for t in session.exec(
            select(Thread).where(Thread.source_id == source.id, col(Thread.external_id).in_(latest))
        )
    }
    new_rows = []
    for key, record in latest.items():
        values = _values(record)
        thread = existing.get(key)
        if thread is None:
            new_rows.append({"source_id": source.id, **values})
            counts.inserted += 1
        elif any(getattr(thread, k) != v for k, v in values.items() if v is not None):
            for k, v in values.items():
                if v is not None:
                    setattr(thread, k, v)
            thread.updated_at = utcnow()
            session.add(thread)
            counts.updated += 1
        else:
            counts.unchanged += 1
    session.flush()
    _insert(session, Thread, new_rows)
    return counts


def _author_ids(session: Session, source: Source, records: list[PostRecord]) -> dict[str, int]:
    wanted = {r.author_handle: r for r in records if r.author_handle}
    if not wanted:
        return {}
    found: dict[str, int] = dict(
        session.exec(select(Author.handle, Author.id).where(Author.source_id == source.id, col(Author.handle).in_(wanted))).all()
    )
    new_rows = [
        {"source_id": source.id, "handle": handle, "external_id": r.author_external_id, "display_name": r.author_display_name}
        for handle, r in wanted.items()
        if handle not in found
    ]
    found.update((handle, author_id) for handle, author_id in _insert(session, Author, new_rows, "handle", "id"))
    return found


def _thread_ids(session: Session, source: Source, external_ids: set[str]) -> dict[str, int]:
    rows = session.exec(
        select(Thread.external_id, Thread.id).where(Thread.source_id == source.id, col(Thread.external_id).in_(external_ids))
    ).all()
    found = {ext: tid for ext, tid in rows if tid is not None}
    missing = [{"source_id": source.id, "external_id": ext, "title": ""} for ext in sorted(external_ids - found.keys())]
    found.update((ext, tid) for ext, tid in _insert(session, Thread, missing, "external_id", "id"))
    return found


def _write_posts(session: Session, source: Source, records: list[PostRecord]) -> WriteCounts:
    counts = WriteCounts()
    if not records:
        return counts
    latest = {r.external_id: r for r in records}
    threads = _thread_ids(session, source, {r.thread_external_id for r in latest.values()})
    authors = _author_ids(session, source, list(latest.values()))
    stored: dict[str, tuple[int, str]] = {
        ext: (pid, digest)
        for ext, pid, digest in session.exec(
            select(Post.external_id, Post.id, Post.content_hash).where(Post.source_id == source.id, col(Post.external_id).in_(latest))
        )
    }
    digests = {key: content_hash(r.text, "deleted" if r.deleted else "") for key, r in latest.items()}
    changed: dict[int, Post] = {}  # whole rows only for the posts that changed
    if stored:
        ids = [pid for key, (pid, digest) in stored.items() if digests[key] != digest]
        if ids:
            changed = {p.id: p for p in session.exec(select(Post).where(col(Post.id).in_(ids)))}  # type: ignore[misc]
    new_rows = []
    now = utcnow()
    for key, record in latest.items():
        digest = digests[key]
        values = {
            "thread_id": threads[record.thread_external_id],
            "external_id": record.external_id,
            "author_id": authors.get(record.author_handle or ""),
            "number": record.number,
            "reply_to_number": record.reply_to_number,
            "text": record.text,
            "html": record.html,
            "url": record.url,
            "created_at": record.created_at,
            "edited_at": record.edited_at,
            "deleted": record.deleted,
            "content_hash": digest,
        }
        row = stored.get(key)
        if row is None:
            new_rows.append({"source_id": source.id, "ingested_at": now, **values})
        elif row[1] != digest:
            post = changed[row[0]]
            for k, v in values.items():
                setattr(post, k, v)
            session.add(post)
            counts.updated += 1
        else:
            counts.unchanged += 1
    _insert(session, Post, new_rows)
    counts.inserted += len(new_rows)
    return counts


def mark_post_deleted(post: Post) -> None:
    """Honour a deletion: the row stays (threads keep their shape and numbering), its text goes, it is flagged."""
    post.deleted, post.text, post.html = True, "", None
    post.content_hash = content_hash("", "deleted")


def _write_presence(session: Session, source: Source, records: list[PresentPostsRecord]) -> WriteCounts:
    counts = WriteCounts()
    for record in records:
        thread_id = session.exec(
            select(Thread.id).where(Thread.source_id == source.id, Thread.external_id == record.thread_external_id)
        ).first()
        if thread_id is None:
            continue
        stored = session.exec(select(Post).where(Post.thread_id == thread_id, ~col(Post.deleted))).all()
        for post in stored:
            if post.external_id not in record.post_external_ids:
                mark_post_deleted(post)
                session.add(post)
                counts.updated += 1
    return counts


def _canonical(value: Any) -> Any:
    """What canonical JSON cannot take on its own: datetimes, as ISO strings of their UTC instant."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.utcoffset() is not None else value).isoformat()
    raise TypeError(f"a proposal field holds {type(value).__name__} {value!r}: a normaliser must give JSON values "
                    "(str, number, bool, None, list, dict) or datetimes")


def _proposal_hash(record: ProposalRecord) -> str:
    """SHA-256 of the record's canonical JSON, every field by name: any changed field changes it, and no two
    different records share it (``["a|b", "c"]`` and ``["a", "b|c"]`` are different choices)."""
    text = json.dumps(_values(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_canonical)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_proposals(session: Session, source: Source, records: list[ProposalRecord]) -> WriteCounts:
    counts = WriteCounts()
    if not records:
        return counts
    latest = {r.external_id: r for r in records}
    existing = {
        p.external_id: p
        for p in session.exec(
            select(Proposal).where(Proposal.dao_id == source.dao_id, col(Proposal.external_id).in_(latest))
        )
    }
    new_rows = []
    for key, record in latest.items():
        digest = _proposal_hash(record)
        proposal = existing.get(key)
        if proposal is None:
            new_rows.append({"dao_id": source.dao_id, "source_id": source.id, "content_hash": digest, **_values(record)})
            counts.inserted += 1
        elif proposal.content_hash != digest:
            for k, v in _values(record).items():
                setattr(proposal, k, v)
            proposal.content_hash = digest
            proposal.updated_at = utcnow()
            session.add(proposal)
            counts.updated += 1
        else:
            counts.unchanged += 1
    session.flush()
    _insert(session, Proposal, new_rows)
    return counts


def _write_votes(session: Session, source: Source, records: list[VoteRecord]) -> WriteCounts:
    counts = WriteCounts()
    if not records:
        return counts
    proposal_ids = dict(
        session.exec(
            select(Proposal.external_id, Proposal.id).where(
                Proposal.dao_id == source.dao_id,
                col(Proposal.external_id).in_({r.proposal_external_id for r in records}),
            )
        ).all()
    )
    missing = {r.proposal_external_id for r in records} - proposal_ids.keys()
    if missing:
        from ingest.core.errors import InputError

        raise InputError(
            f"votes refer to proposals not in the store: {sorted(missing)[:5]}; ingest the proposals first"
        )
    latest = {(proposal_ids[r.proposal_external_id], r.voter): r for r in records}
    existing = {
        (v.proposal_id, v.voter): v
        for v in session.exec(
            select(Vote).where(
                col(Vote.proposal_id).in_({k[0] for k in latest}), col(Vote.voter).in_({k[1] for k in latest})
            )
        )
    }
    new_rows = []
    for key, record in latest.items():
        values = _values(record)
        values.pop("proposal_external_id")
        vote = existing.get(key)
        if vote is None:
            new_rows.append({"proposal_id": key[0], **values})
        elif any(getattr(vote, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(vote, k, v)
            session.add(vote)
            counts.updated += 1
        else:
            counts.unchanged += 1
    _insert(session, Vote, new_rows)
    counts.inserted += len(new_rows)
    return counts
