"""The dashboard through FastAPI's TestClient, on the bundled sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bots.services import Services
from bots.web.app import create_app
from bots.web.security import CSRF_COOKIE, issue_token
from ingest.core.settings import ConcordSettings
from ingest.core.store import Store

KNOWN_QUERY = "Treasury Management Committee"  # occurs in one real Arbitrum forum post of the sample
KNOWN_THREAD = "Plurality Labs Milestone 1 Review"


def reliability_results(directory: Path) -> Path:
    """An evaluation results file in the shape the chart reads (bins of predicted vs observed)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "predict.json"
    path.write_text(json.dumps({
        "n": 120,
        "model": {"brier": 0.18, "ece": 0.041, "reliability": [
            {"mean_predicted": 0.15, "observed": 0.2, "n": 20},
            {"mean_predicted": 0.55, "observed": 0.5, "n": 40},
            {"mean_predicted": 0.9, "observed": 0.85, "n": 60},
        ]},
    }))
    return path


@pytest.fixture
def client(services: Services, tmp_path: Path) -> TestClient:
    return TestClient(create_app(services.settings, services=services, results_dir=tmp_path / "results"))


def test_proposals_page_shows_actual_outcomes(client: TestClient) -> None:
    page = client.get("/proposals", params={"dao": "compound"})
    assert page.status_code == 200
    html = page.text
    assert html.count('data-proposal-id="') == 50
    assert 'class="badge passed"' in html and 'class="badge failed"' in html
    assert "prediction service is not available" in html.lower() or "predictor service is not available" in html


def test_proposal_page_and_unknown_proposal(client: TestClient, sample_store: Store) -> None:
    first = client.get("/api/proposals", params={"dao": "compound", "limit": 1}).json()[0]
    page = client.get(f"/proposals/{first['id']}")
    assert page.status_code == 200 and first["title"] in page.text
    assert f'href="/proposals/{first["id"]}/report"' in page.text
    missing = client.get("/proposals/999999")
    assert missing.status_code == 404 and "Unknown proposal &#39;999999&#39;" in missing.text
    api_missing = client.get("/api/proposals/999999")
    assert api_missing.status_code == 404 and "Unknown proposal" in api_missing.json()["error"]


def test_full_text_search_finds_a_known_post(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": KNOWN_QUERY}).json()
    assert [h["thread_title"] for h in hits] == [KNOWN_THREAD]
    assert hits[0]["url"].startswith("https://forum.arbitrum.foundation/t/")
    page = client.get("/search", params={"q": KNOWN_QUERY})
    assert KNOWN_THREAD in page.text and "1 result" in page.text
    assert client.get("/api/search", params={"q": "treasury", "mode": "psychic"}).status_code == 400


def test_semantic_search_says_when_unavailable(client: TestClient) -> None:
    page = client.get("/search", params={"q": "selling tokens", "mode": "semantic"})
    assert "The searcher service is not available here" in page.text
    assert client.get("/api/search", params={"q": "selling tokens", "mode": "semantic"}).status_code == 503


def test_report_page_has_calibration_chart_from_results(services: Services, tmp_path: Path) -> None:
    results = tmp_path / "results"
    reliability_results(results)
    client = TestClient(create_app(services.settings, services=services, results_dir=results))
    html = client.get("/proposals/1/report").text
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="calibration-chart"' in html
    assert html.count('class="bin"') == 3 and "ECE 0.041" in html
    assert "The reports service is not available here" in html
    assert client.get("/api/calibration").json()["bins"][1] == {"mean_predicted": 0.55, "observed": 0.5, "n": 40}


def test_report_page_without_results_says_so(client: TestClient) -> None:
    html = client.get("/proposals/1/report").text
    assert 'id="no-calibration"' in html and "calibration-chart" not in html


def test_openapi_and_docs(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    for path in ("/api/proposals", "/api/proposals/{ref}", "/api/search", "/api/actions/{action_id}/signatures"):
        assert path in schema["paths"]
    docs = client.get("/api/docs").text
    assert "/api/actions/{action_id}/signatures" in docs and "Approve: submit an owner" in docs


def test_state_changes_need_csrf_token_and_same_origin(client: TestClient, services: Services) -> None:
    body = {"signer": "0x" + "11" * 20, "signature": "0x" + "22" * 65}
    assert client.post("/api/actions/1/signatures", json=body).status_code == 403  # no token
    client.get("/proposals")  # sets the cookie
    token = client.cookies[CSRF_COOKIE]
    assert client.post("/api/actions/1/signatures", json=body, headers={"X-CSRF-Token": "forged.0000"}).status_code == 403
    cross = client.post("/api/actions/1/signatures", json=body,
                        headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})
    assert cross.status_code == 403 and "Cross-origin" in cross.json()["detail"]
    other_secret = issue_token("another-secret")
    client.cookies.set(CSRF_COOKIE, other_secret)
    assert client.post("/api/actions/1/signatures", json=body, headers={"X-CSRF-Token": other_secret}).status_code == 403
    client.cookies.set(CSRF_COOKIE, token)
    passed = client.post("/api/actions/1/signatures", json=body, headers={"X-CSRF-Token": token})
    assert passed.status_code == 503  # past CSRF; no governance service wired in this test
    bad = client.post("/api/actions/1/signatures", json={**body, "signer": "me"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 400 and "not an address" in bad.json()["error"]


def test_no_secret_reaches_any_page(sample_store: Store, tmp_path: Path) -> None:
    secrets = {
        "session": "session-secret-5c1b7e",
        "discord": "discord-token-9f2a41",
        "llm": "llm-key-3d88c0",
        "attest": "0x" + "7a" * 32,
    }
    settings = ConcordSettings(
        data_dir=tmp_path / "data",
        web={"session_secret": SecretStr(secrets["session"])},
        discord={"token": SecretStr(secrets["discord"])},
        llm={"api_key": SecretStr(secrets["llm"])},
        chain={"attestation_key": SecretStr(secrets["attest"])},
    )
    results = tmp_path / "results"
    reliability_results(results)
    client = TestClient(create_app(settings, services=Services(store=sample_store, settings=settings), results_dir=results))
    pages = ["/proposals", "/proposals/1", "/proposals/1/report", f"/search?q={KNOWN_QUERY}", "/signer",
             "/api/docs", "/api/openapi.json", "/api/proposals", "/api/calibration", "/proposals/999999"]
    for url in pages:
        response = client.get(url)
        text = response.text + " ".join(response.headers.values())
        for value in secrets.values():
            assert value not in text, f"{url} leaks a secret"
    assert client.cookies[CSRF_COOKIE].count(".") == 1  # a MAC'd nonce, not the secret


def test_report_page_shows_the_evaluations_reliability_png(services: Services, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = tmp_path / "results"
    results.mkdir()
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    fig.savefig(results / "predict_reliability.png")  # the file name `concord eval predict --out` writes
    plt.close(fig)
    client = TestClient(create_app(services.settings, services=services, results_dir=results))
    assert 'id="calibration-png" src="/calibration.png"' in client.get("/proposals/1/report").text
    png = client.get("/calibration.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    empty = TestClient(create_app(services.settings, services=services, results_dir=tmp_path / "none"))
    assert empty.get("/calibration.png").status_code == 404


def test_report_page_renders_camps_and_linked_quotes(services: Services, tmp_path: Path) -> None:
    class OneReport:  # a stored report in agent.report's concord.report/1 shape (trimmed)
        def get_report(self, proposal_id: int) -> dict | None:
            return {
                "summary": {"text": "Delegates broadly support the grant <b>now</b>.", "post_ids": [11]},
                "camps": [{"index": 0, "name": "Builders first", "people": 7, "posts": 9, "voting_power": 1234567.0,
                           "quotes": [{"post_id": 11, "quote": "Fund the builders", "url": "https://forum.example/t/1/11"}]}],
                "bridging": [], "data_window": {"posts": 9, "first_post_at": "2024-01-01T00:00:00Z", "last_post_at": "2024-01-09T00:00:00Z"},
                "prediction": {"probability_pass": 0.72, "interval": [0.6, 0.81], "model": "concord-predict"},
                "attestation": {"sha256": "ab" * 32, "signer": "0x" + "12" * 20, "signature": "0x"},
                "stale": True, "stale_reason": "stale: 2 new post(s) since it was generated",
            }

    services.reports = OneReport()
    client = TestClient(create_app(services.settings, services=services, results_dir=tmp_path / "none"))
    html = client.get("/proposals/1/report").text
    assert "Builders first" in html and "7 people, 9 posts, 1,234,567 votes" in html
    assert '<a class="quote-source" href="https://forum.example/t/1/11"' in html and "“Fund the builders”" in html
    assert "72% pass (60–81%)" in html and "stale: 2 new post(s)" in html
    assert "&lt;b&gt;now&lt;/b&gt;" in html  # report text is escaped, never rendered as HTML


def test_report_page_renders_the_report2_structure(services: Services, tmp_path: Path) -> None:
    class OneReport:  # concord.report/2, trimmed
        def get_report(self, proposal_id: int) -> dict | None:
            return {
                "summary": {"text": "x", "sentences": [{"text": "The proposer side (Janabe) wrote 6 of the 8 posts.", "post_ids": [296]}],
                            "generated_by": "concord template digest (report structure)"},
                "stance_mix": {"people": {"for": 0, "against": 0, "neutral": 2}, "voting_power": None, "posts": {"for": 0, "against": 0, "neutral": 2},
                               "note": "Community only."},
                "proposer_side": {"members": [{"author": "Janabe", "evidence": ["speaks as the proposing team in post(s) 300"], "posts": 6}],
                                  "replies": [{"post_id": 301, "quote": "We'll take the token swap out", "url": "javascript:alert(1)", "author": "Janabe"}]},
                "camps": [{"index": 0, "name": "Undecided or conditional: language", "people": 2, "posts": 2, "members": ["Usain", "jengajojo"],
                           "reasons": ["language"], "quotes": []}],
                "requested_changes": [{"status": "adopted", "asked_by": ["jengajojo"], "request": None, "note": "stated by the proposer side",
                                       "answer": {"post_id": 301, "quote": "We'll take the token swap out", "author": "Janabe"}}],
                "open_questions": [], "cruxes": [], "common_ground": [], "changes_since": {"previous": None},
            }

    services.reports = OneReport()
    html = TestClient(create_app(services.settings, services=services, results_dir=tmp_path / "none")).get("/proposals/1/report").text
    assert "The proposer side (Janabe) wrote 6 of the 8 posts." in html and "(post 296)" in html
    assert 'id="stance-mix"' in html and "<th>people</th><td>0</td><td>0</td><td>2</td>" in html
    assert "<strong>Janabe</strong> (6 posts): speaks as the proposing team" in html
    assert "<strong>adopted</strong> · asked by jengajojo" in html and "Usain, jengajojo · reasons: language" in html
    assert "javascript:" not in html  # a non-http(s) quote link becomes "#"


def test_proposal_body_renders_as_sanitised_markdown(services: Services, tmp_path: Path) -> None:
    from bots.web.markdown import render_markdown

    html = str(render_markdown("## Budget\n\n**50%** [forum](https://forum.example/t/1) [x](javascript:alert(1)) <script>alert(1)</script>\n\n![chart](https://img.example/c.png)"))
    assert "<h2>Budget</h2>" in html and "<strong>50%</strong>" in html
    assert '<a href="https://forum.example/t/1" rel="noopener noreferrer nofollow">forum</a>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html and 'href="javascript' not in html
    assert '<a class="image-link" href="https://img.example/c.png"' in html and "<img" not in html
    page = TestClient(create_app(services.settings, services=services, results_dir=tmp_path / "none")).get("/proposals/1").text
    assert '<div class="body markdown">' in page


@pytest.mark.slow
def test_semantic_search_through_the_embeddings_index(services: Services) -> None:
    from bots.services import wire
    from tests.bots.conftest import add_tiny_dao

    add_tiny_dao(services.store)
    wire(services)
    assert services.searcher is not None, services.missing
    client = TestClient(create_app(services.settings, services=services))
    missing = client.get("/api/search", params={"q": "x", "mode": "semantic", "dao": "tinydao"})
    assert missing.status_code == 404 and "No search index for DAO 'tinydao'" in missing.json()["error"]
    from embeddings import DaoIndex, cached_embedder

    DaoIndex.for_dao(services.settings.index_dir, "tinydao").update(services.store, cached_embedder(services.settings))
    services.searcher = None
    wire(services)  # a fresh searcher sees the new index
    hits = client.get("/api/search", params={"q": "converting our reserves into dollar-pegged assets", "mode": "semantic",
                                             "dao": "tinydao", "limit": 2}).json()
    assert "stablecoins" in hits[0]["snippet"]  # ranked by the dense MiniLM index, not by shared words
    assert hits[0]["url"].startswith("https://forum.tiny.example/t/1/")


def test_links_from_ingested_data_cannot_run_script(client: TestClient, services: Services) -> None:
    from sqlmodel import select

    from ingest.core.domain import Post

    with services.store.session() as session:
        post = session.exec(select(Post).where(Post.url.is_not(None))).first()  # type: ignore[union-attr]
        assert post is not None
        post.text = post.text + " zqxjk-marker"
        post.url = "javascript:alert(document.cookie)"
        session.add(post)
    page = client.get("/search", params={"q": "zqxjk-marker"})
    assert "javascript:" not in page.text and 'href="#"' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_stored_report_adapter_marks_stale_reports(services: Services, tmp_path: Path) -> None:
    from bots.services import wire
    from ingest.core.domain import ReportRecord

    wire(services)
    assert services.reports is not None, services.missing
    assert services.reports.get_report(1) is None  # nothing generated yet
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema": "concord.report/1", "summary": {"text": "s"}, "camps": []}))
    with services.store.session() as session:
        session.add(ReportRecord(proposal_id=1, schema_version="concord.report/1", inputs_hash="0" * 64,
                                 report_sha256="1" * 64, path=str(path), post_ids=[]))
    report = services.reports.get_report(1)
    assert report is not None and report["summary"]["text"] == "s"
    assert report["stale"] is True and report["stale_reason"].startswith("stale")
    client = TestClient(create_app(services.settings, services=services, results_dir=tmp_path / "none"))
    assert 'id="stale"' in client.get("/proposals/1/report").text
