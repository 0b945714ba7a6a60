"""The dashboard's draft page: form, CSRF-checked POST, the structured draft with prior art and P(pass)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bots.services import Services
from bots.web.app import create_app
from bots.web.security import CSRF_COOKIE
from governance.policy import VotePolicy
from governance.reports import DirectoryReportSource
from governance.service import GovernanceService

IDEA = "Fund independent security audits for grant recipients before their second milestone payment"


@pytest.mark.slow
def test_draft_page_shows_prior_art_prediction_and_the_daos_sections(services: Services, tmp_path: Path) -> None:
    services.drafter = GovernanceService(services.store, policy=VotePolicy(), reports=DirectoryReportSource(tmp_path),
                                         clock=lambda: datetime(2024, 6, 1, tzinfo=UTC))
    client = TestClient(create_app(services.settings, services=services, results_dir=tmp_path / "results"))
    form = client.get("/draft", params={"dao": "arbitrum"})
    assert form.status_code == 200 and 'id="draft-form"' in form.text
    assert client.post("/draft", json={"dao": "arbitrum", "idea": IDEA}).status_code == 403  # no CSRF token
    token = client.cookies[CSRF_COOKIE]
    page = client.post("/draft", json={"dao": "arbitrum", "idea": IDEA}, headers={"X-CSRF-Token": token})
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="prior-art"' in html and html.count("<li>") >= 1 and "Predicted P(pass)" in html
    for heading in ("Abstract", "Motivation", "Rationale", "Specifications", "Timeline"):  # learnt from passed proposals
        assert f"<h3>{heading}</h3>" in html
    assert "nothing was submitted" in html
    short = client.post("/draft", json={"dao": "arbitrum", "idea": "too short"}, headers={"X-CSRF-Token": token})
    assert short.status_code in (400, 422)


def test_draft_page_says_when_drafting_is_unavailable(services: Services, tmp_path: Path) -> None:
    services.missing["drafter"] = "no store connection"
    client = TestClient(create_app(services.settings, services=services, results_dir=tmp_path / "results"))
    assert "Drafting is unavailable here: no store connection" in client.get("/draft").text
    token = client.cookies[CSRF_COOKIE]
    assert client.post("/draft", json={"dao": "arbitrum", "idea": IDEA}, headers={"X-CSRF-Token": token}).status_code == 503
