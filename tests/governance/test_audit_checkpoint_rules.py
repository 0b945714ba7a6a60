"""Checkpoint payloads, their signature and the mirror file, on their own (governance/audit_checkpoints.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from pydantic import SecretStr

from governance.audit_checkpoints import (
    CHECKPOINT_ACTION,
    MIRROR_FILE,
    Checkpointer,
    checkpoint_message,
    checkpointer_from_settings,
    read_mirror,
    recover_signer,
)
from ingest.core.errors import InputError
from ingest.core.settings import load_settings

KEY = "0x" + "42" * 32
ADDRESS = Account.from_key(KEY).address


def test_names_of_the_entry_and_the_mirror() -> None:
    assert (CHECKPOINT_ACTION, MIRROR_FILE) == ("checkpoint", "audit-checkpoints.jsonl")


def test_the_signed_text_is_fixed() -> None:
    assert checkpoint_message(head_id=7, head_hash="ab", position=9, every=3) == (
        "concord audit checkpoint v1\nhead_id: 7\nhead_hash: ab\nposition: 9\nevery: 3")


def test_a_checkpoint_names_what_it_covers_and_is_signed_by_the_key() -> None:
    signer = Checkpointer(key=KEY, every=5)
    payload = signer.sign(head_id=7, head_hash="ab" * 32, position=9)
    assert {k: v for k, v in payload.items() if k != "signature"} == {
        "head_id": 7, "head_hash": "ab" * 32, "position": 9, "every": 5, "signer": ADDRESS}
    assert payload["signature"].startswith("0x") and len(payload["signature"]) == 132
    message = checkpoint_message(head_id=7, head_hash="ab" * 32, position=9, every=5)
    assert Account.recover_message(encode_defunct(text=message), signature=payload["signature"]) == ADDRESS
    assert recover_signer(payload) == ADDRESS
    assert signer.address == ADDRESS and Checkpointer(key=KEY).every == 50


@pytest.mark.parametrize("field", ["head_id", "head_hash", "position", "every"])
def test_a_changed_field_recovers_to_another_signer(field: str) -> None:
    payload = Checkpointer(key=KEY, every=5).sign(head_id=7, head_hash="ab", position=9)
    changed = {**payload, field: "cd" if field == "head_hash" else payload[field] + 1}
    assert recover_signer(changed) != ADDRESS


def test_an_unreadable_checkpoint_is_one_clear_error() -> None:
    payload = Checkpointer(key=KEY).sign(head_id=1, head_hash="ab", position=1)
    del payload["every"]
    with pytest.raises(InputError) as caught:
        recover_signer(payload)
    assert str(caught.value) == "checkpoint cannot be read (KeyError: 'every')"
    with pytest.raises(InputError, match=r"^checkpoint cannot be read \(ValueError: "):
        recover_signer({**Checkpointer(key=KEY).sign(head_id=1, head_hash="ab", position=1), "position": "ten"})


@pytest.mark.parametrize("every", [0, -3])
def test_checkpoints_are_due_at_least_every_entry(every: int) -> None:
    with pytest.raises(InputError) as caught:
        Checkpointer(key=KEY, every=every)
    assert str(caught.value) == f"checkpoint_every must be at least 1, got {every}; set CONCORD_AUDIT__CHECKPOINT_EVERY."
    assert Checkpointer(key=KEY, every=1).every == 1


def test_the_mirror_gets_one_sorted_json_line_per_checkpoint(tmp_path: Path) -> None:
    mirror = tmp_path / "two" / "levels" / "mirror.jsonl"
    signer = Checkpointer(key=KEY, every=2, mirror=mirror)
    first = signer.sign(head_id=1, head_hash="aa", position=2)
    second = signer.sign(head_id=3, head_hash="bb", position=4)
    signer.write_mirror(first, entry_id=2, entry_hash="h2")
    signer.write_mirror(second, entry_id=4, entry_hash="h4")
    lines = mirror.read_text(encoding="utf-8").splitlines()
    assert lines[0] == json.dumps({**first, "entry_id": 2, "entry_hash": "h2"}, sort_keys=True)
    assert read_mirror(mirror) == [{**first, "entry_id": 2, "entry_hash": "h2"}, {**second, "entry_id": 4, "entry_hash": "h4"}]


def test_without_a_mirror_nothing_is_written(tmp_path: Path) -> None:
    signer = Checkpointer(key=KEY)
    signer.write_mirror(signer.sign(head_id=1, head_hash="aa", position=1), entry_id=1, entry_hash="h")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_mirror_is_empty_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    assert read_mirror(tmp_path / "none.jsonl") == []
    path = tmp_path / "m.jsonl"
    path.write_text('{"a": 1}\n\n   \n{"b": 2}\n', encoding="utf-8")
    assert read_mirror(path) == [{"a": 1}, {"b": 2}]


def test_a_damaged_mirror_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_mirror(path)
    assert str(caught.value) == f"{path} line 3 is not JSON: the checkpoint mirror was damaged."
    path.write_text('{"a": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_mirror(path)
    assert str(caught.value) == f"{path} line 2 is not a checkpoint object: the checkpoint mirror was damaged."


def test_the_checkpointer_from_settings_uses_the_attestation_key_and_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    settings = settings.model_copy(update={
        "chain": settings.chain.model_copy(update={"attestation_key": SecretStr(KEY)}),
        "audit": settings.audit.model_copy(update={"checkpoint_every": 7}),
    })
    signer = checkpointer_from_settings(settings)
    assert (signer.key, signer.every, signer.mirror) == (KEY, 7, tmp_path / "data" / MIRROR_FILE)


def test_without_a_configured_key_the_data_dir_key_signs(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    signer = checkpointer_from_settings(settings)
    assert signer.key == (tmp_path / "data" / "attestation.key").read_text().strip()
    assert not (tmp_path / "data" / MIRROR_FILE).exists()
