"""Running a source: fetch raw payloads, normalise, write, move the cursor — batch by batch.

Each batch commits in one transaction together with its cursor, so a run killed anywhere
resumes from the last committed cursor with nothing duplicated or lost. A payload that cannot
be normalised or written goes to the quarantine (same transaction) with its error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import Session, select

from ingest.core.domain import Dao, IngestCursor, Source
from ingest.core.errors import StoreError
from ingest.core.store import Store
from ingest.quarantine import open_quarantine_keys, quarantine_key, quarantine_many, resolve_quarantined
from ingest.records import Record
from ingest.writer import WriteCounts, write_records

__all__ = ["Batch", "IngestSource", "IngestSummary", "RawItem", "run_ingestion"]


@dataclass(frozen=True, slots=True)
class RawItem:
    """One payload as the API returned it, with what it is and a reference for the quarantine."""

    kind: str
    ref: str
    payload: Any


@dataclass
class Batch:
    items: list[RawItem]
    cursor: tuple[str, str] | None = None  # (stream, value) to store once the batch is written


class IngestSource(Protocol):
    """A place a DAO speaks or decides. Implementations live in ``ingest.sources``."""

    kind: str
    locator: str
    name: str

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        """Yield batches of raw payloads newer than the stored cursors."""
        ...

    def normalise(self, item: RawItem) -> list[Record]:
        """Turn one payload into records; raise InputError (or anything) to quarantine it."""
        ...


@dataclass
class IngestSummary:
    source: str
    ingested: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the source or its after-run step wants the operator to know

    def line(self) -> str:
        return (
            f"{self.source}: {self.ingested} ingested, {self.updated} updated, "
            f"{self.duplicates} skipped as duplicate, {self.quarantined} quarantined"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ingested": self.ingested,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "batches": self.batches,
        }


def _quarantine(session: Session, source: Source, bad: list[tuple[RawItem, Exception]]) -> None:
    quarantine_many(session, source, [(item.kind, item.ref, item.payload, error) for item, error in bad])


def _open_keys(store: Store, source: Source) -> set[str]:
    with store.session() as session:
        return open_quarantine_keys(session, source.id)  # type: ignore[arg-type]


def _stored_cursors(store: Store, source: Source) -> dict[str, str]:
    with store.session() as session:
        rows = session.exec(select(IngestCursor.stream, IngestCursor.value).where(IngestCursor.source_id == source.id))
        return dict(rows.all())


def _resolve(session: Session, source: Source, items: list[RawItem], open_keys: set[str]) -> None:
    """Stored now: any open quarantine row of these records is resolved (only keys in ``open_keys`` can have one)."""
    if open_keys:
        keys = (quarantine_key(source.id, item.kind, item.ref) for item in items)
        resolve_quarantined(session, [key for key in keys if key in open_keys])


def run_ingestion(
    store: Store,
    dao: Dao,
    source_impl: IngestSource,
    *,
    on_batch: Callable[[IngestSummary, int], None] | None = None,
) -> IngestSummary:
    """Ingest everything new from ``source_impl`` into ``dao``; safe to run again at any time."""
    source = store.ensure_source(dao, source_impl.kind, source_impl.locator, source_impl.name)
    assert source.id is not None
    summary = IngestSummary(source=f"{dao.slug}/{source_impl.kind}:{source_impl.name or source_impl.locator}")

    cursors = _stored_cursors(store, source)  # one query; kept in step with what each batch commits

    def cursor_of(stream: str) -> str | None:
        return cursors.get(stream)

    open_keys = _open_keys(store, source)  # only these records can need resolving once stored

    for batch in source_impl.batches(cursor_of):
        normalised: list[tuple[RawItem, list[Record]]] = []
        bad: list[tuple[RawItem, Exception]] = []
        for item in batch.items:
            try:
                normalised.append((item, source_impl.normalise(item)))
            except Exception as exc:  # noqa: BLE001 - any failure quarantines this one payload
                bad.append((item, exc))
        counts = _write_batch(store, source, normalised, bad, batch.cursor, open_keys=open_keys)
        if batch.cursor is not None:
            cursors[batch.cursor[0]] = batch.cursor[1]  # committed with the batch
        if bad or counts.quarantined:
            open_keys = _open_keys(store, source)
        summary.ingested += counts.inserted
        summary.updated += counts.updated
        summary.duplicates += counts.unchanged
        summary.quarantined += len(bad) + counts.quarantined
        summary.batches += 1
        summary.errors.extend([str(e) for _, e in bad[:5]] + counts.errors[:5])
        if on_batch is not None:
            on_batch(summary, len(batch.items))
    return summary


@dataclass
class _BatchCounts(WriteCounts):
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)


def _write_batch(
    store: Store,
    source: Source,
    normalised: list[tuple[RawItem, list[Record]]],
    bad: list[tuple[RawItem, Exception]],
    cursor: tuple[str, str] | None,
    *,
    open_keys: set[str],
) -> _BatchCounts:
    """Write the batch in one transaction; if the batch fails as a whole, retry item by item.

    A lost database (StoreError) is not a bad record: it stops the run, nothing is quarantined for it.
    """
    counts = _BatchCounts()
    try:
        with store.session() as session:
            written = write_records(session, source, [r for _, records in normalised for r in records])
            _resolve(session, source, [item for item, _ in normalised], open_keys)
            _quarantine(session, source, bad)
            if cursor is not None:
                store.set_cursor(session, source.id, cursor[0], cursor[1])  # type: ignore[arg-type]
        counts.add(written)
        return counts
    except StoreError:
        raise
    except Exception:  # noqa: BLE001 - fall back to isolating the bad item(s)
        pass
    for item, records in normalised:
        try:
            with store.session() as session:
                written = write_records(session, source, records)
                _resolve(session, source, [item], open_keys)
            counts.add(written)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - this one record cannot be written: quarantine it
            with store.session() as session:
                _quarantine(session, source, [(item, exc)])
            counts.quarantined += 1
            counts.errors.append(f"{type(exc).__name__}: {exc}")
    with store.session() as session:
        _quarantine(session, source, bad)
        if cursor is not None:
            store.set_cursor(session, source.id, cursor[0], cursor[1])  # type: ignore[arg-type]
    return counts
