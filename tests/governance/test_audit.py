"""The audit log is hash-chained: editing, deleting or re-linking a row in the database is caught."""

from __future__ import annotations

from itertools import pairwise

import pytest
from sqlalchemy import text

from governance.audit import GENESIS_HASH, append, list_entries, verify
from ingest.core.errors import InputError
from ingest.core.store import Store


def fill(store: Store) -> None:
    append(store, actor="concord", action="draft", subject="draft:1", payload={"title": "Fund the grants council"})
    append(store, actor="concord", action="recommend", subject="action:1", payload={"report_sha256": "ab" * 32, "choice": "for"})
    append(store, actor="0xOwnerA", action="approve", subject="action:1", payload={"kind": "eip712"})
    append(store, actor="concord", action="execute", subject="action:1", payload={"tx_hash": "0x" + "12" * 32})


def test_chain_links_each_entry_to_the_previous(store: Store) -> None:
    fill(store)
    entries = list_entries(store)
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.entry_hash for earlier, later in pairwise(entries))
    result = verify(store)
    assert result.ok and result.checked == 4 and result.head_hash == entries[-1].entry_hash


def test_edited_payload_is_caught(store: Store) -> None:
    fill(store)
    third = list_entries(store)[2]
    with store.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_entry SET payload = :p WHERE id = :id"), {"p": '{"kind": "eth_sign"}', "id": third.id}
        )
    result = verify(store)
    assert not result.ok and result.first_bad_id == third.id
    assert "changed after it was written" in (result.problem or "")


def test_edited_actor_is_caught(store: Store) -> None:
    fill(store)
    second = list_entries(store)[1]
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entry SET actor = 'mallory' WHERE id = :id"), {"id": second.id})
    assert verify(store).first_bad_id == second.id


def test_deleted_entry_is_caught(store: Store) -> None:
    fill(store)
    entries = list_entries(store)
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": entries[1].id})
    result = verify(store)
    assert not result.ok and result.first_bad_id == entries[2].id
    assert "removed, inserted or re-linked" in (result.problem or "")


def test_recomputed_row_hash_still_breaks_the_next_link(store: Store) -> None:
    """A forger who rewrites a row *and* its hash is caught at the next row."""
    from governance.audit import entry_hash

    fill(store)
    entries = list_entries(store)
    forged = entries[1]
    forged.payload = {"choice": "against"}
    new_hash = entry_hash(forged)
    with store.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_entry SET payload = :p, entry_hash = :h WHERE id = :id"),
            {"p": '{"choice": "against"}', "h": new_hash, "id": forged.id},
        )
    result = verify(store)
    assert not result.ok and result.first_bad_id == entries[2].id


def test_append_needs_actor_and_action(store: Store) -> None:
    with pytest.raises(InputError, match="actor"):
        append(store, actor="", action="draft")
