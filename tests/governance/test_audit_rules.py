"""The audit log's rules one by one on an empty SQLite store: what is hashed, how entries chain, when checkpoints are
written, how refusals are folded, and the exact finding verify reports for each kind of tampering (governance/audit.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import text
from sqlmodel import col, select

from governance.audit import (
    GENESIS_HASH,
    AuditVerification,
    append,
    append_in_session,
    canonical_entry_json,
    checkpoint,
    checkpoint_in_session,
    entry_hash,
    head,
    head_hash,
    list_entries,
    verify,
    write_summaries,
)
from governance.audit_checkpoints import Checkpointer
from governance.audit_refusals import RefusalAggregator, Summary, refusals_from
from ingest.core.domain import AuditEntry
from ingest.core.errors import InputError
from ingest.core.store import Store

KEY = "0x" + "4c" * 32
OTHER_KEY = "0x" + "5d" * 32
SIGNER = Account.from_key(KEY).address
OTHER = Account.from_key(OTHER_KEY).address


@pytest.fixture
def db(empty_store: Store) -> Store:
    return empty_store


def entries(store: Store) -> list[AuditEntry]:
    with store.session() as session:
        return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))


def fill(store: Store, count: int, checkpointer: Checkpointer | None = None, start: int = 0) -> None:
    for n in range(start, start + count):
        append(store, actor="concord", action="recommend", subject=f"action:{n}", payload={"n": n}, checkpointer=checkpointer)


def edit(store: Store, entry_id: int, *, relink_from: int | None = None, **changes: object) -> None:
    """Change an entry's columns; with ``relink_from``, recompute every link and hash from that id on (a forger)."""
    with store.session() as session:
        row = session.get(AuditEntry, entry_id)
        for k, v in changes.items():
            setattr(row, k, v)
        session.add(row)
    if relink_from is not None:
        with store.session() as session:
            previous = None
            for row in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all():
                if row.id >= relink_from:
                    row.prev_hash = previous.entry_hash if previous is not None else GENESIS_HASH
                    row.entry_hash = entry_hash(row)
                    session.add(row)
                    session.flush()
                previous = row


def delete(store: Store, entry_id: int) -> None:
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": entry_id})


# --- what is hashed -----------------------------------------------------------------------------------


def test_timestamps_are_hashed_as_utc_whatever_their_offset() -> None:
    fields = {"prev_hash": GENESIS_HASH, "actor": "a", "action": "b", "subject": "c", "payload": {"k": "é"}}
    utc = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    berlin = utc.astimezone(timezone(timedelta(hours=1)))
    naive = utc.replace(tzinfo=None)
    expected = ('{"action":"b","actor":"a","created_at":"2024-01-02T03:04:05.000006Z","payload":{"k":"é"},'
                f'"prev_hash":"{GENESIS_HASH}","subject":"c"}}').encode()
    for value in (utc, berlin, naive):
        assert canonical_entry_json(created_at=value, **fields) == expected


def test_timestamps_are_hashed_as_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    fields = {"prev_hash": GENESIS_HASH, "actor": "a", "action": "b", "subject": "c", "payload": {}}
    value = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert b'"created_at":"2024-01-02T03:04:05.000006Z"' in canonical_entry_json(created_at=value, **fields)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_an_entry_hash_changes_with_each_field(db: Store) -> None:
    append(db, actor="concord", action="draft", subject="s", payload={"a": 1})
    (entry,) = entries(db)
    assert entry_hash(entry) == entry.entry_hash
    for field, value in (("prev_hash", "1" * 64), ("created_at", entry.created_at + timedelta(microseconds=1)),
                         ("actor", "x"), ("action", "y"), ("subject", "z"), ("payload", {"a": 2})):
        changed = AuditEntry(**{**entry.model_dump(), field: value})
        assert entry_hash(changed) != entry.entry_hash, field
    assert entry_hash(AuditEntry(**{**entry.model_dump(), "payload": None, "entry_hash": ""})) == entry_hash(
        AuditEntry(**{**entry.model_dump(), "payload": {}, "entry_hash": ""}))


# --- appending ----------------------------------------------------------------------------------------


def test_entries_chain_from_the_genesis_hash(db: Store) -> None:
    assert head(db) == (0, GENESIS_HASH) and head_hash(db) == GENESIS_HASH
    first = append(db, actor="concord", action="draft", subject="d1", payload={"when": datetime(2024, 1, 1, tzinfo=UTC)})
    second = append(db, actor="alice", action="approve")
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.entry_hash
    assert first.payload == {"when": "2024-01-01 00:00:00+00:00"}  # made JSON-ready
    assert (second.subject, second.payload) == ("", {})
    assert head(db) == (second.id, second.entry_hash) and head_hash(db) == second.entry_hash
    assert [e.entry_hash for e in entries(db)] == [first.entry_hash, second.entry_hash]


@pytest.mark.parametrize(("actor", "action"), [("", "draft"), ("concord", "")])
def test_an_entry_needs_an_actor_and_an_action(db: Store, actor: str, action: str) -> None:
    with pytest.raises(InputError) as caught:
        append(db, actor=actor, action=action)
    assert str(caught.value) == "An audit entry needs an actor and an action, e.g. actor='concord', action='draft'."


@pytest.mark.parametrize("action", ["checkpoint", "refuse_summary"])
def test_the_logs_own_entries_cannot_be_appended(db: Store, action: str) -> None:
    with pytest.raises(InputError) as caught:
        append(db, actor="concord", action=action)
    assert str(caught.value) == f"{action!r} entries are written by the audit log itself; use checkpoint() for a checkpoint."
    assert entries(db) == []


def test_list_entries_newest_limit_oldest_first_and_by_action(db: Store) -> None:
    fill(db, 5)
    append(db, actor="concord", action="execute", subject="x")
    assert [e.subject for e in list_entries(db, limit=3)] == ["action:3", "action:4", "x"]
    assert [e.subject for e in list_entries(db, action="execute")] == ["x"]
    assert len(list_entries(db)) == 6


def test_a_checkpoint_follows_every_n_entries_and_is_mirrored(db: Store, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.jsonl"
    signer = Checkpointer(key=KEY, every=2, mirror=mirror)
    fill(db, 5, signer)
    assert [e.action for e in entries(db)] == ["recommend", "recommend", "checkpoint", "recommend", "recommend",
                                               "checkpoint", "recommend"]
    rows = entries(db)
    cp = rows[2]
    assert (cp.actor, cp.subject) == (SIGNER, "every")
    assert cp.payload["head_id"] == rows[1].id and cp.payload["head_hash"] == rows[1].entry_hash
    assert cp.payload["position"] == 2 and cp.payload["every"] == 2 and cp.payload["signer"] == SIGNER
    lines = [json.loads(line) for line in mirror.read_text().splitlines()]
    assert [(line["entry_id"], line["entry_hash"]) for line in lines] == [(rows[2].id, rows[2].entry_hash),
                                                                          (rows[5].id, rows[5].entry_hash)]
    assert lines[1]["position"] == 5


def test_a_checkpoint_on_demand_signs_the_current_head(db: Store) -> None:
    signer = Checkpointer(key=KEY, every=10)
    empty = checkpoint(db, signer)
    assert (empty.subject, empty.payload["head_id"], empty.payload["head_hash"], empty.payload["position"]) == (
        "manual", 0, GENESIS_HASH, 0)
    fill(db, 1)
    after = checkpoint(db, signer, reason="execute")
    rows = entries(db)
    assert (after.subject, after.payload["head_id"], after.payload["position"]) == ("execute", rows[1].id, 2)
    assert verify(db, signer=SIGNER).ok


def test_a_checkpoint_inside_a_session_is_manual_unless_told(db: Store) -> None:
    fill(db, 1)
    with db.session() as session:
        made = checkpoint_in_session(session, Checkpointer(key=KEY, every=10))
    assert made.subject == "manual" and entries(db)[-1].subject == "manual"


def test_refusals_in_a_scope_are_written_once_then_counted(db: Store) -> None:
    now = [datetime(2024, 1, 1, tzinfo=UTC)]
    agg = RefusalAggregator(window_seconds=60, clock=lambda: now[0])
    with refusals_from(agg, client="203.0.113.9"):
        first = append(db, actor="dashboard", action="refuse", subject="action:1", payload={"rule": "csrf"})
        again = append(db, actor="dashboard", action="refuse", subject="action:2", payload={"rule": "csrf"})
    assert first.id is not None and first.payload == {"rule": "csrf", "client": "203.0.113.9"}
    assert again.id is None and (again.subject, again.payload) == ("action:2", {"rule": "csrf", "client": "203.0.113.9"})
    assert (again.actor, again.action, again.prev_hash, again.entry_hash) == ("dashboard", "refuse", "", "")  # not chained
    assert again.created_at is not None and again.created_at.tzinfo is not None
    assert len(entries(db)) == 1
    now[0] += timedelta(seconds=60)
    with refusals_from(agg, client="198.51.100.1"):
        append(db, actor="dashboard", action="refuse", subject="action:3", payload={"rule": "csrf"})
    summary, third = entries(db)[1:]
    assert (summary.action, summary.actor, summary.subject) == ("refuse_summary", "dashboard", "client:203.0.113.9")
    assert summary.payload == {"client": "203.0.113.9", "rule": "csrf", "count": 1, "window_start": "2024-01-01T00:00:00.000000Z",
                               "window_seconds": 60, "last_subject": "action:2"}
    assert third.payload["client"] == "198.51.100.1"
    append(db, actor="dashboard", action="refuse", subject="outside", payload={"rule": "csrf"})  # no scope: written
    assert entries(db)[-1].payload == {"rule": "csrf"}
    assert verify(db).ok


def test_only_refusals_are_counted_in_a_scope_and_a_missing_rule_is_empty(db: Store) -> None:
    now = [datetime(2024, 1, 1, tzinfo=UTC)]
    agg = RefusalAggregator(window_seconds=60, clock=lambda: now[0])
    with refusals_from(agg, client="203.0.113.9"):
        for n in range(2):
            append(db, actor="alice", action="approve", subject=f"action:{n}")  # not a refusal: every one written
        append(db, actor="dashboard", action="refuse", subject="a")
        append(db, actor="dashboard", action="refuse", subject="b")
    assert [e.action for e in entries(db)] == ["approve", "approve", "refuse"]
    assert entries(db)[0].payload == {}  # no client added outside refusals
    now[0] += timedelta(seconds=60)
    with refusals_from(agg, client="203.0.113.9"):
        append(db, actor="dashboard", action="refuse", subject="c")
    summary = next(e for e in entries(db) if e.action == "refuse_summary")
    assert (summary.payload["rule"], summary.payload["count"], summary.payload["last_subject"]) == ("", 1, "b")


def test_a_summary_written_by_an_append_is_checkpointed_too(db: Store) -> None:
    now = [datetime(2024, 1, 1, tzinfo=UTC)]
    agg = RefusalAggregator(window_seconds=60, clock=lambda: now[0])
    every = Checkpointer(key=KEY, every=1)
    with refusals_from(agg, client="203.0.113.9"):
        for subject in ("a", "b"):
            append(db, actor="dashboard", action="refuse", subject=subject, payload={"rule": "csrf"}, checkpointer=every)
        now[0] += timedelta(seconds=60)
        append(db, actor="dashboard", action="refuse", subject="c", payload={"rule": "csrf"}, checkpointer=every)
    assert [e.action for e in entries(db)] == ["refuse", "checkpoint", "refuse_summary", "checkpoint", "refuse", "checkpoint"]
    assert verify(db, signer=SIGNER).ok


def test_pending_summaries_are_written_on_shutdown(db: Store) -> None:
    assert write_summaries(db, []) == 0 and entries(db) == []
    start = datetime(2024, 1, 1, tzinfo=UTC)
    written = write_summaries(db, [Summary("a", "csrf", 3, start, 60, "s"), Summary("b", "origin", 1, start, 60, "t")])
    assert written == 2
    rows = entries(db)
    assert [(e.actor, e.action, e.subject, e.payload["count"]) for e in rows] == [
        ("concord", "refuse_summary", "client:a", 3), ("concord", "refuse_summary", "client:b", 1)]
    assert rows[1].prev_hash == rows[0].entry_hash


# --- verifying ----------------------------------------------------------------------------------------


def test_an_intact_log_verifies_with_its_figures(db: Store) -> None:
    assert verify(db) == AuditVerification(ok=True, checked=0)
    fill(db, 4, Checkpointer(key=KEY, every=3))
    rows = entries(db)
    found = verify(db, signer=SIGNER.lower(), anchors=["0x" + rows[1].entry_hash.upper()])
    assert found == AuditVerification(ok=True, checked=5, head_hash=rows[-1].entry_hash, checkpoints=1,
                                      newest_checkpoint_id=rows[3].id, unanchored=1, signer=SIGNER.lower(),
                                      anchors_found=[rows[1].entry_hash])
    assert found.as_dict() == {"ok": True, "checked": 5, "first_bad_id": None, "problem": None,
                               "head_hash": rows[-1].entry_hash, "checkpoints": 1, "newest_checkpoint_id": rows[3].id,
                               "unanchored": 1, "signer": SIGNER.lower(), "anchors_found": [rows[1].entry_hash]}


def test_a_removed_entry_breaks_the_next_link(db: Store) -> None:
    fill(db, 3)
    rows = entries(db)
    delete(db, rows[1].id)
    found = verify(db)
    assert (found.ok, found.checked, found.first_bad_id, found.head_hash) == (False, 1, rows[2].id, rows[0].entry_hash)
    assert found.problem == (f"entry {rows[2].id} points to previous hash {rows[1].entry_hash[:16]}… but the entry before it "
                             f"has hash {rows[0].entry_hash[:16]}… (an entry was removed, inserted or re-linked)")


def test_an_edited_entry_no_longer_hashes_to_its_stored_hash(db: Store) -> None:
    fill(db, 2)
    rows = entries(db)
    edit(db, rows[1].id, subject="action:99")
    found = verify(db)
    assert (found.ok, found.first_bad_id) == (False, rows[1].id)
    recomputed = entry_hash(entries(db)[1])
    assert found.problem == (f"entry {rows[1].id} (recommend by concord) was changed after it was written: stored hash "
                             f"{rows[1].entry_hash[:16]}…, contents hash to {recomputed[:16]}…")


def test_a_rewrite_before_a_checkpoint_breaks_its_signed_head(db: Store) -> None:
    fill(db, 2, Checkpointer(key=KEY, every=2))
    rows = entries(db)
    edit(db, rows[1].id, relink_from=rows[1].id, subject="forged")
    rewritten = entries(db)
    found = verify(db)
    assert (found.ok, found.first_bad_id, found.checkpoints) == (False, rows[2].id, 0)
    assert found.problem == (f"checkpoint entry {rows[2].id} signed head {rows[1].entry_hash[:16]}… (entry {rows[1].id}) but "
                             f"follows entry {rows[1].id} with hash {rewritten[1].entry_hash[:16]}…: entries before it were rewritten")


def test_a_checkpoint_naming_another_head_id_is_caught(db: Store) -> None:
    fill(db, 2, Checkpointer(key=KEY, every=2))
    rows = entries(db)
    forged = Checkpointer(key=KEY, every=2).sign(head_id=rows[0].id, head_hash=rows[1].entry_hash, position=2)
    edit(db, rows[2].id, relink_from=rows[2].id, payload=forged)
    found = verify(db)
    assert found.first_bad_id == rows[2].id and "entries before it were rewritten" in found.problem


def test_a_resigned_checkpoint_with_another_position_is_caught(db: Store) -> None:
    fill(db, 2, Checkpointer(key=KEY, every=2))
    rows = entries(db)
    forged = Checkpointer(key=KEY, every=2).sign(head_id=rows[1].id, head_hash=rows[1].entry_hash, position=1)
    edit(db, rows[2].id, relink_from=rows[2].id, payload=forged)
    found = verify(db)
    assert found.first_bad_id == rows[2].id
    assert found.problem == (f"checkpoint entry {rows[2].id} signed 1 entries before it, the log has 2: entries before it "
                             "were removed or inserted")


def test_a_checkpoint_signed_by_another_key_is_caught_when_the_signer_is_given(db: Store) -> None:
    fill(db, 1, Checkpointer(key=OTHER_KEY, every=1))
    cp = entries(db)[1]
    assert verify(db).ok
    found = verify(db, signer=SIGNER)
    assert (found.ok, found.first_bad_id, found.signer) == (False, cp.id, SIGNER)
    assert found.problem == f"checkpoint entry {cp.id} is signed by {OTHER}, not by the attestation key {SIGNER}"


def test_a_checkpoint_whose_stated_signer_is_not_its_key_is_caught(db: Store) -> None:
    fill(db, 1, Checkpointer(key=KEY, every=1))
    cp = entries(db)[1]
    edit(db, cp.id, relink_from=cp.id, payload={**cp.payload, "signer": OTHER})
    found = verify(db)
    assert (found.first_bad_id, found.problem) == (cp.id, f"checkpoint entry {cp.id} is signed by {SIGNER}, not by its stated signer {OTHER}")


def test_an_unreadable_checkpoint_is_caught(db: Store) -> None:
    fill(db, 1, Checkpointer(key=KEY, every=1))
    cp = entries(db)[1]
    edit(db, cp.id, relink_from=cp.id, payload={k: v for k, v in cp.payload.items() if k != "signature"})
    found = verify(db)
    assert (found.first_bad_id, found.problem) == (cp.id, f"checkpoint entry {cp.id}: checkpoint cannot be read (KeyError: 'signature')")


def test_a_removed_checkpoint_breaks_the_promise_of_the_one_before(db: Store) -> None:
    fill(db, 6, Checkpointer(key=KEY, every=2))
    rows = entries(db)  # r r cp r r cp r r cp
    delete(db, rows[5].id)
    edit(db, rows[6].id, relink_from=rows[6].id)
    forged = Checkpointer(key=KEY, every=2).sign(head_id=rows[7].id, head_hash=entries(db)[6].entry_hash, position=7)
    edit(db, rows[8].id, relink_from=rows[8].id, payload=forged)
    found = verify(db)
    assert (found.first_bad_id, found.newest_checkpoint_id, found.unanchored) == (rows[8].id, rows[2].id, 4)
    assert found.problem == (f"4 entries precede checkpoint entry {rows[8].id} but the checkpoint before it (entry {rows[2].id}) "
                             "promised one within 2: a checkpoint was removed")


def test_more_entries_after_the_newest_checkpoint_than_it_promised_is_caught(db: Store) -> None:
    fill(db, 2, Checkpointer(key=KEY, every=2))
    fill(db, 2, start=2)
    assert verify(db).ok  # two after the checkpoint: still within its promise
    fill(db, 1, start=4)
    found = verify(db)
    assert (found.ok, found.first_bad_id, found.unanchored) == (False, None, 3)
    assert found.problem == (f"3 entries follow the newest checkpoint (entry {entries(db)[2].id}), which promised the next "
                             "within 2: a later checkpoint was removed")


def test_a_cut_tail_is_caught_by_the_mirror(db: Store, tmp_path: Path) -> None:
    mirror = tmp_path / "m.jsonl"
    fill(db, 4, Checkpointer(key=KEY, every=2, mirror=mirror))
    rows = entries(db)
    assert verify(db, mirror=mirror).ok
    assert verify(db, mirror=tmp_path / "missing.jsonl").ok
    for row in rows[4:]:
        delete(db, row.id)
    found = verify(db, mirror=mirror)
    assert (found.ok, found.first_bad_id) == (False, rows[5].id)
    assert found.problem == (f"checkpoint entry {rows[5].id} (head {rows[4].entry_hash[:16]}…, 5 entries) from {mirror} is not "
                             "in the log: its tail was cut or rewritten")


def test_a_rewritten_checkpoint_head_is_caught_by_the_mirror(db: Store, tmp_path: Path) -> None:
    mirror = tmp_path / "m.jsonl"
    fill(db, 2, Checkpointer(key=KEY, every=2, mirror=mirror))
    rows = entries(db)
    edit(db, rows[1].id, relink_from=rows[1].id, subject="forged")
    forged = Checkpointer(key=KEY, every=2).sign(head_id=rows[1].id, head_hash=entries(db)[1].entry_hash, position=2)
    edit(db, rows[2].id, relink_from=rows[2].id, payload=forged)
    assert verify(db).ok  # the key holder's rewrite passes the chain...
    found = verify(db, mirror=mirror)  # ...but not the mirror written before it
    assert found.first_bad_id == rows[2].id and "is not in the log" in found.problem


def test_a_mirror_checkpoint_by_another_key_or_unreadable_is_caught(db: Store, tmp_path: Path) -> None:
    mirror = tmp_path / "m.jsonl"
    fill(db, 1, Checkpointer(key=KEY, every=1, mirror=mirror))
    found = verify(db, mirror=mirror, signer=OTHER)
    assert found.first_bad_id is not None  # the chain's own checkpoint fails first
    line = json.loads(mirror.read_text())
    other = Checkpointer(key=OTHER_KEY, every=1).sign(head_id=line["head_id"], head_hash=line["head_hash"], position=1)
    mirror.write_text(json.dumps({**line, **other, "signer": SIGNER}) + "\n")
    found = verify(db, mirror=mirror)
    assert (found.first_bad_id, found.problem) == (None, f"{mirror}: a checkpoint is signed by {OTHER}, not by {SIGNER}")
    mirror.write_text(json.dumps({**line, "every": "x"}) + "\n")
    assert verify(db, mirror=mirror).problem == f"{mirror}: checkpoint cannot be read (ValueError: invalid literal for int() with base 10: 'x')"
    mirror.write_text("not json\n")
    assert verify(db, mirror=mirror).problem == f"{mirror} line 1 is not JSON: the checkpoint mirror was damaged."


def mirrored_log(db: Store, tmp_path: Path) -> tuple[Path, list[AuditEntry], list[dict[str, object]]]:
    """r r r cp(head 3) r r r cp(head 7), both checkpoints mirrored."""
    mirror = tmp_path / "m.jsonl"
    fill(db, 6, Checkpointer(key=KEY, every=3, mirror=mirror))
    lines = [json.loads(line) for line in mirror.read_text().splitlines()]
    return mirror, entries(db), lines


def write_lines(mirror: Path, lines: list[dict[str, object]]) -> None:
    mirror.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_a_mirror_line_is_held_to_its_signed_head_not_only_its_unsigned_entry_id(db: Store, tmp_path: Path) -> None:
    mirror, rows, lines = mirrored_log(db, tmp_path)
    assert verify(db, mirror=mirror).ok and lines[1]["head_id"] == rows[6].id
    for row in rows[4:]:  # the tail cut after the first checkpoint...
        delete(db, row.id)
    # ...and the second line's unsigned entry fields pointed at the surviving checkpoint: its signed head is gone
    write_lines(mirror, [lines[0], {**lines[1], "entry_id": lines[0]["entry_id"], "entry_hash": lines[0]["entry_hash"]}])
    assert verify(db).ok
    found = verify(db, mirror=mirror)
    assert (found.ok, found.first_bad_id, found.checkpoints, found.checked) == (False, lines[0]["entry_id"], 1, 4)
    assert found.problem == (f"checkpoint entry {lines[0]['entry_id']} (head {str(lines[1]['head_hash'])[:16]}…, 7 entries) from "
                             f"{mirror} is not in the log: its tail was cut or rewritten")


def test_mirror_lines_are_held_to_the_attestation_key_when_it_is_given(db: Store, tmp_path: Path) -> None:
    mirror, _rows, lines = mirrored_log(db, tmp_path)
    assert verify(db, mirror=mirror, signer=SIGNER).checkpoints == 2
    resigned = Checkpointer(key=OTHER_KEY, every=3).sign(head_id=int(lines[1]["head_id"]), head_hash=str(lines[1]["head_hash"]),
                                                         position=int(lines[1]["position"]))
    write_lines(mirror, [lines[0], {**lines[1], **resigned}])  # signed by another key, and saying so
    assert verify(db, mirror=mirror).ok  # no key expected: each line is held to the signer it names
    found = verify(db, mirror=mirror, signer=SIGNER)
    assert (found.ok, found.first_bad_id) == (False, None)
    assert found.problem == f"{mirror}: a checkpoint is signed by {OTHER}, not by {SIGNER}"


def test_a_checkpoint_is_mirrored_once_when_its_transaction_commits(db: Store, tmp_path: Path) -> None:
    mirror = tmp_path / "m.jsonl"
    fill(db, 1)
    with db.session() as session:
        checkpoint_in_session(session, Checkpointer(key=KEY, every=10, mirror=mirror), reason="execute")
        assert not mirror.exists()  # nothing mirrored before the commit
        session.commit()
        assert len(mirror.read_text().splitlines()) == 1
        later = append_in_session(session, actor="concord", action="draft")
    assert later.subject == "" and later.payload == {}
    assert len(mirror.read_text().splitlines()) == 1  # a later commit of the same session writes no second line
    assert verify(db, mirror=mirror, signer=SIGNER).ok


def test_a_log_that_grows_while_it_is_walked_is_not_reported_intact(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import governance.audit as audit_module

    fill(db, 2)
    real_col = audit_module.col

    def col_then_another_writer(column: object) -> object:  # called after the count, before the walk
        monkeypatch.setattr(audit_module, "col", real_col)
        append(db, actor="concord", action="draft")
        return real_col(column)

    monkeypatch.setattr(audit_module, "col", col_then_another_writer)
    assert verify(db) == AuditVerification(ok=False, checked=3, problem="the log changed while it was being verified")
    assert verify(db).ok


def test_an_append_takes_the_write_lock_before_it_reads_the_head(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two writers never chain to the same predecessor: a writer coming between another's read of the head and its
    insert finds the log locked (here it gives up at once) instead of chaining to the same head."""
    import governance.audit as audit_module

    fill(db, 1)
    other = Store.open(db.engine.url.render_as_string(hide_password=False), migrate=False, connect_timeout_s=0.05)
    real_last = audit_module._last_entry
    outcome: list[str] = []

    def head_then_another_writer(session: object) -> object:
        found = real_last(session)
        if not outcome:
            outcome.append("asked")
            try:
                append(other, actor="interloper", action="draft")
                outcome.append("written")
            except Exception as exc:  # noqa: BLE001 - whatever the backend raises, it must say locked
                outcome.append("locked" if "locked" in str(exc) else f"other: {exc}")
        return found

    monkeypatch.setattr(audit_module, "_last_entry", head_then_another_writer)
    try:
        append(db, actor="concord", action="approve")
    finally:
        other.close()
    assert outcome == ["asked", "locked"]
    assert [e.actor for e in entries(db)] == ["concord", "concord"] and verify(db).ok


@pytest.mark.postgres
def test_on_postgresql_an_append_holds_the_audit_lock_until_it_commits(postgres_url: str) -> None:
    from governance.audit import _PG_AUDIT_LOCK

    store = Store.open(postgres_url)
    try:
        with store.session() as session:
            append_in_session(session, actor="concord", action="draft")
            with store.engine.connect() as other:
                taken = other.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _PG_AUDIT_LOCK}).scalar()
            assert taken is False  # another writer waits for this transaction
        with store.engine.connect() as other:
            assert other.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _PG_AUDIT_LOCK}).scalar() is True
        assert [e.action for e in entries(store)] == ["draft"] and verify(store).ok
    finally:
        store.close()


def test_appends_in_one_transaction_chain_and_commit_together(db: Store) -> None:
    with db.session() as session:
        first = append_in_session(session, actor="concord", action="execute", subject="action:1")
        second = append_in_session(session, actor="concord", action="note", subject="action:1")  # the lock is held already
        assert second.prev_hash == first.entry_hash
    assert [e.action for e in entries(db)] == ["execute", "note"] and verify(db).ok


def test_payloads_are_stored_json_ready_with_sorted_keys(db: Store) -> None:
    entry = append(db, actor="concord", action="draft", payload={"b": 1, "a": {"d": 2, "c": 3}})
    assert list(entry.payload) == ["a", "b"] and list(entry.payload["a"]) == ["c", "d"]


def test_a_mirror_line_must_name_a_stored_entry_with_its_hash(db: Store, tmp_path: Path) -> None:
    mirror, rows, lines = mirrored_log(db, tmp_path)
    for changed in ({**lines[1], "entry_hash": rows[3].entry_hash},  # another entry's hash, its head intact
                    {**lines[1], "entry_id": 999},  # an entry that is not stored, its head intact
                    {k: v for k, v in lines[1].items() if k != "entry_id"},  # no entry named at all
                    {**{k: v for k, v in lines[1].items() if k != "entry_id"}, "entry_hash": rows[0].entry_hash}):
        write_lines(mirror, [lines[0], changed])
        found = verify(db, mirror=mirror)
        assert not found.ok and found.problem.endswith("is not in the log: its tail was cut or rewritten"), changed


def test_a_mirror_line_for_an_empty_log_checkpoint_needs_no_head(db: Store, tmp_path: Path) -> None:
    mirror = tmp_path / "m.jsonl"
    checkpoint(db, Checkpointer(key=KEY, every=5, mirror=mirror))
    assert json.loads(mirror.read_text())["head_id"] == 0
    assert verify(db, mirror=mirror, signer=SIGNER).ok


def test_an_anchor_missing_from_the_log_is_caught(db: Store) -> None:
    fill(db, 2)
    rows = entries(db)
    gone = "ab" * 32
    found = verify(db, anchors=[rows[0].entry_hash, "0x" + gone])
    assert (found.ok, found.first_bad_id, found.checked) == (False, None, 2)
    assert found.problem == f"anchor {gone[:16]}… is not in the log: the entries it anchored were cut or rewritten"


def test_summaries_written_on_shutdown_are_checkpointed_too(db: Store) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    write_summaries(db, [Summary("a", "csrf", 3, start, 60, "s")], checkpointer=Checkpointer(key=KEY, every=1))
    assert [e.action for e in entries(db)] == ["refuse_summary", "checkpoint"]


def test_list_entries_shows_the_newest_fifty_by_default(db: Store) -> None:
    fill(db, 51)
    shown = list_entries(db)
    assert len(shown) == 50 and shown[0].subject == "action:1" and shown[-1].subject == "action:50"
