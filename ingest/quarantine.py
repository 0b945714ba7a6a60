"""The quarantine: records that could not be stored, kept with their reason, listed and replayed.

Every source records a payload it cannot store with :func:`quarantine`. A record is keyed by its source,
kind and reference, so quarantining it again (a rerun meeting the same bad record) updates its row —
reason, payload, attempt count — instead of adding one. :func:`retry_quarantined` replays stored payloads
through the same normaliser and writer a run uses: success resolves the row, failure counts an attempt,
and after ``max_attempts`` the row is given up with its last reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from ingest.core.domain import Dao, QuarantinedRecord, Source, utcnow
from ingest.core.errors import NotFoundError
from ingest.core.store import Store
from ingest.json_depth import MAX_DEPTH, max_depth
from ingest.records import Record
from ingest.writer import write_records

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "GIVEN_UP",
    "OPEN",
    "RESOLVED",
    "Normaliser",
    "RetrySummary",
    "get_quarantined",
    "list_quarantined",
    "open_quarantine_keys",
    "quarantine",
    "quarantine_key",
    "quarantine_many",
    "raw_text",
    "resolve_quarantined",
    "retry_quarantined",
]

OPEN, RESOLVED, GIVEN_UP = "open", "resolved", "given_up"
DEFAULT_MAX_ATTEMPTS = 5

Normaliser = Callable[[Any, Source], list[Record]]
"""Turns one stored payload of a record kind back into records (raises to keep it quarantined)."""


def quarantine_key(source_id: int | None, kind: str, ref: str) -> str:
    """The natural key of a quarantined record: its source, kind and reference."""
    return hashlib.sha256(f"{source_id or 0}\x1f{kind}\x1f{ref}".encode("utf-8", "surrogatepass")).hexdigest()


def raw_text(payload: Any) -> str:
    """The payload as storable text: JSON where possible, undecodable bytes escaped, never an exception."""
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload).decode("utf-8", errors="backslashreplace")
    if isinstance(payload, str):
        text = payload
    else:
        try:
            text = json.dumps(payload, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            return _storable(repr(payload)[:1_000_000])
    return _storable(text)


def _storable(text: str) -> str:
    """Text both SQLite and PostgreSQL accept: lone surrogates escaped, NUL bytes escaped."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\u0000")


def _reason(reason: str | BaseException) -> str:
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}"
    return reason


def quarantine(
    target: Store | Session,
    source: Source | int | None,
    kind: str,
    ref: str,
    payload: Any,
    reason: str | BaseException,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> bool:
    """Keep ``payload`` with ``reason``; returns True when the record was not quarantined before.

    ``target`` is a Store (own transaction) or a Session (the caller's transaction, so a batch and its
    quarantine commit together). ``ref`` names the record within its source and kind (a topic id, a message
    id): quarantining the same ``(source, kind, ref)`` again updates the row and counts one more attempt.
    """
    if isinstance(target, Store):
        with target.session() as session:
            return quarantine(session, source, kind, ref, payload, reason, max_attempts=max_attempts)
    return quarantine_many(target, source, [(kind, ref, payload, reason)], max_attempts=max_attempts) == 1


def quarantine_many(
    session: Session,
    source: Source | int | None,
    records: Sequence[tuple[str, str, Any, str | BaseException]],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> int:
    """:func:`quarantine` for many ``(kind, ref, payload, reason)`` in the caller's transaction, with one lookup
    for all of them, in order (a record named twice counts two attempts); returns how many were new."""
    if not records:
        return 0
    source_id = source.id if isinstance(source, Source) else source
    keyed = [(quarantine_key(source_id, kind, ref), kind, ref, payload, reason) for kind, ref, payload, reason in records]
    rows = {
        row.key: row
        for row in session.exec(select(QuarantinedRecord).where(col(QuarantinedRecord.key).in_({k for k, *_ in keyed})))
    }
    new, now = 0, utcnow()
    for key, kind, ref, payload, reason in keyed:
        error, raw = _reason(reason), raw_text(payload)
        row = rows.get(key)
        if row is None:
            rows[key] = QuarantinedRecord(
                source_id=source_id, key=key, record_kind=kind[:50], external_ref=ref[:500], raw=raw, error=error
            )
            session.add(rows[key])
            new += 1
            continue
        row.attempts += 1
        row.raw, row.updated_at = raw, now
        if row.attempts >= max_attempts:
            row.status, row.error = GIVEN_UP, f"given up after {row.attempts} attempts: {error}"
        else:
            row.status, row.error = OPEN, error
        session.add(row)
    session.flush()
    return new


def open_quarantine_keys(session: Session, source_id: int) -> set[str]:
    """The keys of the source's quarantined records not yet resolved (open or given up)."""
    return set(
        session.exec(
            select(QuarantinedRecord.key).where(QuarantinedRecord.source_id == source_id, QuarantinedRecord.status != RESOLVED)
        ).all()
    )


def resolve_quarantined(session: Session, keys: Iterable[str]) -> int:
    """Mark quarantined records resolved because they have now been stored; returns how many."""
    wanted = list(set(keys))
    resolved = 0
    for begin in range(0, len(wanted), 500):
        rows = session.exec(
            select(QuarantinedRecord).where(
                col(QuarantinedRecord.key).in_(wanted[begin : begin + 500]), QuarantinedRecord.status != RESOLVED
            )
        ).all()
        for row in rows:
            row.status, row.updated_at = RESOLVED, utcnow()
            session.add(row)
            resolved += 1
    return resolved


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A quarantined record as the CLI and dashboard show it."""

    id: int
    dao: str | None
    source: str | None
    kind: str
    ref: str | None
    error: str
    status: str
    attempts: int
    created_at: str
    updated_at: str
    raw: str

    def as_dict(self, *, with_raw: bool = False) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__slots__ if k != "raw"}  # type: ignore[attr-defined]
        if with_raw:
            data["raw"] = self.raw
        return data


def _query(dao: str | None, source: str | None):  # type: ignore[no-untyped-def]
    query = (
        select(QuarantinedRecord, Source, Dao)
        .join(Source, col(Source.id) == QuarantinedRecord.source_id, isouter=True)
        .join(Dao, col(Dao.id) == Source.dao_id, isouter=True)
    )
    if dao is not None:
        query = query.where(Dao.slug == dao)
    if source is not None:
        query = query.where((Source.kind == source) | (Source.locator == source) | (Source.name == source))
    return query


def _entry(row: QuarantinedRecord, source: Source | None, dao: Dao | None) -> QuarantineEntry:
    assert row.id is not None
    return QuarantineEntry(
        id=row.id,
        dao=dao.slug if dao else None,
        source=f"{source.kind}:{source.name or source.locator}" if source else None,
        kind=row.record_kind,
        ref=row.external_ref,
        error=row.error,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at.isoformat(),
        updated_at=row.updated_at.isoformat(),
        raw=row.raw,
    )


def list_quarantined(
    store: Store, *, dao: str | None = None, source: str | None = None, status: str | None = OPEN, limit: int = 1000
) -> list[QuarantineEntry]:
    """Quarantined records, newest first; ``status=None`` lists every status.

    ``source`` matches a source's kind (``discord``), locator or name.
    """
    query = _query(dao, source)
    if status is not None:
        query = query.where(QuarantinedRecord.status == status)
    query = query.order_by(col(QuarantinedRecord.id).desc()).limit(limit)
    with store.session() as session:
        return [_entry(row, src, d) for row, src, d in session.exec(query).all()]


def get_quarantined(store: Store, record_id: int) -> QuarantineEntry:
    with store.session() as session:
        found = session.exec(_query(None, None).where(QuarantinedRecord.id == record_id)).first()
    if found is None:
        raise NotFoundError(f"No quarantined record {record_id}. List them with `concord quarantine list`.")
    return _entry(*found)


@dataclass
class RetrySummary:
    resolved: int = 0
    failed: int = 0
    given_up: int = 0
    not_replayable: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"retried: {self.resolved} stored, {self.failed} still failing, {self.given_up} given up, "
            f"{self.not_replayable} not replayable from their payload (the source retries them on its next run)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "resolved": self.resolved,
            "failed": self.failed,
            "given_up": self.given_up,
            "not_replayable": self.not_replayable,
        }


def _replay(row: QuarantinedRecord, source: Source, normaliser: Normaliser) -> list[Record]:
    if max_depth(row.raw) > MAX_DEPTH:
        raise ValueError(f"the stored payload nests deeper than {MAX_DEPTH} levels; it cannot be replayed")
    try:
        payload = json.loads(row.raw)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"the stored payload is not JSON ({exc})") from exc
    return normaliser(payload, source)


def retry_quarantined(
    store: Store,
    normalisers: Mapping[str, Normaliser],
    *,
    ids: Iterable[int] | None = None,
    dao: str | None = None,
    source: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> RetrySummary:
    """Replay open quarantined records (or exactly ``ids``, whatever their status) through their normaliser.

    Each record is retried in its own transaction: success writes its records and resolves the row;
    failure records the new reason and one more attempt, giving up after ``max_attempts``.
    """
    summary = RetrySummary()
    query = _query(dao, source)
    chosen = list(ids) if ids is not None else None
    if chosen is not None:
        query = query.where(col(QuarantinedRecord.id).in_(chosen))
    else:
        query = query.where(QuarantinedRecord.status == OPEN)
    with store.session() as session:
        rows = session.exec(query.order_by(col(QuarantinedRecord.id))).all()
    if chosen is not None:
        missing = set(chosen) - {row.id for row, _, _ in rows}
        if missing:
            raise NotFoundError(
                f"No quarantined record {min(missing)}. List them with `concord quarantine list`."
            )
    for row, src, _ in rows:
        normaliser = normalisers.get(row.record_kind)
        if normaliser is None or src is None:
            summary.not_replayable += 1
            continue
        try:
            with store.session() as session:
                records = _replay(row, src, normaliser)
                write_records(session, src, records)
                stored = session.get(QuarantinedRecord, row.id)
                assert stored is not None
                stored.status, stored.updated_at = RESOLVED, utcnow()
                session.add(stored)
            summary.resolved += 1
        except Exception as exc:  # noqa: BLE001 - a failing replay stays quarantined with its new reason
            with store.session() as session:
                stored = session.get(QuarantinedRecord, row.id)
                assert stored is not None
                stored.attempts += 1
                stored.updated_at = utcnow()
                if stored.attempts >= max_attempts:
                    stored.status = GIVEN_UP
                    stored.error = f"given up after {stored.attempts} attempts: {_reason(exc)}"
                    summary.given_up += 1
                else:
                    stored.status, stored.error = OPEN, _reason(exc)
                    summary.failed += 1
                session.add(stored)
            summary.errors.append(f"#{row.id}: {_reason(exc)}")
    return summary
