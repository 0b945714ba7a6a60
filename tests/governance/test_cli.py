"""`concord governance ...` and `concord audit ...` end to end, the chain reached over real JSON-RPC."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bots.cli.main import main
from ingest.core.store import Store
from tests.governance.conftest import ChainEnv, sign_as, write_report
from tests.governance.rpc_bridge import serve_json_rpc


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("CONCORD_DATA_DIR", str(data))
    monkeypatch.setenv("CONCORD_POLICY__ALLOWED_DAOS", '["testdao"]')
    (data / "reports").mkdir(parents=True)
    store = Store.open(f"sqlite:///{(data / 'concord.db').as_posix()}")
    store.ensure_dao("testdao", "Test DAO", snapshot_space="testdao.eth")
    store.close()
    return data


@pytest.mark.chain
def test_cli_recommend_sign_sign_executes(cli_env: Path, chain: ChainEnv, capsys: pytest.CaptureFixture[str]) -> None:
    write_report(cli_env / "reports", "r7", {"proposal": str(chain.proposal_id), "recommendation": "for"})
    with serve_json_rpc(chain.w3) as rpc:
        common = ["--rpc-url", rpc]
        assert main(["governance", "recommend", "--dao", "testdao", "--proposal", str(chain.proposal_id), "--report", "r7",
                     "--choice", "for", "--confidence", "0.9", "--reason", "Forum consensus.", "--safe", chain.safe.address,
                     "--governor", chain.governor.address, "--json", *common]) == 0
        action = json.loads(capsys.readouterr().out)
        assert main(["governance", "pending", "--json"]) == 0
        assert [a["id"] for a in json.loads(capsys.readouterr().out)] == [action["id"]]
        # chain settings for later commands come from the environment, as an operator would configure them
        import os

        os.environ["CONCORD_CHAIN__SAFE_ADDRESS"] = chain.safe.address
        os.environ["CONCORD_CHAIN__GOVERNOR_ADDRESS"] = chain.governor.address
        try:
            assert main(["governance", "sign", str(action["id"]), "--signature", sign_as(chain.owner_keys[0], action["typed_data"]),
                         "--from", chain.relayer, "--json", *common]) == 0
            assert json.loads(capsys.readouterr().out)["status"] == "pending"
            assert main(["governance", "sign", str(action["id"]), "--signature", sign_as("0x" + f"{7:064x}", action["typed_data"]),
                         "--from", chain.relayer, *common]) == 2
            assert "Refused by rule 'not_owner'" in capsys.readouterr().err
            assert main(["governance", "sign", str(action["id"]), "--signature", sign_as(chain.owner_keys[1], action["typed_data"]),
                         "--from", chain.relayer, "--json", *common]) == 0
            done = json.loads(capsys.readouterr().out)
        finally:
            del os.environ["CONCORD_CHAIN__SAFE_ADDRESS"], os.environ["CONCORD_CHAIN__GOVERNOR_ADDRESS"]
    assert done["status"] == "executed"
    assert chain.governor.functions.proposalVotes(chain.proposal_id).call()[1] == 100_000 * 10**18
    assert main(["audit", "log", "--json"]) == 0
    actions = [e["action"] for e in json.loads(capsys.readouterr().out)]
    assert actions == ["recommend", "approve", "refuse", "approve", "execute", "checkpoint"]


@pytest.mark.chain
def test_cli_show_prints_every_field_and_flags_a_refund(cli_env: Path, chain: ChainEnv, capsys: pytest.CaptureFixture[str]) -> None:
    from governance.chain.safe_tx import SafeTx, safe_tx_hash
    from ingest.core.domain import PendingAction

    write_report(cli_env / "reports", "r8", {"proposal": str(chain.proposal_id)})
    chain_args = ["--safe", chain.safe.address, "--governor", chain.governor.address]
    with serve_json_rpc(chain.w3) as rpc:
        assert main(["governance", "recommend", "--dao", "testdao", "--proposal", str(chain.proposal_id), "--report", "r8",
                     "--choice", "for", "--confidence", "0.9", "--reason", "Forum consensus.", *chain_args, "--json", "--rpc-url", rpc]) == 0
        action = json.loads(capsys.readouterr().out)
        assert main(["governance", "show", str(action["id"])]) == 0
        shown = capsys.readouterr().out
        for name in ("safe", "chain_id", "to", "value", "data", "operation", "safeTxGas", "baseGas", "gasPrice", "gasToken",
                     "refundReceiver", "nonce"):
            assert f"\n  {name:<15} " in shown
        assert "WARNING" not in shown and "DO NOT SIGN" not in shown
        store = Store.open(f"sqlite:///{(cli_env / 'concord.db').as_posix()}")
        with store.session() as session:
            row = session.get(PendingAction, action["id"])
            tx = SafeTx.from_json({**row.safe_tx, "gas_price": 10**9, "refund_receiver": chain.deployer})
            row.gas_price, row.refund_receiver = tx.gas_price, tx.refund_receiver
            row.safe_tx, row.safe_tx_hash = tx.to_json(), "0x" + safe_tx_hash(tx).hex()
            session.add(row)
        store.close()
        assert main(["governance", "show", str(action["id"])]) == 0
        flagged = capsys.readouterr().out
    assert "WARNING: the Safe pays a gas refund" in flagged and f"WARNING: refunds go to {chain.deployer}" in flagged
    assert "DO NOT SIGN — refused by rule 'refunds_not_allowed'" in flagged


def test_cli_audit_verify_catches_a_database_edit(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["draft", "--dao", "testdao", "--idea", "Create a small grants committee to fund tooling for delegates.", "--json"]) == 0
    draft = json.loads(capsys.readouterr().out)
    assert draft["title"] == "Create a small grants committee to fund tooling for delegates"
    assert main(["audit", "verify"]) == 0
    assert "Audit log intact: 1 entries" in capsys.readouterr().out
    with sqlite3.connect(cli_env / "concord.db") as db:
        db.execute("UPDATE audit_entry SET subject = 'draft:999'")
    assert main(["audit", "verify", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and result["first_bad_id"] == 1


def test_cli_errors_are_one_line(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["governance", "show", "99"]) == 2
    assert "No pending action 99" in capsys.readouterr().err
    assert main(["draft", "--dao", "testdao", "--idea", "short"]) == 2
    assert "at least a sentence" in capsys.readouterr().err
    assert main(["governance", "recommend", "--dao", "testdao", "--proposal", "1", "--report", "missing", "--choice", "for",
                 "--confidence", "0.9", "--reason", "x"]) == 2
    assert "No report 'missing'" in capsys.readouterr().err
