"""The quarantine: one row per bad record, the write-time fallback, list/show/retry and the dashboard page."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from bots.cli.main import main
from ingest.core.domain import Post, Proposal, QuarantinedRecord, Vote
from ingest.core.errors import InputError, NotFoundError
from ingest.core.store import Store
from ingest.normalise.snapshot import snapshot_proposal, snapshot_vote
from ingest.pipeline import Batch, RawItem, run_ingestion
from ingest.quarantine import get_quarantined, list_quarantined, quarantine, quarantine_many, retry_quarantined
from ingest.records import PostRecord, Record
from ingest.sources.quarantine_replay import quarantine_normalisers

PROPOSAL = {"id": "0xp1", "title": "Fund grants", "choices": ["For", "Against"], "type": "single-choice", "state": "closed"}
VOTE = {"id": "0xv1", "voter": "0xabc", "choice": 1, "vp": 5.0, "proposal": {"id": "0xp1"}, "reason": "yes"}


@dataclass
class ScriptedSource:
    """A source yielding fixed batches; its kinds are the real Snapshot kinds and normalisers."""

    batches_to_yield: list[list[RawItem]]
    kind: str = "snapshot"
    locator: str = "test.eth"
    name: str = "test"

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        for items in self.batches_to_yield:
            yield Batch(items)

    def normalise(self, item: RawItem) -> list[Record]:
        if item.kind == "snapshot-proposal":
            return [snapshot_proposal(item.payload)]
        if item.kind == "snapshot-vote":
            return [snapshot_vote(item.payload)]
        if item.kind == "post":
            return [PostRecord(thread_external_id="t1", external_id=item.ref, text=str(item.payload))]
        raise InputError(f"unknown kind {item.kind}")


def _rows(store: Store) -> list[QuarantinedRecord]:
    with store.session() as session:
        return list(session.exec(select(QuarantinedRecord).order_by(QuarantinedRecord.id)))


def test_write_time_failure_quarantines_that_item_and_stores_the_rest(store: Store) -> None:
    """A vote for a proposal not in the store fails the batch at write time; item by item, only it is kept back."""
    dao = store.ensure_dao("test")
    items = [RawItem("post", "p1", "first post"), RawItem("snapshot-vote", "0xv1", VOTE), RawItem("post", "p2", "second")]
    summary = run_ingestion(store, dao, ScriptedSource([items]))
    assert summary.quarantined == 1
    assert summary.ingested == 2  # both posts (the placeholder thread is not counted)
    assert any("proposals not in the store" in e for e in summary.errors)
    rows = _rows(store)
    assert len(rows) == 1
    assert rows[0].record_kind == "snapshot-vote" and rows[0].external_ref == "0xv1"
    assert "votes refer to proposals not in the store" in rows[0].error
    assert json.loads(rows[0].raw) == VOTE
    assert store.count(Post) == 2 and store.count(Vote) == 0


def test_quarantining_the_same_record_again_updates_its_row(store: Store) -> None:
    dao = store.ensure_dao("test")
    source = store.ensure_source(dao, "snapshot", "test.eth")
    assert quarantine(store, source, "snapshot-vote", "0xv1", VOTE, "first reason") is True
    assert quarantine(store, source, "snapshot-vote", "0xv1", {**VOTE, "vp": 6}, ValueError("second reason")) is False
    assert quarantine(store, source, "snapshot-vote", "0xv2", VOTE, "another record") is True
    rows = _rows(store)
    assert len(rows) == 2
    assert (rows[0].attempts, rows[0].error, json.loads(rows[0].raw)["vp"]) == (2, "ValueError: second reason", 6)


def test_a_batch_of_bad_records_is_kept_in_order_with_one_row_per_record(store: Store) -> None:
    dao = store.ensure_dao("test")
    source = store.ensure_source(dao, "snapshot", "test.eth")
    assert quarantine(store, source, "snapshot-vote", "0xv1", VOTE, "before this batch") is True
    with store.session() as session:
        new = quarantine_many(session, source, [
            ("snapshot-vote", "0xv1", {**VOTE, "vp": 7}, "seen again"),
            ("snapshot-vote", "0xv2", VOTE, ValueError("first time")),
            ("snapshot-vote", "0xv2", {**VOTE, "vp": 8}, "twice in one batch"),
        ])  # fmt: skip
    assert new == 1
    rows = _rows(store)
    assert [(r.external_ref, r.attempts, r.error, json.loads(r.raw)["vp"]) for r in rows] == [
        ("0xv1", 2, "seen again", 7),
        ("0xv2", 2, "twice in one batch", 8),
    ]
    with store.session() as session:
        assert quarantine_many(session, source, []) == 0


def test_retry_stores_what_now_succeeds_and_counts_what_still_fails(store: Store) -> None:
    dao = store.ensure_dao("test")
    broken = {**VOTE, "id": "0xv2", "voter": "0xdef", "choice": "not a choice"}
    run_ingestion(store, dao, ScriptedSource([[RawItem("snapshot-vote", "0xv1", VOTE)], [RawItem("snapshot-vote", "0xv2", broken)]]))
    assert [r.status for r in _rows(store)] == ["open", "open"]

    run_ingestion(store, dao, ScriptedSource([[RawItem("snapshot-proposal", "0xp1", PROPOSAL)]]))  # the missing proposal
    summary = retry_quarantined(store, quarantine_normalisers(), max_attempts=3)
    assert (summary.resolved, summary.failed, summary.given_up) == (1, 1, 0)
    assert store.count(Vote) == 1 and store.count(Proposal) == 1
    resolved, failing = _rows(store)
    assert resolved.status == "resolved"
    assert failing.status == "open" and failing.attempts == 2 and "choice should be an index" in failing.error

    again = retry_quarantined(store, quarantine_normalisers(), max_attempts=3)
    assert (again.resolved, again.failed, again.given_up) == (0, 0, 1)
    gone = _rows(store)[1]
    assert gone.status == "given_up" and gone.attempts == 3 and gone.error.startswith("given up after 3 attempts: ")
    assert retry_quarantined(store, quarantine_normalisers()).as_dict() == {
        "resolved": 0, "failed": 0, "given_up": 0, "not_replayable": 0
    }  # given-up records are not retried unless named


def test_a_record_stored_by_a_later_run_resolves_its_row(store: Store) -> None:
    dao = store.ensure_dao("test")
    run_ingestion(store, dao, ScriptedSource([[RawItem("snapshot-vote", "0xv1", VOTE)]]))
    run_ingestion(store, dao, ScriptedSource([[RawItem("snapshot-proposal", "0xp1", PROPOSAL), RawItem("snapshot-vote", "0xv1", VOTE)]]))
    assert [r.status for r in _rows(store)] == ["resolved"]
    assert list_quarantined(store) == []


def test_failed_fetches_are_not_replayable_and_unknown_ids_are_errors(store: Store) -> None:
    dao = store.ensure_dao("test")
    source = store.ensure_source(dao, "discourse", "https://forum.example")
    quarantine(store, source, "discourse-error", "topic 5", {"error": "HTTP 500"}, "RemoteError: HTTP 500")
    assert retry_quarantined(store, quarantine_normalisers()).not_replayable == 1
    assert _rows(store)[0].status == "open"
    with pytest.raises(NotFoundError, match="concord quarantine list"):
        retry_quarantined(store, quarantine_normalisers(), ids=[999])
    with pytest.raises(NotFoundError, match="concord quarantine list"):
        get_quarantined(store, 999)


def test_quarantine_cli_lists_shows_and_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "q.db"
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{db.as_posix()}")
    store = Store.open(f"sqlite:///{db.as_posix()}")
    dao = store.ensure_dao("test")
    run_ingestion(store, dao, ScriptedSource([[RawItem("snapshot-vote", "0xv1", VOTE)]]))
    other = store.ensure_dao("other")
    run_ingestion(store, other, ScriptedSource([[RawItem("snapshot-vote", "0xv9", {**VOTE, "id": "0xv9"})]], locator="o.eth"))

    assert main(["quarantine", "list", "--json", "--dao", "test"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["dao"], e["kind"], e["ref"], e["status"]) for e in listed] == [("test", "snapshot-vote", "0xv1", "open")]
    assert main(["quarantine", "list", "--json", "--source", "snapshot"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(["quarantine", "show", str(listed[0]["id"]), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert json.loads(shown["raw"]) == VOTE and "proposals not in the store" in shown["error"]

    assert main(["quarantine", "retry", "--dao", "test", "--json"]) == 1  # the proposal is still missing
    assert json.loads(capsys.readouterr().out)["failed"] == 1
    run_ingestion(store, dao, ScriptedSource([[RawItem("snapshot-proposal", "0xp1", PROPOSAL)]]))
    assert main(["quarantine", "retry", "--dao", "test", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["resolved"] == 1
    assert main(["quarantine", "list", "--json", "--dao", "test"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["quarantine", "show", "999"]) == 2
    assert "No quarantined record 999" in capsys.readouterr().err
    store.close()


def test_dashboard_lists_quarantined_records(store: Store, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from bots.services import Services
    from bots.web.app import create_app
    from ingest.core.settings import load_settings

    dao = store.ensure_dao("test")
    run_ingestion(store, dao, ScriptedSource([[RawItem("snapshot-vote", "0x<b>v1", VOTE)]]))
    settings = load_settings(data_dir=tmp_path / "data")
    client = TestClient(create_app(settings, services=Services(store=store, settings=settings)))
    page = client.get("/quarantine")
    assert page.status_code == 200
    assert "votes refer to proposals not in the store" in page.text
    assert "0x&lt;b&gt;v1" in page.text and "0x<b>v1" not in page.text  # refs are data, escaped
    assert 'id="quarantine-count">1 record<' in page.text
    assert 'id="quarantine-count">0 records<' in client.get("/quarantine?dao=nope").text
    assert 'id="quarantine-count">0 records<' in client.get("/quarantine?status=resolved").text

    # Replay from the dashboard: a write like any other (CSRF token needed), the same retry as the CLI.
    from bots.web.security import CSRF_COOKIE

    with store.session() as session:
        record_id = session.exec(select(QuarantinedRecord)).one().id
    assert client.post(f"/api/quarantine/{record_id}/retry", json={}).status_code == 403
    token = client.cookies[CSRF_COOKIE]
    replayed = client.post(f"/api/quarantine/{record_id}/retry", json={}, headers={"X-CSRF-Token": token})
    assert replayed.status_code == 200 and replayed.json()["failed"] == 1  # its proposal is still not stored
    with store.session() as session:
        assert session.get(QuarantinedRecord, record_id).attempts == 2
    assert client.post("/api/quarantine/999999/retry", json={}, headers={"X-CSRF-Token": token}).status_code == 404




def test_migration_keeps_quarantine_rows_written_before_keys(store_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from ingest.core.store import open_engine
    from ingest.core.store.migrate import alembic_config, upgrade

    engine = open_engine(store_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001_foundation")
        for ref in ("a", "a"):  # two identical rows, as reruns used to add
            connection.execute(
                text(
                    "INSERT INTO quarantined_record (record_kind, external_ref, raw, error, created_at) "
                    "VALUES ('discord-message', :ref, '{}', 'InputError: bad', '2024-01-01 00:00:00')"
                ),
                {"ref": ref},
            )
    upgrade(engine)
    engine.dispose()
    opened = Store.open(store_url)
    rows = _rows(opened)
    assert len(rows) == 2 and len({r.key for r in rows}) == 2
    assert all(r.status == "open" and r.attempts == 1 and r.updated_at is not None for r in rows)
    assert [e.ref for e in list_quarantined(opened)] == ["a", "a"]
    opened.close()
