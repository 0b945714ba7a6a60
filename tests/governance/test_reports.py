"""The report contract with agent/report: same hash definition, schema-compatible reading, changed reports refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from governance.reports import DirectoryReportSource, recommendation_from_report, report_sha256
from ingest.errors import InputError
from ingest.store import Store
from tests.governance.conftest import ChainEnv, sign_as


def consensus_report(proposal_id: str, *, pro: int, con: int, p_pass: float | None) -> dict[str, Any]:
    return {
        "schema": "1",
        "generated_at": "2024-06-01T00:00:00Z",
        "proposal": {"id": 1, "external_id": proposal_id, "dao": "testdao", "title": "Refund", "origin": "governor", "content_hash": "c" * 64},
        "data_window": {"posts": pro + con},
        "summary": {"text": "Delegates broadly back the refund. A few worry about precedent.", "post_ids": [1, 2]},
        "stance": {"model": "minilm-prototype", "counts": {"for": pro, "against": con, "neutral": 1}, "by_post": []},
        "prediction": None if p_pass is None else {"probability_pass": p_pass, "model": "logreg"},
        "inputs_hash": "i" * 64,
        "attestation": {"sha256": "x" * 64, "signer": "0x" + "00" * 20, "signature": "0x"},
    }


def test_hash_matches_agent_report_definition() -> None:
    attest = pytest.importorskip("agent.report.attest")
    data = consensus_report("7", pro=3, con=1, p_pass=0.7)
    assert report_sha256(data) == attest.report_sha256(data)
    assert report_sha256({**data, "attestation": None}) == report_sha256(data)  # attestation is outside the hash
    assert report_sha256({**data, "summary": {"text": "changed"}}) != report_sha256(data)


def test_report_schema_is_agent_reports() -> None:
    """The fixture is a valid agent.report ConsensusReport, so governance reads the real schema."""
    model = pytest.importorskip("agent.report.model")
    data = consensus_report("7", pro=3, con=1, p_pass=0.7)
    report = model.ConsensusReport.model_validate(data)
    assert report.proposal.external_id == "7" and report.stance.counts["for"] == 3
    assert report.prediction.probability_pass == 0.7


@pytest.mark.parametrize(
    ("pro", "con", "p_pass", "choice", "confidence"),
    [(9, 2, 0.8, "for", 0.8), (2, 9, 0.3, "against", 0.7), (4, 4, 0.5, "abstain", 1.0), (9, 2, None, "for", 0.0)],
)
def test_recommendation_from_report(pro: int, con: int, p_pass: float | None, choice: str, confidence: float) -> None:
    ref = recommendation_from_report(consensus_report("42", pro=pro, con=con, p_pass=p_pass), report_id="r")
    assert (ref.choice, ref.confidence, ref.proposal_ref, ref.dao) == (choice, confidence, "42", "testdao")
    assert f"{pro} posts for, {con} against" in ref.reason


def test_directory_source_hash_ignores_formatting_but_not_content(tmp_path: Path) -> None:
    data = consensus_report("1", pro=1, con=0, p_pass=0.9)
    (tmp_path / "r.json").write_text(json.dumps(data, indent=4))
    source = DirectoryReportSource(tmp_path)
    assert source.current_sha256("r") == report_sha256(data)
    (tmp_path / "r.json").write_text(json.dumps(data))
    assert source.current_sha256("r") == report_sha256(data)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        source.current_sha256("bad")
    with pytest.raises(InputError, match="without folders"):
        source.current_sha256("../etc/passwd")


@pytest.mark.chain
def test_recommend_from_a_consensus_report_then_vote(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    from tests.governance.test_vote_flow import make_service

    service = make_service(store, chain, report_dir)
    data = consensus_report(str(chain.proposal_id), pro=2, con=11, p_pass=0.18)
    (report_dir / "c1.json").write_text(json.dumps(data, indent=2))
    action = service.recommend_from_report("c1")
    assert action["recommendation"]["choice"] == "against" and action["confidence"] == 0.82
    assert action["report_sha256"] == report_sha256(data)
    low = consensus_report(str(chain.proposal_id), pro=2, con=11, p_pass=None)
    (report_dir / "c2.json").write_text(json.dumps(low))
    from governance.errors import GovernanceRefusal

    with pytest.raises(GovernanceRefusal) as refused:
        service.recommend_from_report("c2")
    assert refused.value.rule in ("min_confidence", "cooldown")
    for key in chain.owner_keys[:2]:
        result = service.submit_signature(action["id"], signature=sign_as(key, action["typed_data"]))
    assert result["status"] == "executed"
    assert chain.governor.functions.proposalVotes(chain.proposal_id).call()[0] == 100_000 * 10**18


def test_stored_report_record_is_read_through_its_path(store: Store, tmp_path: Path) -> None:
    from governance.reports import CombinedReportSource
    from ingest.domain import Proposal, ReportRecord

    dao = store.ensure_dao("testdao", "Test DAO")
    data = consensus_report("5", pro=1, con=0, p_pass=0.9)
    path = tmp_path / "testdao" / "1-abc.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data, indent=2))
    with store.session() as session:
        proposal = Proposal(dao_id=dao.id, origin="governor", external_id="5", title="t")
        session.add(proposal)
        session.flush()
        record = ReportRecord(proposal_id=proposal.id, schema_version="1", inputs_hash="i" * 64, report_sha256=report_sha256(data), path=str(path))
        session.add(record)
        session.flush()
        record_id = str(record.id)
    source = CombinedReportSource(store, tmp_path / "files")
    assert source.current_sha256(record_id) == report_sha256(data) == record.report_sha256
    assert source.read_report(record_id)["proposal"]["external_id"] == "5"
    data["summary"]["text"] = "Edited after the fact."
    path.write_text(json.dumps(data))
    assert source.current_sha256(record_id) != record.report_sha256
