"""`concord report`, `concord report verify|status`, `concord ask` end to end (real store, model, MiniLM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from bots.cli.main import main
from ingest.core.domain import Proposal, Thread
from ingest.core.store import Store
from tests.embeddings.forum_data import add_post, make_forum
from tests.sample_vectors import prewarm

RARIBLE = "0x66b953a7cf4de9f6de54e6eb87ae291b5cc62f12c7fed68eba91043607883221"


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Store) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("CONCORD_DATA_DIR", str(data))
    monkeypatch.setenv("CONCORD_DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    return data


@pytest.mark.slow
def test_report_on_the_bundled_sample(sample_store: Store, sample_vectors: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = _env(monkeypatch, tmp_path, sample_store)
    prewarm(sample_vectors, data)  # the proposals' text vectors, as a first prediction on this store leaves them
    assert main(["report", RARIBLE, "--dao", "arbitrum", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    report, paths = out["report"], out["paths"]
    assert out["status"] == "current" and report["proposal"]["external_id"] == RARIBLE
    assert report["data_window"]["posts"] == 8 and report["camps"]
    assert report["stance"]["model"].startswith("minilm") and len(report["stance"]["by_post"]) == 8
    # the proposing team's 6 posts are reported apart; stance counts are the community's 2 posts
    assert [m["author"] for m in report["proposer_side"]["members"]] == ["Janabe"] and sum(report["stance"]["counts"].values()) == 2
    assert 0.0 <= report["prediction"]["probability_pass"] <= 1.0 and report["prediction_missing"] is None
    assert all(q["url"].startswith("https://forum.arbitrum.foundation/t/15615/") for c in report["camps"] for q in c["quotes"])
    assert (data / "attestation.key").exists() and Path(paths["md"]).exists() and Path(paths["html"]).exists()

    assert main(["report", "verify", paths["json"]]) == 0
    assert "hash: ok  signature: ok" in capsys.readouterr().out
    assert main(["report", "status", RARIBLE, "--dao", "arbitrum"]) == 0
    assert capsys.readouterr().out.startswith("current")

    # served from the store while current (no model run), then marked stale when a post arrives
    assert main(["report", RARIBLE, "--dao", "arbitrum"]) == 0
    assert "Consensus report" in capsys.readouterr().out
    with sample_store.session() as session:
        proposal = session.exec(select(Proposal).where(Proposal.external_id == RARIBLE)).one()
        thread_id = session.exec(select(Thread.id).where(Thread.external_id == "15615")).one()
    add_post(sample_store, thread_id, "newcomer", "A late reply that arrives after the report was written.", 99, None)
    assert main(["report", "status", RARIBLE, "--dao", "arbitrum", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["stale"] is True and status["path"] == str(paths["json"])  # the stored report, now out of date
    assert main(["report", RARIBLE, "--dao", "arbitrum", "--cached"]) == 0
    assert "**STALE**: stale: 1 new post(s)" in capsys.readouterr().out
    assert main(["report", "status", str(proposal.id), "--json"]) == 0  # the store id names the same proposal
    assert json.loads(capsys.readouterr().out)["path"] == str(paths["json"])

    tampered = json.loads(Path(paths["json"]).read_text())
    tampered["summary"]["text"] = "Everyone supports this."
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    assert main(["report", "verify", str(bad)]) == 1
    assert "MISMATCH" in capsys.readouterr().out


@pytest.mark.slow
def test_ask_cites_retrieved_posts(store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if store.engine.url.get_backend_name() != "sqlite":
        pytest.skip("one backend is enough for the CLI path; retrieval runs on both in tests/embeddings")
    ids = make_forum(store)
    _env(monkeypatch, tmp_path, store)
    assert main(["ask", "--dao", "testdao", "--k", "3", "--json", "Should the grant be paid upfront or streamed monthly?"]) == 0
    captured = capsys.readouterr()
    answer = json.loads(captured.out)
    retrieved = [h["post_id"] for h in answer["retrieved"]]
    assert len(retrieved) == 3 and ids["posts_a"][3] in retrieved  # the "stream the funds monthly" post
    assert {c["post_id"] for c in answer["citations"]} <= set(retrieved)
    assert answer["answer"] and answer["citations"] and answer["method"] in {"model", "composed"}  # always an answer
    assert "7 embedded now" in captured.err
    assert main(["ask", "--dao", "testdao", "--proposal", "0xgrant", "--k", "3", "--json", "validator rebates"]) == 0
    assert {h["post_id"] for h in json.loads(capsys.readouterr().out)["retrieved"]} <= set(ids["posts_a"])


def test_report_of_unknown_proposal_is_one_line_exit_2(sample_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _env(monkeypatch, tmp_path, sample_store)
    assert main(["report", "nope", "--dao", "arbitrum"]) == 2
    assert capsys.readouterr().err.startswith("Error: Unknown proposal 'nope'")
