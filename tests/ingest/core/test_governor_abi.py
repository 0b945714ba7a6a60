"""The shared Governor ABI table is the compiled artifacts' ABI, and one state enum covers both Governor kinds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ingest.core.errors import NotFoundError
from ingest.core.governor_abi import (
    ProposalState,
    abi_signature,
    governor_abi,
    governor_entry,
    governor_events,
)
from ingest.normalise.outcome_rule import outcome_from_state

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "governance" / "contracts" / "artifacts"
TABLE = ROOT / "ingest" / "core" / "governor_abi.json"


def test_every_entry_equals_the_compiled_artifacts_entry() -> None:
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    expected = []
    for artifact, names in table["sources"].items():
        abi = json.loads((ARTIFACTS / f"{artifact}.json").read_text(encoding="utf-8"))["abi"]
        expected += [next(e for e in abi if e.get("name") == name) for name in names]
    assert governor_abi() == expected
    assert {e["name"] for e in governor_events()} == {
        "ProposalCreated", "VoteCast", "VoteCastWithParams", "ProposalQueued", "ProposalExecuted", "ProposalCanceled",
    }


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_build_script_writes_the_committed_table(tmp_path: Path) -> None:
    contracts = tmp_path / "governance" / "contracts"
    contracts.mkdir(parents=True)
    shutil.copy(ROOT / "governance" / "contracts" / "governor_abi.js", contracts)
    shutil.copytree(ARTIFACTS, contracts / "artifacts")
    (tmp_path / "ingest" / "core").mkdir(parents=True)
    subprocess.run(["node", "governor_abi.js"], cwd=contracts, check=True, capture_output=True, timeout=60)
    assert (tmp_path / "ingest" / "core" / "governor_abi.json").read_text(encoding="utf-8") == TABLE.read_text(encoding="utf-8")


def test_signatures_are_the_canonical_texts() -> None:
    assert abi_signature(governor_entry("castVoteWithReason")) == "castVoteWithReason(uint256,uint8,string)"
    assert abi_signature(governor_entry("ProposalCreated")) == (
        "ProposalCreated(uint256,address,address[],uint256[],string[],bytes[],uint256,uint256,string)"
    )
    with pytest.raises(NotFoundError, match="no entry 'castVoteBySig'.*governor_abi.js"):
        governor_entry("castVoteBySig")


def test_states_are_the_governors_enum_in_order() -> None:
    # IGovernor.ProposalState (OpenZeppelin 5) and GovernorBravo's ProposalState list the same names in this order.
    assert [s.label for s in ProposalState] == [
        "Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed",
    ]
    assert [int(s) for s in ProposalState] == list(range(8))


def test_final_states_and_outcomes_agree_with_the_outcome_rule() -> None:
    outcomes = {s.key: outcome_from_state(s.key).outcome for s in ProposalState}
    assert outcomes == {
        "pending": None, "active": None, "canceled": "cancelled", "defeated": "failed",
        "succeeded": "passed", "queued": "passed", "expired": "failed", "executed": "passed",
    }
    assert {s.key for s in ProposalState if s.final} == {"canceled", "defeated", "expired", "executed"}
