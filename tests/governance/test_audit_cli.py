"""`concord audit checkpoint` and `concord audit verify` against a cut or rewritten log."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from eth_account import Account

from bots.cli.main import main
from governance.audit import append
from ingest.core.store import Store

KEY = "0x" + "4c" * 32


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("CONCORD_DATA_DIR", str(data))
    monkeypatch.setenv("CONCORD_CHAIN__ATTESTATION_KEY", KEY)
    store = Store.open(f"sqlite:///{(data / 'concord.db').as_posix()}")
    for n in range(3):
        append(store, actor="concord", action="recommend", subject=f"action:{n}")
    store.close()
    return data


def test_checkpoint_then_verify(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "checkpoint", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["signer"] == Account.from_key(KEY).address and made["position"] == 3
    assert (data_dir / "audit-checkpoints.jsonl").read_text().count("\n") == 1
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "Audit log intact: 4 entries" in out and f"1 signed checkpoints (signer {made['signer']})" in out


def test_verify_finds_a_cut_tail(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "checkpoint"]) == 0
    capsys.readouterr()
    with sqlite3.connect(data_dir / "concord.db") as db:
        db.execute("DELETE FROM audit_entry WHERE id >= 3")
    assert main(["audit", "verify"]) == 1
    assert "is not in the log: its tail was cut or rewritten" in " ".join(capsys.readouterr().err.split())


def test_verify_checks_anchors(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "log", "--json"]) == 0
    head = json.loads(capsys.readouterr().out)[-1]["entry_hash"]
    assert main(["audit", "verify", "--anchor", head, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["anchors_found"] == [head]
    assert main(["audit", "verify", "--anchor", "ab" * 32]) == 1
    assert "anchor abababababababab… is not in the log" in " ".join(capsys.readouterr().err.split())


def test_verify_with_another_signer_fails(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "checkpoint"]) == 0
    other = Account.from_key("0x" + "5d" * 32).address
    assert main(["audit", "verify", "--signer", other]) == 1
    assert f"not by the attestation key {other}" in " ".join(capsys.readouterr().err.split())


def test_verify_without_a_key_says_the_signer_is_unchecked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CONCORD_DATA_DIR", str(tmp_path / "fresh"))
    assert main(["audit", "verify"]) == 0
    assert "signer not checked" in capsys.readouterr().out
    assert not (tmp_path / "fresh" / "attestation.key").exists()


def test_verify_json_is_the_documented_contract(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Scripts read these keys: each one is asserted, so a renamed or dropped key fails here."""
    assert main(["audit", "checkpoint"]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    signer = Account.from_key(KEY).address
    assert data["ok"] is True and data["checked"] == 4 and data["first_bad_id"] is None and data["problem"] is None
    assert data["checkpoints"] == 1 and data["newest_checkpoint_id"] == 4 and data["unanchored"] == 0
    assert data["signer"] == signer and data["anchors_found"] == [] and len(data["head_hash"]) == 64
    with sqlite3.connect(data_dir / "concord.db") as db:
        db.execute("UPDATE audit_entry SET actor = 'mallory' WHERE id = 2")
    assert main(["audit", "verify", "--json"]) == 1
    bad = json.loads(capsys.readouterr().out)
    assert bad["ok"] is False and bad["first_bad_id"] == 2 and "changed after it was written" in bad["problem"]
    assert bad["checked"] == 1 and bad["checkpoints"] == 0
