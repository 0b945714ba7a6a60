"""A polite HTTP client for public APIs: a request rate, 429 + Retry-After, timeouts, retries with backoff.

Every live source (Discourse, Snapshot) talks through ``PoliteClient``; tests point it at loopback
servers they start, so the same code path runs in tests and in production.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Self

import httpx
import orjson

from ingest.core.errors import ConcordError, InputError

__all__ = ["BadResponseError", "HttpPolicy", "PoliteClient", "RemoteError"]


class RemoteError(ConcordError, RuntimeError):
    """A remote API kept failing (5xx, 429, timeouts, refused connections) after every retry."""


class BadResponseError(InputError):
    """The API answered, but not with what it should (malformed JSON, wrong shape). ``raw`` keeps the body."""

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """How politely to call an API. ``rate`` is requests per second (0 = no limit)."""

    rate: float = 4.0
    timeout_s: float = 10.0
    retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 120.0
    user_agent: str = "concord-ingest/0.1 (+https://github.com/concord-dao)"


_RETRY_STATUS = {429, 500, 502, 503, 504, 520, 521, 522, 524}


class PoliteClient:
    """``get_json`` / ``post_json`` against one base URL, waiting between requests and retrying failures.

    ``sleep`` and ``clock`` (seconds, monotonic) are the client's only view of time; tests pass their own.
    """

    def __init__(
        self,
        base_url: str,
        *,
        policy: HttpPolicy | None = None,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or HttpPolicy()
        self._sleep = sleep
        self._clock = clock
        self._last_request = 0.0
        self.requests_made = 0
        self.retries_made = 0
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(self.policy.timeout_s),
            headers={"User-Agent": self.policy.user_agent, "Accept": "application/json", **(headers or {})},
            transport=transport,
            follow_redirects=True,
        )
        root = str(self._client.base_url)
        self._root = root if root.endswith("/") else root + "/"

    def _url(self, path: str) -> str:
        """The URL httpx would make of ``path`` against the base URL, made here (httpx parses a relative URL
        twice more per request). An absolute or network-path reference is left to httpx."""
        if "://" in path or path.startswith("//"):
            return path
        return self._root + path.lstrip("/")

    @property
    def base_url(self) -> str:
        return str(self._client.base_url).rstrip("/")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def get_json(self, path: str, *, params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> Any:
        """GET ``path`` and decode JSON; raise RemoteError when retries run out, BadResponseError on bad JSON."""
        return self._decode(self._request("GET", path, params=params), path)

    def post_json(self, path: str, *, body: Any) -> Any:
        """POST a JSON body and decode the JSON answer."""
        return self._decode(self._request("POST", path, json=body), path)

    # --- internals ----------------------------------------------------------

    def _wait_turn(self) -> None:
        if self.policy.rate <= 0:
            return
        gap = 1.0 / self.policy.rate - (self._clock() - self._last_request)
        if gap > 0:
            self._sleep(gap)

    def _backoff(self, attempt: int) -> float:
        base = min(self.policy.max_backoff_s, self.policy.backoff_s * (2**attempt))
        return base * (0.5 + random.random() / 2)

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After")
        if header:
            try:
                seconds = float(header)
            except ValueError:
                try:
                    seconds = parsedate_to_datetime(header).timestamp() - time.time()
                except (TypeError, ValueError):
                    seconds = self._backoff(attempt)
            return max(0.0, min(seconds, self.policy.max_retry_after_s))
        return self._backoff(attempt)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        last_problem = ""
        for attempt in range(self.policy.retries + 1):
            self._wait_turn()
            self._last_request = self._clock()
            self.requests_made += 1
            try:
                response = self._client.request(method, self._url(path), **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
                wait = self._backoff(attempt)
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in _RETRY_STATUS:
                    raise RemoteError(
                        f"{method} {self.base_url}{path} answered HTTP {response.status_code}: "
                        f"{response.text[:200]!r}. Check the URL and that the API is public."
                    )
                last_problem = f"HTTP {response.status_code}"
                wait = self._retry_after(response, attempt)
            if attempt < self.policy.retries:
                self.retries_made += 1
                self._sleep(wait)
        raise RemoteError(
            f"{method} {self.base_url}{path} failed {self.policy.retries + 1} times (last: {last_problem}). "
            "The server may be down or rate limiting; try again later or lower the request rate."
        )

    @staticmethod
    def _decode(response: httpx.Response, path: str) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            pass  # not strict JSON for orjson (bad bytes, an integer beyond 64 bits, NaN): the standard library decides
        try:
            raw = response.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadResponseError(
                f"{path}: the answer is not valid UTF-8 ({exc.reason} at byte {exc.start})",
                raw=response.content.decode("utf-8", errors="replace")[:100_000],
            ) from exc
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise BadResponseError(
                f"{path}: the answer is not valid JSON ({exc})", raw=raw[:100_000]
            ) from exc
