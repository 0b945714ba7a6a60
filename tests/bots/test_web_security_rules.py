"""Each write guard's rule on its own, without the app: tokens, origins, CSRF, rate limits, the session secret."""

from __future__ import annotations

import re
import threading

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from bots.web.security import (
    CSRF_COOKIE,
    CSRF_HEADER,
    DEFAULT_SESSION_SECRET,
    WriteRateLimiter,
    allowed_origins,
    check_csrf,
    check_origin,
    check_session_secret,
    client_of,
    is_loopback,
    issue_token,
    normalise_origin,
    token_is_valid,
)
from ingest.core.errors import ConfigError
from ingest.core.settings import ConcordSettings

SECRET = "a-long-test-secret"
ORIGINS = frozenset({"https://dao.example"})
CSRF_REFUSED = "Missing or invalid CSRF token: load the page first and send its token in the X-CSRF-Token header."


def request(*, origin: str | None = None, content_type: str | None = "application/json",
            cookie: str | None = None, header: str | None = None, client: tuple[str, int] | None = ("198.51.100.7", 5000)) -> Request:
    headers: list[tuple[bytes, bytes]] = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    if cookie is not None:
        headers.append((b"cookie", f"{CSRF_COOKIE}={cookie}".encode()))
    if header is not None:
        headers.append((CSRF_HEADER.encode(), header.encode()))
    return Request({"type": "http", "method": "POST", "path": "/api/x", "headers": headers, "client": client})


def refused(call, *args) -> HTTPException:
    with pytest.raises(HTTPException) as caught:
        call(*args)
    return caught.value


def test_a_token_is_a_nonce_and_a_32_hex_digit_mac_of_it() -> None:
    token = issue_token(SECRET)
    nonce, mac = token.split(".")
    assert len(nonce) == 24 and re.fullmatch(r"[0-9a-f]{32}", mac)
    assert token_is_valid(SECRET, token)
    assert issue_token(SECRET) != token  # a fresh nonce every time


def test_a_token_is_valid_only_with_the_secret_it_was_issued_with() -> None:
    token = issue_token(SECRET)
    nonce, mac = token.split(".")
    assert not token_is_valid("another-secret", token)
    assert not token_is_valid(SECRET, f"{nonce}x.{mac}")  # the MAC covers the nonce
    assert not token_is_valid(SECRET, f"{nonce}.{mac[:-1]}")  # the whole MAC
    assert not token_is_valid(SECRET, f"{nonce}.{mac}0")


@pytest.mark.parametrize("token", [None, "", "no-dot", "a.b.c", "."])
def test_malformed_tokens_are_invalid(token: str | None) -> None:
    assert not token_is_valid(SECRET, token)


def test_a_token_with_an_empty_nonce_is_valid_only_with_its_mac() -> None:
    import hashlib
    import hmac

    mac = hmac.new(SECRET.encode(), b"", hashlib.sha256).hexdigest()[:32]
    assert token_is_valid(SECRET, f".{mac}")


@pytest.mark.parametrize(("value", "expected"), [
    ("HTTPS://Example.ORG:443", "https://example.org"),
    ("http://example.org:80", "http://example.org"),
    ("http://example.org:443", "http://example.org:443"),
    ("https://example.org:80", "https://example.org:80"),
    ("  http://Example.org:8080/path?q=1  ", "http://example.org:8080"),
    ("http://[::1]:8000", "http://[::1]:8000"),
    ("http://[::1]", "http://[::1]"),
    ("ftp://example.org", ""),
    ("javascript:alert(1)", ""),
    ("http://", ""),
    ("http://host:notaport", ""),
    ("http://host:99999", ""),
])
def test_an_origin_is_normalised_or_refused(value: str, expected: str) -> None:
    assert normalise_origin(value) == expected


def test_allowed_origins_are_the_configured_ones_normalised() -> None:
    settings = ConcordSettings.model_validate({"web": {"public_origins": ["HTTPS://Dao.Example:443", "not an origin"]}})
    assert allowed_origins(settings) == frozenset({"https://dao.example"})


def test_without_configured_origins_only_the_loopback_origins_of_the_port_are_allowed() -> None:
    for configured in ([], ["mailto:x@example.org"]):
        settings = ConcordSettings.model_validate({"web": {"public_origins": configured, "port": 8123}})
        assert allowed_origins(settings) == frozenset({"http://127.0.0.1:8123", "http://localhost:8123"})


def test_a_request_without_origin_passes_the_origin_check() -> None:
    check_origin(request(), ORIGINS)
    check_origin(request(origin="https://DAO.example:443"), ORIGINS)


def test_a_foreign_origin_is_refused_with_what_is_allowed() -> None:
    error = refused(check_origin, request(origin="https://evil.example"), ORIGINS | {"http://127.0.0.1:8000"})
    assert error.status_code == 403
    assert error.detail == (
        "Cross-origin request refused (Origin https://evil.example; allowed: http://127.0.0.1:8000, "
        "https://dao.example). If this is the dashboard's own address, add it to web.public_origins."
    )


def test_csrf_checks_the_origin_first() -> None:
    token = issue_token(SECRET)
    error = refused(check_csrf, request(origin="https://evil.example", cookie=token, header=token), SECRET, ORIGINS)
    assert error.status_code == 403 and "Cross-origin" in error.detail


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_csrf_needs_a_json_body(content_type: str | None) -> None:
    token = issue_token(SECRET)
    error = refused(check_csrf, request(content_type=content_type, cookie=token, header=token), SECRET, ORIGINS)
    assert (error.status_code, error.detail) == (415, "Send the request body as application/json.")


def test_csrf_passes_a_matching_valid_token() -> None:
    token = issue_token(SECRET)
    check_csrf(request(cookie=token, header=token, content_type="application/json; charset=utf-8"), SECRET, ORIGINS)


@pytest.mark.parametrize("case", ["no cookie", "no header", "different tokens", "not issued with the secret"])
def test_csrf_refuses_each_bad_token_alone(case: str) -> None:
    token, other = issue_token(SECRET), issue_token(SECRET)
    forged = issue_token("another-secret")
    cookie, header = {
        "no cookie": (None, token),
        "no header": (token, None),
        "different tokens": (token, other),
        "not issued with the secret": (forged, forged),
    }[case]
    error = refused(check_csrf, request(cookie=cookie, header=header), SECRET, ORIGINS)
    assert (error.status_code, error.detail) == (403, CSRF_REFUSED)


def test_the_client_is_the_transport_address_or_unknown() -> None:
    assert client_of(request()) == "198.51.100.7"
    assert client_of(request(client=None)) == "unknown"


def test_rate_limit_counts_each_client_in_its_own_window() -> None:
    now = [0.0]
    limiter = WriteRateLimiter(limit=2, window_seconds=10, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(3)] == [None, None, 10]
    assert limiter.retry_after("b") is None
    now[0] = 9.99
    assert limiter.retry_after("a") == 1  # never 0: a client told to retry now would be refused again
    now[0] = 10.0
    assert [limiter.retry_after("a") for _ in range(3)] == [None, None, 10]


def test_refused_writes_do_not_extend_the_window() -> None:
    now = [0.0]
    limiter = WriteRateLimiter(limit=1, window_seconds=10, clock=lambda: now[0])
    assert limiter.retry_after("a") is None
    now[0] = 4.0
    assert limiter.retry_after("a") == 6
    now[0] = 10.0
    assert limiter.retry_after("a") is None


def test_the_default_clock_is_monotonic_time() -> None:
    limiter = WriteRateLimiter(limit=1, window_seconds=3600)
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 3600


def test_too_many_clients_share_one_window_once_expired_ones_are_forgotten() -> None:
    now = [100.0]
    limiter = WriteRateLimiter(limit=1, window_seconds=10, clock=lambda: now[0], max_clients=2)
    assert limiter.retry_after("a") is None and limiter.retry_after("b") is None
    now[0] = 109.0  # a and b still in their windows: kept
    assert limiter.retry_after("c") is None  # the shared window "*"
    assert limiter.retry_after("d") == 10  # ... which "c" has used up
    now[0] = 110.0  # a's and b's windows expired: forgotten, so clients count alone again
    assert limiter.retry_after("d") is None
    assert limiter.retry_after("e") == 9  # "*" (from 109) and d fill the two places again: e shares "*"


def test_the_default_client_cap_is_ten_thousand() -> None:
    limiter = WriteRateLimiter(limit=1, window_seconds=10, clock=lambda: 0.0)
    for i in range(9_999):
        assert limiter.retry_after(f"c{i}") is None
    assert limiter.retry_after("last") is None  # the 10,000th client still counts alone
    assert limiter.retry_after("over") is None and limiter.retry_after("over2") == 10  # beyond: one shared window


def test_the_limiter_counts_exactly_under_concurrency() -> None:
    limiter = WriteRateLimiter(limit=50, window_seconds=60, clock=lambda: 0.0)
    results: list[int | None] = []
    lock = threading.Lock()

    def write() -> None:
        for _ in range(20):
            r = limiter.retry_after("a")
            with lock:
                results.append(r)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 50 and len(results) == 160


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), (" LocalHost ", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
    ("[::1]", True), (" 127.0.0.1 ", True), ("0.0.0.0", False), ("10.0.0.1", False), ("::", False),
    ("example.org", False), ("", False), ("X::1", False), ("[127.0.0.1]x", False),
])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_loopback_may_use_the_default_session_secret() -> None:
    check_session_secret("127.0.0.1", DEFAULT_SESSION_SECRET)
    check_session_secret("0.0.0.0", "a-real-secret")


@pytest.mark.parametrize(("host", "secret", "where"), [
    ("0.0.0.0", DEFAULT_SESSION_SECRET, "0.0.0.0"), ("", DEFAULT_SESSION_SECRET, "all interfaces"),
    ("10.0.0.1", "", "10.0.0.1"),
])
def test_beyond_loopback_the_default_or_empty_secret_is_refused(host: str, secret: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_session_secret(host, secret)
    assert str(caught.value) == (
        f"Refusing to serve on {where} with the default web.session_secret: anyone could forge "
        "CSRF tokens. Set CONCORD_WEB__SESSION_SECRET to a long random value, e.g. the output of "
        "`python -c \"import secrets; print(secrets.token_urlsafe(32))\"`, or serve on 127.0.0.1."
    )


def test_the_default_secret_is_the_documented_placeholder() -> None:
    assert DEFAULT_SESSION_SECRET == "change-me"
    assert ConcordSettings().web.session_secret.get_secret_value() == DEFAULT_SESSION_SECRET
