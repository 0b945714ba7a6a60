"""The polite client against a real loopback server: rate, 429 + Retry-After, 5xx, hangs, bad JSON."""

from __future__ import annotations

import time

import pytest

from ingest.http import BadResponseError, HttpPolicy, PoliteClient, RemoteError
from ingest.replay import ReplayServer


def test_retries_5xx_and_429_then_succeeds(server: ReplayServer) -> None:
    waits: list[float] = []
    server.inject("/latest.json", "500", "429", "reset")
    with PoliteClient(
        server.url, policy=HttpPolicy(rate=0, retries=4, backoff_s=0.01), sleep=waits.append
    ) as client:
        data = client.get_json("/latest.json")
    assert data["topic_list"]["topics"]
    assert client.requests_made == 4 and client.retries_made == 3
    assert waits[1] == 0.0  # the 429 said Retry-After: 0 and was obeyed instead of the backoff


def test_retry_after_seconds_is_honoured(server: ReplayServer) -> None:
    server.inject("/latest.json", "429")
    with PoliteClient(server.url, policy=HttpPolicy(rate=0, retries=2, backoff_s=5.0)) as client:
        started = time.monotonic()
        client.get_json("/latest.json")
    # Retry-After: 0 beats a 5 s backoff: the retry came at once.
    assert time.monotonic() - started < 2.0


def test_hanging_server_times_out_and_gives_up_with_a_clear_error() -> None:
    with ReplayServer(
        discourse={"responses": {"/latest.json": {"topic_list": {"topics": []}}}}, hang_s=3
    ) as server:
        server.inject("/latest.json", "hang", "hang")
        with PoliteClient(
            server.url, policy=HttpPolicy(rate=0, timeout_s=0.3, retries=1, backoff_s=0.01)
        ) as client:
            started = time.monotonic()
            with pytest.raises(RemoteError, match="failed 2 times.*ReadTimeout"):
                client.get_json("/latest.json")
        assert time.monotonic() - started < 2.5


def test_request_rate_is_respected(server: ReplayServer) -> None:
    with PoliteClient(server.url, policy=HttpPolicy(rate=20)) as client:
        started = time.monotonic()
        for _ in range(6):
            client.get_json("/latest.json")
    assert time.monotonic() - started >= 5 / 20 * 0.95


def test_bad_json_raises_with_the_raw_body(server: ReplayServer) -> None:
    server.inject("/latest.json", "badjson")
    with (
        PoliteClient(server.url, policy=HttpPolicy(rate=0)) as client,
        pytest.raises(BadResponseError) as info,
    ):
        client.get_json("/latest.json")
    assert '"topic_list"' in info.value.raw


def test_client_errors_are_not_retried(server: ReplayServer) -> None:
    with PoliteClient(server.url, policy=HttpPolicy(rate=0, retries=3)) as client:
        with pytest.raises(RemoteError, match="HTTP 404"):
            client.get_json("/t/999999999.json")
        assert client.requests_made == 1
