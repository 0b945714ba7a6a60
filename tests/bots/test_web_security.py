"""The dashboard's write guards under attack: forged tokens, DNS rebinding, floods, concurrent refusals."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bots.services import Services
from bots.web.app import create_app
from bots.web.security import CSRF_COOKIE, WriteRateLimiter, issue_token, normalise_origin
from governance.audit import list_entries, verify
from governance.audit_refusals import RefusalAggregator
from governance.service import build_governance
from ingest.core.domain import PendingAction
from ingest.core.settings import ConcordSettings
from ingest.core.store import Store

BODY = {"signer": "0x" + "11" * 20, "signature": "0x" + "22" * 65}
SECRET = "change-me"  # the default secret the test settings use


def app_client(services: Services, tmp_path: Path, **web: Any) -> TestClient:
    settings = services.settings.model_copy(update={"web": services.settings.web.model_copy(update=web)})
    wired = Services(store=services.store, settings=settings, governance=services.governance)
    return TestClient(create_app(settings, services=wired, results_dir=tmp_path / "results"))


def closed_action(store: Store) -> int:
    """An action that is no longer pending: every signature on it is refused (rule not_pending)."""
    dao = store.get_dao("arbitrum")
    with store.session() as session:
        row = PendingAction(
            dao_id=dao.id, kind="vote", proposal_ref="1", status="executed", expires_at=datetime.now(UTC) + timedelta(days=1),
            report_id="r", report_hash="0" * 64, confidence=0.9, chain_id=1, safe_address="0x" + "aa" * 20,
            governor_address="0x" + "bb" * 20, safe_tx={}, safe_tx_hash="0x" + "00" * 32,
        )
        session.add(row)
        session.flush()
        return int(row.id or 0)


@pytest.fixture
def governed(sample_store: Store, settings: ConcordSettings) -> Services:
    return Services(store=sample_store, settings=settings, governance=build_governance(settings, store=sample_store))


def post(client: TestClient, path: str, token: str | None, **headers: str) -> Any:
    if token is not None:
        headers["X-CSRF-Token"] = token
    return client.post(path, json=BODY, headers=headers)


def test_header_token_must_equal_the_cookie(services: Services, tmp_path: Path) -> None:
    """Two tokens both validly MAC'd, but different: refused by the cookie == header rule alone."""
    client = app_client(services, tmp_path)
    cookie, header = issue_token(SECRET), issue_token(SECRET)
    client.cookies.set(CSRF_COOKIE, cookie)
    assert post(client, "/api/actions/1/signatures", header).status_code == 403
    assert post(client, "/api/actions/1/signatures", cookie).status_code == 503  # control: matching token passes


def test_token_must_carry_a_valid_mac(services: Services, tmp_path: Path) -> None:
    """Cookie and header equal, but not issued with the secret: refused by the MAC check alone."""
    client = app_client(services, tmp_path)
    nonce = issue_token(SECRET).split(".")[0]
    forged = f"{nonce}.{'0' * 32}"
    client.cookies.set(CSRF_COOKIE, forged)
    refused = post(client, "/api/actions/1/signatures", forged)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    valid = issue_token(SECRET)
    client.cookies.set(CSRF_COOKIE, valid)
    assert post(client, "/api/actions/1/signatures", valid).status_code == 503


def test_body_must_be_json(services: Services, tmp_path: Path) -> None:
    client = app_client(services, tmp_path)
    token = issue_token(SECRET)
    client.cookies.set(CSRF_COOKIE, token)
    sent = client.post("/api/actions/1/signatures", content="signer=0x11", headers={"X-CSRF-Token": token, "Content-Type": "text/plain"})
    assert sent.status_code == 415 and "application/json" in sent.json()["detail"]


def test_rejections_need_the_token_and_reach_the_service(services: Services, tmp_path: Path) -> None:
    client = app_client(services, tmp_path)
    assert post(client, "/api/actions/1/rejections", None).status_code == 403
    token = issue_token(SECRET)
    client.cookies.set(CSRF_COOKIE, token)
    reached = post(client, "/api/actions/1/rejections", token)
    assert reached.status_code == 503 and "governance" in reached.json()["error"]
    bad = client.post("/api/actions/1/rejections", json={**BODY, "signature": "0x12"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 400 and "signature must be" in bad.json()["error"]


def test_rejection_of_a_closed_action_is_refused_and_audited(governed: Services, tmp_path: Path) -> None:
    action_id = closed_action(governed.store)
    client = app_client(governed, tmp_path)
    token = issue_token(SECRET)
    client.cookies.set(CSRF_COOKIE, token)
    refused = post(client, f"/api/actions/{action_id}/rejections", token)
    assert refused.status_code == 400 and "not_pending" in refused.json()["error"]
    (entry,) = list_entries(governed.store, action="refuse")
    assert entry.subject == f"action:{action_id}" and entry.payload["rule"] == "not_pending"
    assert entry.payload["client"] == "testclient"


@pytest.mark.parametrize("origin, host", [
    ("http://evil.example", "evil.example"),  # DNS rebinding: the attacker's name, resolved to us
    ("http://evil.example:8000", "evil.example:8000"),
    ("null", "127.0.0.1:8000"),
])
def test_origin_is_checked_against_configured_origins_not_the_host_header(
    services: Services, tmp_path: Path, origin: str, host: str
) -> None:
    client = app_client(services, tmp_path)
    token = issue_token(SECRET)
    client.cookies.set(CSRF_COOKIE, token)
    refused = post(client, "/api/actions/1/signatures", token, Origin=origin, Host=host)
    assert refused.status_code == 403 and "Cross-origin" in refused.json()["detail"]


def test_loopback_and_configured_public_origins_pass(services: Services, tmp_path: Path) -> None:
    client = app_client(services, tmp_path)
    token = issue_token(SECRET)
    client.cookies.set(CSRF_COOKIE, token)
    assert post(client, "/api/actions/1/signatures", token, Origin="http://127.0.0.1:8000").status_code == 503
    assert post(client, "/api/actions/1/signatures", token, Origin="http://localhost:8000").status_code == 503
    public = app_client(services, tmp_path, public_origins=["https://Concord.Example.org:443/"])
    public.cookies.set(CSRF_COOKIE, token)
    assert post(public, "/api/actions/1/signatures", token, Origin="https://concord.example.org").status_code == 503
    assert post(public, "/api/actions/1/signatures", token, Origin="http://127.0.0.1:8000").status_code == 403


def test_normalise_origin() -> None:
    assert normalise_origin("HTTPS://Example.ORG:443") == "https://example.org"
    assert normalise_origin("http://[::1]:8000") == "http://[::1]:8000"
    assert normalise_origin("javascript:alert(1)") == ""
    assert normalise_origin("http://host:notaport") == ""


def test_writes_are_rate_limited_per_client(services: Services, tmp_path: Path) -> None:
    client = app_client(services, tmp_path, write_rate_limit=3, write_rate_window_seconds=60)
    token = issue_token(SECRET)
    client.cookies.set(CSRF_COOKIE, token)
    assert [post(client, "/api/actions/1/signatures", token).status_code for _ in range(3)] == [503, 503, 503]
    limited = post(client, "/api/actions/1/signatures", token)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "at most 3 per 60 s" in limited.json()["error"]
    assert client.get("/api/daos").status_code == 200  # reads are not limited
    other = TestClient(client.app, client=("203.0.113.9", 4000))
    other.cookies.set(CSRF_COOKIE, token)
    assert post(other, "/api/actions/1/signatures", token).status_code == 503


def test_rate_limiter_window_resets() -> None:
    now = [100.0]
    limiter = WriteRateLimiter(limit=2, window_seconds=10, clock=lambda: now[0])
    assert limiter.retry_after("a") is None and limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 10
    now[0] = 107.5
    assert limiter.retry_after("a") == 3
    now[0] = 110.0
    assert limiter.retry_after("a") is None


def test_refusal_flood_is_folded_into_one_entry_and_a_summary(governed: Services, tmp_path: Path) -> None:
    action_id = closed_action(governed.store)
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    with app_client(governed, tmp_path, write_rate_limit=1000) as client:
        client.app.state.refusals = RefusalAggregator(window_seconds=300, clock=lambda: clock[0])  # type: ignore[attr-defined]
        token = issue_token(SECRET)
        client.cookies.set(CSRF_COOKIE, token)
        codes = {post(client, f"/api/actions/{action_id}/signatures", token).status_code for _ in range(40)}
        assert codes == {400}
        assert len(list_entries(governed.store, action="refuse")) == 1
        clock[0] += timedelta(seconds=301)
        post(client, f"/api/actions/{action_id}/signatures", token)  # a new window: written, the old one summarised
        (summary,) = list_entries(governed.store, action="refuse_summary")
        assert summary.payload["count"] == 39 and summary.payload["rule"] == "not_pending"
        assert summary.payload["client"] == "testclient"
        for _ in range(5):
            post(client, f"/api/actions/{action_id}/signatures", token)
    # leaving the client stops the app: the open window's count is written
    summaries = list_entries(governed.store, action="refuse_summary")
    assert [s.payload["count"] for s in summaries] == [39, 5]
    assert len(list_entries(governed.store, action="refuse")) == 2
    assert verify(governed.store).ok


def test_concurrent_refused_signatures_keep_the_chain_intact(governed: Services, tmp_path: Path) -> None:
    """The attack that broke the log: refused-signature POSTs at concurrency 16 on the default SQLite store."""
    action_id = closed_action(governed.store)
    settings = governed.settings.model_copy(update={"audit": governed.settings.audit.model_copy(update={"refusal_window_seconds": 1e-9})})
    wired = Services(store=governed.store, settings=settings, governance=governed.governance)
    settings.web.write_rate_limit = 10_000
    token = issue_token(SECRET)
    barrier = threading.Barrier(16)
    codes: list[int] = []
    with TestClient(create_app(settings, services=wired, results_dir=tmp_path / "r")) as client:
        client.cookies.set(CSRF_COOKIE, token)

        def attacker() -> None:
            barrier.wait()
            for _ in range(5):
                codes.append(post(client, f"/api/actions/{action_id}/signatures", token).status_code)

        threads = [threading.Thread(target=attacker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert codes.count(400) == 80
    entries = list_entries(governed.store, limit=1000)
    assert len([e for e in entries if e.action == "refuse"]) == 80
    assert all(later.prev_hash == earlier.entry_hash for earlier, later in pairwise(entries))
    assert verify(governed.store).ok
