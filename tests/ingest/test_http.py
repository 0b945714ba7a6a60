"""The polite client against a real loopback server: rate, 429 + Retry-After, 5xx, hangs, bad JSON."""

from __future__ import annotations

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
    waits: list[float] = []
    server.inject("/latest.json", "429")
    with PoliteClient(
        server.url, policy=HttpPolicy(rate=0, retries=2, backoff_s=5.0), sleep=waits.append
    ) as client:
        client.get_json("/latest.json")
    # Retry-After: 0 beats a 5 s backoff: the one wait before the retry was zero.
    assert waits == [0.0] and client.requests_made == 2


def test_without_retry_after_the_backoff_grows_and_is_capped(server: ReplayServer) -> None:
    waits: list[float] = []
    server.inject("/latest.json", "500", "500", "500", "500")
    policy = HttpPolicy(rate=0, retries=4, backoff_s=1.0, max_backoff_s=3.0)
    with PoliteClient(server.url, policy=policy, sleep=waits.append) as client:
        client.get_json("/latest.json")
    # Jittered within [half, whole] of 1, 2, 4 -> capped at 3, 8 -> capped at 3.
    bounds = [(0.5, 1.0), (1.0, 2.0), (1.5, 3.0), (1.5, 3.0)]
    assert len(waits) == 4 and all(lo <= w <= hi for w, (lo, hi) in zip(waits, bounds, strict=True)), waits


def test_hanging_server_times_out_and_gives_up_with_a_clear_error() -> None:
    with ReplayServer(
        discourse={"responses": {"/latest.json": {"topic_list": {"topics": []}}}}, hang_s=5
    ) as server:
        server.inject("/latest.json", "hang", "hang")
        waits: list[float] = []
        policy = HttpPolicy(rate=0, timeout_s=0.3, retries=1, backoff_s=0.01)
        # Each hang lasts until the server is stopped (5 s at most): only the client's read timeout ends the
        # call, and the error says so. Were the timeout ignored, the hangs would end with the connection
        # closed unanswered (a RemoteProtocolError), not a ReadTimeout.
        with (
            PoliteClient(server.url, policy=policy, sleep=waits.append) as client,
            pytest.raises(RemoteError, match="failed 2 times.*ReadTimeout"),
        ):
            client.get_json("/latest.json")
        assert client.requests_made == 2 and len(waits) == 1
        assert not server.release_hangs.is_set()  # both requests gave up while the server still hung


class _FakeClock:
    """Time that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_request_rate_is_respected(server: ReplayServer) -> None:
    clock = _FakeClock()
    with PoliteClient(server.url, policy=HttpPolicy(rate=20), sleep=clock.sleep, clock=clock) as client:
        for _ in range(6):
            client.get_json("/latest.json")
    # 20 requests a second: the first goes at once, each later one waits out its 1/20 s.
    assert clock.sleeps == pytest.approx([0.05] * 5)


def test_bad_json_raises_with_the_raw_body(server: ReplayServer) -> None:
    server.inject("/latest.json", "badjson")
    with (
        PoliteClient(server.url, policy=HttpPolicy(rate=0)) as client,
        pytest.raises(BadResponseError) as info,
    ):
        client.get_json("/latest.json")
    assert '"topic_list"' in info.value.raw


def test_json_the_fast_decoder_refuses_is_read_as_the_standard_library_reads_it() -> None:
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"vp": 123456789012345678901234567890, "score": NaN, "name": "\xc3\xa9"}')

    with PoliteClient("http://forum.invalid", policy=HttpPolicy(rate=0), transport=httpx.MockTransport(answer)) as client:
        got = client.get_json("/latest.json")
    assert got["vp"] == 123456789012345678901234567890 and got["score"] != got["score"] and got["name"] == "\u00e9"


def test_bad_bytes_are_named_as_such() -> None:
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"title": "\xff\xfe"}')

    with (
        PoliteClient("http://forum.invalid", policy=HttpPolicy(rate=0), transport=httpx.MockTransport(answer)) as client,
        pytest.raises(BadResponseError, match="not valid UTF-8"),
    ):
        client.get_json("/latest.json")


def test_client_errors_are_not_retried(server: ReplayServer) -> None:
    with PoliteClient(server.url, policy=HttpPolicy(rate=0, retries=3)) as client:
        with pytest.raises(RemoteError, match="HTTP 404"):
            client.get_json("/t/999999999.json")
        assert client.requests_made == 1


def test_the_in_process_transport_answers_as_the_socket_does(server: ReplayServer) -> None:
    """``ReplayServer.transport`` (what ``concord ingest sample`` uses) gives the client the same answers, and its
    faults reach the client as a socket's would: retried, then a clear error."""
    with PoliteClient(server.url, policy=HttpPolicy(rate=0)) as over_socket:
        expected = [over_socket.get_json("/latest.json")]
    waits: list[float] = []
    policy = HttpPolicy(rate=0, retries=4, backoff_s=0.01)
    with PoliteClient("http://replay.invalid", policy=policy, transport=server.transport(), sleep=waits.append) as client:
        assert client.get_json("/latest.json") == expected[0]
        server.inject("/latest.json", "500", "429", "reset", "hang")
        assert client.get_json("/latest.json") == expected[0]
        assert client.retries_made == 4 and waits[1] == 0.0  # 429 with Retry-After: 0 obeyed
        server.inject("/latest.json", "badjson")
        with pytest.raises(BadResponseError):
            client.get_json("/latest.json")
        with pytest.raises(RemoteError, match="HTTP 404"):
            client.get_json("/t/999999999.json")
    assert "/latest.json" in server.request_log


_BASES = ["http://forum.invalid", "http://forum.invalid/", "https://h.invalid:8443/community", "https://h.invalid/community/",
          "http://127.0.0.1:5555"]  # fmt: skip
_TARGETS = [
    ("/latest.json", {"page": 2, "order": "activity"}), ("t/5.json", None),
    ("/t/5/posts.json", [("post_ids[]", 1), ("post_ids[]", 2)]), ("/a b/ü.json?x=1", {"y": "z z"}), ("/graphql?", None),
    ("/t/5.json?a=1", None), ("//elsewhere.invalid/x", None), ("http://other.invalid/x", None), ("", None), ("/", None),
]  # fmt: skip


@pytest.mark.parametrize("base", _BASES)
def test_requests_go_where_httpx_sends_a_path_relative_to_the_base_url(base: str) -> None:
    import httpx

    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, content=b"{}")

    transport = httpx.MockTransport(answer)
    with PoliteClient(base, policy=HttpPolicy(rate=0), transport=transport) as client, httpx.Client(
        base_url=base.rstrip("/"), transport=transport
    ) as stock:
        for path, params in _TARGETS:
            client.get_json(path, params=params)
            stock.request("GET", path, params=params)
    assert sent[0::2] == sent[1::2] and len(sent) == 2 * len(_TARGETS)
