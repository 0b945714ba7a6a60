"""The ingestion loop's rules with a scripted source (SQLite): counts, cursors committed with their batch, bad payloads
quarantined whether they fail to normalise or to write, quarantine rows resolved once stored (ingest/pipeline.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlmodel import select

from ingest import pipeline
from ingest.core.domain import Post, QuarantinedRecord, Source, Thread
from ingest.core.errors import InputError, StoreError
from ingest.core.store import Store
from ingest.pipeline import Batch, IngestSummary, RawItem, run_ingestion
from ingest.records import PostRecord, ProposalRecord, Record, ThreadRecord, VoteRecord


@pytest.fixture
def db(empty_store: Store) -> Store:
    return empty_store


@dataclass
class ScriptedSource:
    """Yields the given batches; a payload "bad:..." fails to normalise, "orphan-vote:..." fails to write."""

    batches_: list[Batch]
    kind: str = "discourse"
    locator: str = "https://forum.example"
    name: str = ""
    cursors_seen: list[str | None] = field(default_factory=list)

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        for batch in self.batches_:
            self.cursors_seen.append(cursor_of("topics"))
            yield batch

    def normalise(self, item: RawItem) -> list[Record]:
        text = str(item.payload)
        if text.startswith("bad:"):
            raise InputError(f"unreadable payload {text}")
        if text.startswith("orphan-vote:"):
            return [VoteRecord(proposal_external_id="missing", voter=text, choice=1)]
        if text.startswith("proposal:"):
            return [ProposalRecord(origin="snapshot", external_id=text)]
        return [ThreadRecord("t", "Thread"), PostRecord("t", item.ref, text)]


def item(ref: str, payload: str, kind: str = "post") -> RawItem:
    return RawItem(kind=kind, ref=ref, payload=payload)


def run(db: Store, *batches: Batch, **source: str) -> IngestSummary:
    return run_ingestion(db, db.ensure_dao("testdao"), ScriptedSource(list(batches), **source))


def quarantined(db: Store) -> list[tuple[str, str | None, str, str]]:
    with db.session() as session:
        return sorted((q.record_kind, q.external_ref, q.status, q.error) for q in session.exec(select(QuarantinedRecord)))


def cursor(db: Store) -> str | None:
    dao = db.ensure_dao("testdao")
    source = db.ensure_source(dao, "discourse", "https://forum.example")
    return db.get_cursor(source.id, "topics")


def test_a_run_counts_inserts_updates_and_duplicates(db: Store) -> None:
    first = run(db, Batch([item("1", "hello"), item("2", "world")], cursor=("topics", "c1")), Batch([item("3", "again")]))
    assert first.as_dict() == {"source": "testdao/discourse:https://forum.example", "ingested": 4, "updated": 0,
                               "duplicates": 1, "quarantined": 0, "batches": 2}
    # thread t comes with every item: inserted once by batch 1 (one row per key in a batch), unchanged in batch 2
    second = run(db, Batch([item("1", "hello"), item("2", "edited")]), name="Forum")
    assert second.source == "testdao/discourse:Forum"
    assert (second.ingested, second.updated, second.duplicates, second.batches) == (0, 1, 2, 1)
    assert second.line() == "testdao/discourse:Forum: 0 ingested, 1 updated, 2 skipped as duplicate, 0 quarantined"
    assert second.errors == [] and second.notes == []
    named = run(db, Batch([]), kind="discord", locator="guild:1", name="Main server")
    assert named.source == "testdao/discord:Main server"
    with db.session() as session:
        stored = {s.locator: s.name for s in session.exec(select(Source))}
    assert stored == {"https://forum.example": "https://forum.example", "guild:1": "Main server"}


def test_each_batch_commits_its_cursor_and_the_next_batch_sees_it(db: Store) -> None:
    source = ScriptedSource([Batch([item("1", "a")], cursor=("topics", "c1")), Batch([item("2", "b")]),
                             Batch([item("3", "c")], cursor=("topics", "c3"))])
    run_ingestion(db, db.ensure_dao("testdao"), source)
    assert source.cursors_seen == [None, "c1", "c1"]
    assert cursor(db) == "c3"


def test_a_later_run_starts_from_the_cursors_its_own_source_stored(db: Store) -> None:
    run(db, Batch([item("1", "a")], cursor=("topics", "c3")))
    run(db, Batch([item("9", "z")], cursor=("topics", "another source's")), kind="discord", locator="guild:1")
    again = ScriptedSource([Batch([item("2", "b")])])
    run_ingestion(db, db.ensure_dao("testdao"), again)
    assert again.cursors_seen == ["c3"]
    fresh = ScriptedSource([Batch([])], kind="discord", locator="guild:2")
    run_ingestion(db, db.ensure_dao("testdao"), fresh)
    assert fresh.cursors_seen == [None]


def test_a_payload_that_cannot_be_normalised_is_quarantined_with_the_batch(db: Store) -> None:
    summary = run(db, Batch([item("1", "fine"), item("2", "bad:one", kind="topic"), item("3", "fine too")],
                            cursor=("topics", "c1")))
    # one transaction for the batch: thread t once (an item-by-item retry would count it again as a duplicate)
    assert (summary.ingested, summary.duplicates, summary.quarantined) == (3, 0, 1)
    assert summary.errors == ["unreadable payload bad:one"]
    assert quarantined(db) == [("topic", "2", "open", "InputError: unreadable payload bad:one")]
    with db.session() as session:
        assert [q.raw for q in session.exec(select(QuarantinedRecord))] == ["bad:one"]  # the payload is kept to retry
    assert cursor(db) == "c1"


def test_a_payload_that_cannot_be_written_is_quarantined_alone_and_the_rest_is_stored(db: Store) -> None:
    summary = run(db, Batch([item("1", "fine"), item("2", "orphan-vote:0xv", kind="vote"), item("3", "bad:x"),
                             item("4", "also fine")], cursor=("topics", "c1")))
    assert (summary.ingested, summary.duplicates, summary.quarantined) == (3, 1, 2)
    assert summary.errors == ["unreadable payload bad:x",
                              "InputError: votes refer to proposals not in the store: ['missing']; ingest the proposals first"]
    assert quarantined(db) == [
        ("post", "3", "open", "InputError: unreadable payload bad:x"),
        ("vote", "2", "open", "InputError: votes refer to proposals not in the store: ['missing']; ingest the proposals first"),
    ]
    with db.session() as session:
        assert sorted(p.external_id for p in session.exec(select(Post))) == ["1", "4"]
        (source,) = session.exec(select(Source)).all()
        assert [q.source_id for q in session.exec(select(QuarantinedRecord))] == [source.id, source.id]
    assert cursor(db) == "c1"  # the batch is done: its cursor moves on


def test_errors_are_reported_five_per_kind_per_batch(db: Store) -> None:
    items = [item(str(i), f"bad:{i}") for i in range(7)] + [item(f"v{i}", f"orphan-vote:{i}") for i in range(7)]
    summary = run(db, Batch(items))
    assert summary.quarantined == 14
    assert summary.errors[:5] == [f"unreadable payload bad:{i}" for i in range(5)]
    assert len(summary.errors) == 10 and all(e.startswith("InputError: votes refer") for e in summary.errors[5:])


def test_a_stored_record_resolves_its_quarantine_row(db: Store) -> None:
    run(db, Batch([item("1", "bad:first try")]))
    assert [q[2] for q in quarantined(db)] == ["open"]
    run(db, Batch([item("1", "fixed now")]))
    assert [q[2] for q in quarantined(db)] == ["resolved"]


def test_a_record_stored_after_a_write_failure_in_the_same_run_resolves_its_row(db: Store) -> None:
    # batch 1 quarantines item 1 at write time; batch 2 stores it: resolved in the same run
    summary = run(db, Batch([item("1", "orphan-vote:0xv", kind="post")]), Batch([item("1", "now a post")]))
    assert summary.quarantined == 1
    assert [q[2] for q in quarantined(db)] == ["resolved"]


def test_a_later_batch_of_the_run_still_resolves_a_row_open_before_the_run(db: Store) -> None:
    run(db, Batch([item("1", "bad:x")]))
    run(db, Batch([item("9", "unrelated and fine")]), Batch([item("1", "fixed in the second batch")]))
    assert [q[2] for q in quarantined(db)] == ["resolved"]


def test_a_record_quarantined_at_normalising_is_resolved_by_a_later_batch_of_the_same_run(db: Store) -> None:
    run(db, Batch([item("1", "bad:x")]), Batch([item("1", "fixed in the next batch")]))
    assert [q[2] for q in quarantined(db)] == ["resolved"]


def test_counts_add_up_over_the_batches_of_a_run(db: Store) -> None:
    run(db, Batch([item("1", "a"), item("2", "b")]))
    summary = run(db, Batch([item("1", "a2"), item("2", "b")]), Batch([item("1", "a3"), item("2", "b")]))
    assert (summary.ingested, summary.updated, summary.duplicates, summary.batches) == (0, 2, 4, 2)


def test_a_resolving_run_writes_a_good_batch_in_one_transaction(db: Store) -> None:
    run(db, Batch([item("1", "bad:x")]))
    summary = run(db, Batch([item("1", "fixed"), item("2", "fine")]))
    # one transaction: thread t is written once (an item-by-item retry would count it again as a duplicate)
    assert (summary.ingested, summary.updated, summary.duplicates, summary.quarantined) == (3, 0, 0, 0)
    assert [q[2] for q in quarantined(db)] == ["resolved"]


def test_a_record_stored_item_by_item_resolves_its_row(db: Store) -> None:
    run(db, Batch([item("1", "bad:x")]))
    run(db, Batch([item("1", "stored alone"), item("2", "orphan-vote:0xv", kind="vote")]))
    assert [(q[0], q[1], q[2]) for q in quarantined(db)] == [("post", "1", "resolved"), ("vote", "2", "open")]


def test_a_lost_database_stops_the_run_and_quarantines_nothing(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def lost(*_args, **_kwargs):
        raise StoreError("database went away")

    monkeypatch.setattr(pipeline, "write_records", lost)
    with pytest.raises(StoreError):
        run(db, Batch([item("1", "a")], cursor=("topics", "c1")))
    assert quarantined(db) == [] and cursor(db) is None


def test_a_lost_database_during_the_item_by_item_retry_stops_the_run(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    real = pipeline.write_records
    calls = []

    def fails_then_lost(session, source, records):
        calls.append(len(records))
        if len(calls) == 1:
            raise InputError("the batch as a whole fails")
        raise StoreError("database went away")

    monkeypatch.setattr(pipeline, "write_records", fails_then_lost)
    with pytest.raises(StoreError):
        run(db, Batch([item("1", "a"), item("2", "b")], cursor=("topics", "c1")))
    assert calls == [4, 2] and quarantined(db) == [] and cursor(db) is None
    monkeypatch.setattr(pipeline, "write_records", real)


def test_on_batch_reports_the_running_summary_and_batch_size(db: Store) -> None:
    seen = []
    run_ingestion(db, db.ensure_dao("testdao"), ScriptedSource([Batch([item("1", "a"), item("2", "b")]), Batch([item("3", "c")])]),
                  on_batch=lambda summary, size: seen.append((summary.batches, summary.ingested, size)))
    assert seen == [(1, 3, 2), (2, 4, 1)]


def test_an_empty_batch_still_counts_and_moves_the_cursor(db: Store) -> None:
    summary = run(db, Batch([], cursor=("topics", "c9")))
    assert summary.batches == 1 and cursor(db) == "c9"
    with db.session() as session:
        assert list(session.exec(select(Thread))) == []
