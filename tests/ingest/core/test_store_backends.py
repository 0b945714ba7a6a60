"""The store on SQLite and PostgreSQL: migrations, natural keys, idempotent ingestion, quarantine."""

from __future__ import annotations

import pytest
from sqlmodel import select

from ingest.core.domain import Post, Proposal, QuarantinedRecord, Thread, Vote
from ingest.core.errors import NotFoundError, StoreError
from ingest.core.store import Store
from ingest.core.store.migrate import current_revisions, head_revisions
from ingest.pipeline import IngestSummary, run_ingestion
from ingest.sources.discord_export import DiscordExportSource
from ingest.sources.sample import SAMPLE_DAOS, sample_sources
from tests.conftest import ingest_sample


def test_open_migrates_to_every_head(store: Store) -> None:
    assert current_revisions(store.engine) == head_revisions()
    assert head_revisions()  # at least the foundation revision


def _ingest_sample_summaries(store: Store) -> list[IngestSummary]:
    for dao in SAMPLE_DAOS:
        store.ensure_dao(dao.slug, dao.name, forum_url=dao.forum_url, snapshot_space=dao.snapshot_space, chain_id=dao.chain_id)
    return [run_ingestion(store, store.get_dao(slug), source) for slug, source in sample_sources()]


def test_sample_ingestion_is_idempotent(store: Store) -> None:
    first = _ingest_sample_summaries(store)
    counts = {m.__name__: store.count(m) for m in (Thread, Post, Proposal, Vote)}
    assert counts == {"Thread": 387, "Post": 5174, "Proposal": 507, "Vote": 7733}
    assert sum(s.ingested for s in first) == sum(counts.values())
    # Only the 32 attachment-only Discord messages are refused, on every backend.
    assert [s.quarantined for s in first if s.quarantined] == [32]
    with store.session() as session:
        rows = session.exec(select(QuarantinedRecord)).all()
    assert len(rows) == 32 and all("empty message" in r.error and r.attempts == 1 for r in rows)

    second = _ingest_sample_summaries(store)
    assert [s.source for s in second] == [s.source for s in first]
    assert all((s.ingested, s.updated) == (0, 0) for s in second), [s.as_dict() for s in second]
    assert [s.quarantined for s in second if s.quarantined] == [32]  # the same 32 met again...
    with store.session() as session:
        again = session.exec(select(QuarantinedRecord)).all()
    assert sorted(r.key for r in again) == sorted(r.key for r in rows)  # ...and no row added for them
    assert all(r.attempts == 2 and r.status == "open" for r in again)
    assert {m.__name__: store.count(m) for m in (Thread, Post, Proposal, Vote)} == counts


def test_reingesting_from_scratch_adds_nothing(store: Store) -> None:
    """Even with cursors reset, natural keys keep re-ingestion from duplicating rows."""
    ingest_sample(store)
    before = store.count(Post)
    from ingest.core.domain import IngestCursor

    with store.session() as session:
        for cursor in session.exec(select(IngestCursor)).all():
            session.delete(cursor)
    ingest_sample(store)
    assert store.count(Post) == before


def _export(messages: list[object]) -> dict[str, object]:
    return {"guild": {"id": "g1", "name": "Guild"}, "channel": {"id": "c1", "name": "gov"}, "messages": messages}


def _message(i: int, content: object = "hello") -> dict[str, object]:
    return {"id": f"m{i}", "timestamp": "2024-01-01T00:00:00+00:00", "content": content, "author": {"id": "1", "name": "al"}}


def test_bad_records_are_quarantined_and_good_ones_kept(store: Store) -> None:
    dao = store.ensure_dao("guild")
    messages = [_message(1), _message(2, content=None), "not an object", _message(3, content=""), _message(4, "x" * 2_000_001)]
    summary = run_ingestion(store, dao, DiscordExportSource(_export(messages)))
    assert summary.ingested == 2  # the channel thread and message m1
    assert summary.quarantined == 4
    with store.session() as session:
        errors = [q.error for q in session.exec(select(QuarantinedRecord)).all()]
    assert any("content should be text" in e for e in errors)
    assert any("expected a JSON object" in e for e in errors)
    assert any("empty message" in e for e in errors)
    assert any("over the 1,000,000 limit" in e for e in errors)


def test_edited_message_updates_in_place(store: Store) -> None:
    dao = store.ensure_dao("guild")
    run_ingestion(store, dao, DiscordExportSource(_export([_message(1, "first")])))
    with store.session() as session:
        for cursor in session.exec(select(__import__("ingest.core.domain", fromlist=["IngestCursor"]).IngestCursor)).all():
            session.delete(cursor)
    summary = run_ingestion(store, dao, DiscordExportSource(_export([_message(1, "first, edited")])))
    assert summary.updated == 1 and summary.ingested == 0
    with store.session() as session:
        texts = [p.text for p in session.exec(select(Post)).all()]
    assert texts == ["first, edited"]


def test_unknown_names_are_clear_errors(store: Store) -> None:
    ingest_sample(store)
    with pytest.raises(NotFoundError, match="Unknown DAO 'nope'. Known DAOs: aave, arbitrum, compound"):
        store.get_dao("nope")
    with pytest.raises(NotFoundError, match="Unknown proposal 'does-not-exist'"):
        store.get_proposal("does-not-exist")
    found = store.get_proposal("43", dao_slug="compound")
    assert found.title == "Governance Analysis Period"


def test_uninitialised_store_says_run_init(sqlite_url: str) -> None:
    with pytest.raises(StoreError, match="Run `concord init`"):
        Store.open(sqlite_url, migrate=False)
