"""The audit log under attack: concurrent writers, tampered fields, a cut tail, a recomputed chain."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import text
from sqlmodel import col, select

from governance.audit import (
    CHECKPOINT_ACTION,
    Checkpointer,
    append,
    checkpoint,
    entry_hash,
    head,
    head_hash,
    list_entries,
    verify,
)
from governance.audit_checkpoints import MIRROR_FILE, checkpointer_from_settings, read_mirror
from ingest.core.domain import AuditEntry
from ingest.core.errors import InputError
from ingest.core.settings import load_settings
from ingest.core.store import Store

KEY = "0x" + "4c" * 32  # a throwaway attestation key
OTHER_KEY = "0x" + "5d" * 32


@pytest.fixture
def checkpointer(tmp_path: Path) -> Checkpointer:
    return Checkpointer(key=KEY, every=3, mirror=tmp_path / MIRROR_FILE)


def fill(store: Store, checkpointer: Checkpointer | None, count: int) -> None:
    for n in range(count):
        append(store, actor="concord", action="recommend", subject=f"action:{n}", payload={"n": n}, checkpointer=checkpointer)


def sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(statement), params)


def rewrite_from(store: Store, first_id: int) -> None:
    """What a forger with database access does: recompute every hash and link from ``first_id`` on."""
    with store.session() as session:
        rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        previous = None
        for row in rows:
            if row.id >= first_id:
                row.prev_hash = previous.entry_hash if previous is not None else "0" * 64
                row.entry_hash = entry_hash(row)
                session.add(row)
                session.flush()
            previous = row


def test_concurrent_appends_never_share_a_predecessor(store: Store) -> None:
    """Sixteen writers at once: every entry chains to a distinct predecessor and the log verifies."""
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for k in range(5):
                append(store, actor=f"client-{n}", action="refuse", subject=f"action:{k}", payload={"rule": "not_owner"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    entries = list_entries(store, limit=1000)
    assert len(entries) == 80
    prevs = [e.prev_hash for e in entries]
    assert len(set(prevs)) == len(prevs), "two entries chained to the same predecessor"
    assert all(later.prev_hash == earlier.entry_hash for earlier, later in pairwise(entries))
    assert verify(store).ok


def test_concurrent_appends_with_checkpoints_verify(store: Store, checkpointer: Checkpointer) -> None:
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()
        for k in range(4):
            append(store, actor=f"w{n}", action="approve", subject=f"action:{k}", checkpointer=checkpointer)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = verify(store, signer=checkpointer.address, mirror=checkpointer.mirror)
    assert result.ok, result.problem
    assert result.checkpoints == 32 // 3 and result.checked == 32 + 32 // 3


@pytest.mark.parametrize("column, value", [
    ("created_at", "2020-01-01 00:00:00"),
    ("action", "approve"),
    ("subject", "action:999"),
])
def test_each_hashed_field_is_covered(store: Store, column: str, value: str) -> None:
    fill(store, None, 3)
    second = list_entries(store)[1]
    sql(store, f"UPDATE audit_entry SET {column} = :v WHERE id = :id", v=value, id=second.id)
    result = verify(store)
    assert not result.ok and result.first_bad_id == second.id
    assert "changed after it was written" in (result.problem or "")


def test_shifted_timestamp_is_caught(store: Store) -> None:
    """Moving an entry one microsecond in time changes its hash."""
    fill(store, None, 2)
    first = list_entries(store)[0]
    with store.session() as session:
        row = session.get(AuditEntry, first.id)
        assert row is not None
        row.created_at = row.created_at + timedelta(microseconds=1)
        session.add(row)
    assert verify(store).first_bad_id == first.id


def test_checkpoints_are_written_every_n_entries_and_signed(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, checkpointer, 7)
    entries = list_entries(store)
    assert [e.action for e in entries].count(CHECKPOINT_ACTION) == 2
    assert [i for i, e in enumerate(entries) if e.action == CHECKPOINT_ACTION] == [3, 7]
    cp = entries[3]
    assert cp.actor == Account.from_key(KEY).address
    assert cp.payload["head_hash"] == entries[2].entry_hash and cp.payload["position"] == 3 and cp.payload["every"] == 3
    mirrored = read_mirror(checkpointer.mirror or Path())
    assert [m["entry_hash"] for m in mirrored] == [entries[3].entry_hash, entries[7].entry_hash]
    result = verify(store, signer=checkpointer.address, mirror=checkpointer.mirror)
    assert result.ok and result.checkpoints == 2 and result.unanchored == 1


def test_deleting_the_newest_entries_is_caught_by_the_mirror(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, checkpointer, 7)
    newest_checkpoint = list_entries(store)[7]
    sql(store, "DELETE FROM audit_entry WHERE id >= :id", id=newest_checkpoint.id - 1)
    assert verify(store).ok  # the chain alone cannot see a cut tail
    result = verify(store, signer=checkpointer.address, mirror=checkpointer.mirror)
    assert not result.ok and result.first_bad_id == newest_checkpoint.id
    assert "is not in the log" in (result.problem or "")


def test_deleting_the_tail_is_caught_by_an_anchor(store: Store) -> None:
    fill(store, None, 5)
    anchor = head_hash(store)
    assert verify(store, anchors=[anchor]).ok
    sql(store, "DELETE FROM audit_entry WHERE id = (SELECT MAX(id) FROM audit_entry)")
    result = verify(store, anchors=[anchor])
    assert not result.ok and "anchor" in (result.problem or "")


def test_rewriting_and_recomputing_every_later_hash_is_caught(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, checkpointer, 7)
    target = list_entries(store)[1]
    sql(store, "UPDATE audit_entry SET payload = :p WHERE id = :id", p='{"n": 99}', id=target.id)
    rewrite_from(store, target.id)
    result = verify(store, signer=checkpointer.address)  # without the mirror: the signed checkpoint alone
    assert not result.ok and "entries before it were rewritten" in (result.problem or "")


def test_removing_a_checkpoint_and_recomputing_is_caught(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, checkpointer, 8)
    entries = list_entries(store)
    first_checkpoint, second_checkpoint = entries[3], entries[7]
    sql(store, "DELETE FROM audit_entry WHERE id = :id", id=first_checkpoint.id)
    rewrite_from(store, first_checkpoint.id)
    result = verify(store, signer=checkpointer.address)
    assert not result.ok and result.first_bad_id == second_checkpoint.id
    assert "entries before it were rewritten" in (result.problem or "")


def test_removing_all_later_checkpoints_breaks_the_promise(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, checkpointer, 9)
    checkpoints = [e.id for e in list_entries(store) if e.action == CHECKPOINT_ACTION]
    sql(store, "DELETE FROM audit_entry WHERE action = 'checkpoint' AND id > :id", id=checkpoints[0])
    rewrite_from(store, checkpoints[0] + 1)
    result = verify(store, signer=checkpointer.address)
    assert not result.ok and "promised" in (result.problem or "")


def test_checkpoint_signed_by_another_key_is_refused(store: Store, tmp_path: Path) -> None:
    forged = Checkpointer(key=OTHER_KEY, every=3)
    fill(store, None, 2)
    checkpoint(store, forged)
    assert verify(store).ok  # consistent on its own terms
    result = verify(store, signer=Account.from_key(KEY).address)
    assert not result.ok and "not by the attestation key" in (result.problem or "")


def test_checkpoint_with_a_forged_signer_field_is_refused(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, None, 1)
    entry = checkpoint(store, checkpointer)
    payload = dict(entry.payload)
    payload["signer"] = Account.from_key(OTHER_KEY).address
    with store.session() as session:
        row = session.get(AuditEntry, entry.id)
        assert row is not None
        row.payload = payload
        row.entry_hash = entry_hash(row)
        session.add(row)
    result = verify(store)
    assert not result.ok and "not by its stated signer" in (result.problem or "")


def test_manual_checkpoint_and_head(store: Store, checkpointer: Checkpointer) -> None:
    assert head(store) == (0, "0" * 64)
    fill(store, None, 2)
    before = head_hash(store)
    entry = checkpoint(store, checkpointer, reason="execute")
    assert entry.payload["head_hash"] == before and entry.subject == "execute"
    assert head(store) == (entry.id, entry.entry_hash)


def test_reserved_actions_cannot_be_appended(store: Store) -> None:
    for action in ("checkpoint", "refuse_summary"):
        with pytest.raises(InputError, match="written by the audit log itself"):
            append(store, actor="mallory", action=action, payload={"head_hash": "0" * 64})


def test_damaged_mirror_is_reported(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, checkpointer, 3)
    assert checkpointer.mirror is not None
    checkpointer.mirror.write_text("not json\n")
    result = verify(store, mirror=checkpointer.mirror)
    assert not result.ok and "line 1 is not JSON" in (result.problem or "")


def test_checkpointer_from_settings_uses_the_attestation_key(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d", chain={"attestation_key": KEY}, audit={"checkpoint_every": 7})
    built = checkpointer_from_settings(settings)
    assert built.address == Account.from_key(KEY).address and built.every == 7
    assert built.mirror == tmp_path / "d" / MIRROR_FILE
    with pytest.raises(InputError, match="at least 1"):
        Checkpointer(key=KEY, every=0)


def test_unreadable_checkpoint_is_named(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, None, 1)
    entry = checkpoint(store, checkpointer)
    assert entry.subject == "manual"  # the default reason
    with store.session() as session:
        row = session.get(AuditEntry, entry.id)
        assert row is not None
        row.payload = {**row.payload, "signature": "0x1234"}
        row.entry_hash = entry_hash(row)
        session.add(row)
    result = verify(store)
    assert not result.ok and result.first_bad_id == entry.id
    assert (result.problem or "").startswith(f"checkpoint entry {entry.id}: checkpoint cannot be read")


def test_checkpoint_failures_name_the_checkpoint_and_the_signers(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, None, 1)
    entry = checkpoint(store, checkpointer)
    other = Account.from_key(OTHER_KEY).address
    result = verify(store, signer=other)
    assert result.first_bad_id == entry.id and f"signed by {checkpointer.address}, not by the attestation key {other}" in (result.problem or "")
    with store.session() as session:
        row = session.get(AuditEntry, entry.id)
        assert row is not None
        row.payload = {**row.payload, "signer": other}
        row.entry_hash = entry_hash(row)
        session.add(row)
    result = verify(store)
    assert result.first_bad_id == entry.id and f"not by its stated signer {other}" in (result.problem or "")


def test_list_entries_filters_by_action_and_limits(store: Store) -> None:
    fill(store, None, 3)
    append(store, actor="0xOwner", action="approve", subject="action:1")
    assert [e.action for e in list_entries(store, action="approve")] == ["approve"]
    assert [e.subject for e in list_entries(store, limit=2)] == ["action:2", "action:1"]
    assert len(list_entries(store)) == 4


def test_refusals_are_folded_per_client_and_rule(store: Store) -> None:
    """At the audit level: one full entry per (client, rule) and window, the rest counted in a summary."""
    from datetime import UTC, datetime

    from governance.audit import write_summaries
    from governance.audit_refusals import RefusalAggregator, refusals_from

    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    aggregator = RefusalAggregator(window_seconds=60, clock=lambda: now[0])
    with refusals_from(aggregator, client="198.51.100.7"):
        for _ in range(4):
            append(store, actor="concord", action="refuse", subject="action:1", payload={"rule": "not_owner"})
        append(store, actor="concord", action="refuse", subject="action:1", payload={"rule": "bad_signature"})
        append(store, actor="concord", action="approve", subject="action:1")  # not a refusal: always written
    with refusals_from(aggregator, client="203.0.113.1"):
        append(store, actor="concord", action="refuse", subject="action:2", payload={"rule": "not_owner"})
    append(store, actor="concord", action="refuse", subject="action:3", payload={"rule": "not_owner"})  # no scope: written
    refusals = list_entries(store, action="refuse")
    assert [(e.payload.get("client"), e.payload["rule"]) for e in refusals] == [
        ("198.51.100.7", "not_owner"), ("198.51.100.7", "bad_signature"), ("203.0.113.1", "not_owner"), (None, "not_owner"),
    ]
    assert list_entries(store, action="refuse_summary") == []
    now[0] = now[0] + timedelta(seconds=61)
    with refusals_from(aggregator, client="203.0.113.1"):
        append(store, actor="concord", action="refuse", subject="action:9", payload={"rule": "expiry"})
    (summary,) = list_entries(store, action="refuse_summary")
    assert summary.subject == "client:198.51.100.7" and summary.actor == "concord"
    assert summary.payload == {"client": "198.51.100.7", "rule": "not_owner", "count": 3, "window_start": "2026-01-01T00:00:00.000000Z",
                               "window_seconds": 60, "last_subject": "action:1"}
    with refusals_from(aggregator, client="203.0.113.1"):
        append(store, actor="concord", action="refuse", subject="action:10", payload={"rule": "expiry"})
    assert write_summaries(store, aggregator.pending_summaries(), actor="dashboard") == 1
    assert write_summaries(store, []) == 0
    last = list_entries(store, action="refuse_summary")[-1]
    assert (last.actor, last.payload["client"], last.payload["rule"], last.payload["count"]) == ("dashboard", "203.0.113.1", "expiry", 1)
    assert last.payload["last_subject"] == "action:10"
    assert verify(store).ok


def test_summaries_count_towards_checkpoints(store: Store, checkpointer: Checkpointer) -> None:
    from datetime import UTC, datetime

    from governance.audit import write_summaries
    from governance.audit_refusals import Summary

    fill(store, checkpointer, 2)
    summaries = [Summary("c", "r", 2, datetime(2026, 1, 1, tzinfo=UTC), 60, "action:1") for _ in range(2)]
    write_summaries(store, summaries, checkpointer=checkpointer)
    actions = [e.action for e in list_entries(store)]
    assert actions == ["recommend", "recommend", "refuse_summary", "checkpoint", "refuse_summary"]
    assert verify(store, signer=checkpointer.address, mirror=checkpointer.mirror).ok


def _mirror_lines(checkpointer: Checkpointer) -> list[dict[str, object]]:
    return read_mirror(checkpointer.mirror or Path())


def _write_mirror(checkpointer: Checkpointer, rows: list[dict[str, object]]) -> None:
    import json

    assert checkpointer.mirror is not None
    checkpointer.mirror.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_mirror_line_signed_by_another_key_is_refused(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, checkpointer, 3)
    (line,) = _mirror_lines(checkpointer)
    forged = Checkpointer(key=OTHER_KEY, every=3).sign(head_id=int(line["head_id"]), head_hash=str(line["head_hash"]),  # type: ignore[call-overload]
                                                       position=int(line["position"]))  # type: ignore[call-overload]
    _write_mirror(checkpointer, [{**forged, "entry_id": line["entry_id"], "entry_hash": line["entry_hash"]}])
    assert verify(store, mirror=checkpointer.mirror).ok  # consistent on its own terms
    result = verify(store, signer=checkpointer.address, mirror=checkpointer.mirror)
    assert not result.ok and f"signed by {forged['signer']}, not by {checkpointer.address}" in (result.problem or "")
    _write_mirror(checkpointer, [{**line, "signer": forged["signer"]}])
    result = verify(store, mirror=checkpointer.mirror)
    assert not result.ok and f"signed by {checkpointer.address}, not by {forged['signer']}" in (result.problem or "")
    _write_mirror(checkpointer, [{**line, "signature": "0xdead"}])
    result = verify(store, mirror=checkpointer.mirror)
    assert not result.ok and "checkpoint cannot be read" in (result.problem or "") and str(checkpointer.mirror) in (result.problem or "")


def test_mirror_holds_the_signed_head_not_only_the_entry_it_names(store: Store, checkpointer: Checkpointer) -> None:
    """Editing the mirror's unsigned entry fields to match a rewritten log does not help: the signed head is checked."""
    fill(store, checkpointer, 3)
    (line,) = _mirror_lines(checkpointer)
    sql(store, "UPDATE audit_entry SET payload = :p WHERE id = :id", p='{"n": 99}', id=int(line["head_id"]))  # type: ignore[call-overload]
    rewrite_from(store, int(line["head_id"]))  # type: ignore[call-overload]
    sql(store, "DELETE FROM audit_entry WHERE action = 'checkpoint'")
    entries = list_entries(store)
    _write_mirror(checkpointer, [{**line, "entry_id": entries[-1].id, "entry_hash": entries[-1].entry_hash}])
    assert verify(store).ok  # the chain alone was rewritten consistently
    result = verify(store, signer=checkpointer.address, mirror=checkpointer.mirror)
    assert not result.ok and f"head {str(line['head_hash'])[:16]}…" in (result.problem or "")
    unnamed = {k: v for k, v in line.items() if k not in ("entry_id", "entry_hash")}
    _write_mirror(checkpointer, [unnamed])
    assert not verify(store, mirror=checkpointer.mirror).ok


def test_rewritten_head_message_names_both_hashes(store: Store, checkpointer: Checkpointer) -> None:
    fill(store, checkpointer, 3)
    cp = list_entries(store)[3]
    sql(store, "UPDATE audit_entry SET payload = :p WHERE id = :id", p='{"n": 98}', id=cp.id - 1)
    rewrite_from(store, cp.id - 1)
    result = verify(store)
    rewritten = list_entries(store)[2]
    assert result.first_bad_id == cp.id
    assert f"signed head {cp.payload['head_hash'][:16]}… (entry {cp.id - 1}) but follows entry {cp.id - 1} with hash {rewritten.entry_hash[:16]}…" in (result.problem or "")


def test_hashed_bytes_are_the_documented_format() -> None:
    """A golden vector built here from the documented format, so a changed key, order or timestamp form fails
    (old logs would no longer verify)."""
    import hashlib
    import json
    from datetime import UTC, datetime

    from governance.audit import canonical_entry_json

    at = datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC)
    expected = (
        '{"action":"approve","actor":"0xOwner","created_at":"2026-03-04T05:06:07.000089Z","payload":{"kind":"eip712"},'
        '"prev_hash":"' + "ab" * 32 + '","subject":"action:1"}'
    ).encode()
    got = canonical_entry_json(prev_hash="ab" * 32, created_at=at, actor="0xOwner", action="approve", subject="action:1",
                               payload={"kind": "eip712"})
    assert got == expected
    naive = canonical_entry_json(prev_hash="ab" * 32, created_at=at.replace(tzinfo=None), actor="0xOwner", action="approve",
                                 subject="action:1", payload={"kind": "eip712"})
    assert naive == expected  # SQLite hands back naive UTC
    entry = AuditEntry(created_at=at, actor="0xOwner", action="approve", subject="action:1", payload={"kind": "eip712"},
                       prev_hash="ab" * 32, entry_hash="")
    assert entry_hash(entry) == hashlib.sha256(expected).hexdigest()
    assert json.loads(got)["created_at"].endswith(".000089Z")
