"""The dashboard's guards on state-changing requests: CSRF, origin, per-client rate limits.

Double-submit token: a page sets a random nonce, MAC'd with ``web.session_secret``, in a
``SameSite=Strict`` cookie and in a ``<meta>`` tag; a POST must send the same value in the
``X-CSRF-Token`` header, with a JSON body and (when the browser sends one) an ``Origin`` that is
one of the configured public origins (``web.public_origins``; never the request's own ``Host``
header, which a DNS-rebinding page controls). The token is not a secret: the session secret itself
never reaches a page. State changes also need owner signatures, checked by the governance service.

Writes are rate-limited per client address (``web.write_rate_limit`` per
``web.write_rate_window_seconds``; 429 beyond). Behind a reverse proxy every request comes from the
proxy's address, so the limit is then per proxy: limit at the proxy as well.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time
from collections.abc import Callable, Collection
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from ingest.core.errors import ConfigError
from ingest.core.settings import ConcordSettings

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "DEFAULT_SESSION_SECRET",
    "WriteRateLimiter",
    "allowed_origins",
    "check_csrf",
    "check_origin",
    "check_session_secret",
    "client_of",
    "is_loopback",
    "issue_token",
    "normalise_origin",
    "token_is_valid",
]

CSRF_COOKIE = "concord_csrf"
CSRF_HEADER = "x-csrf-token"
DEFAULT_SESSION_SECRET = "change-me"


def _mac(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()[:32]


def issue_token(secret: str) -> str:
    """A fresh token ``nonce.mac``."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_mac(secret, nonce)}"


def token_is_valid(secret: str, token: str | None) -> bool:
    """Whether ``token`` was issued with ``secret``."""
    if not token or token.count(".") != 1:
        return False
    nonce, mac = token.split(".")
    return hmac.compare_digest(mac, _mac(secret, nonce))


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case, default ports dropped; '' when ``value`` is not an http(s) origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def allowed_origins(settings: ConcordSettings) -> frozenset[str]:
    """``web.public_origins``, or the loopback origins of ``web.port`` when none are configured."""
    configured = {normalise_origin(o) for o in settings.web.public_origins}
    configured.discard("")
    if configured:
        return frozenset(configured)
    port = settings.web.port
    return frozenset({normalise_origin(f"http://127.0.0.1:{port}"), normalise_origin(f"http://localhost:{port}")})


def check_origin(request: Request, origins: Collection[str]) -> None:
    """Refuse (403) a request whose ``Origin`` header is not one of ``origins``."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if normalise_origin(origin) not in origins:
        expected = ", ".join(sorted(origins))
        raise HTTPException(
            403,
            f"Cross-origin request refused (Origin {origin}; allowed: {expected}). "
            "If this is the dashboard's own address, add it to web.public_origins.",
        )


def check_csrf(request: Request, secret: str, origins: Collection[str]) -> None:
    """Refuse (403) a state-changing request without a matching, valid token from an allowed origin."""
    check_origin(request, origins)
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(415, "Send the request body as application/json.")
    cookie = request.cookies.get(CSRF_COOKIE)
    header = request.headers.get(CSRF_HEADER)
    if not cookie or not header or not hmac.compare_digest(cookie, header) or not token_is_valid(secret, header):
        raise HTTPException(
            403,
            "Missing or invalid CSRF token: load the page first and send its token in the X-CSRF-Token header.",
        )


def client_of(request: Request) -> str:
    """The client's address as the server sees it (``unknown`` when the transport gives none)."""
    return request.client.host if request.client is not None else "unknown"


class WriteRateLimiter:
    """At most ``limit`` writes per client per fixed window of ``window_seconds``; thread-safe."""

    def __init__(self, *, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self.max_clients = max_clients
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Count one write from ``client``; None if allowed, else whole seconds until its window ends."""
        now = self.clock()
        with self._lock:
            if len(self._windows) >= self.max_clients:
                self._windows = {c: w for c, w in self._windows.items() if now - w[0] < self.window_seconds}
                if len(self._windows) >= self.max_clients:
                    client = "*"  # too many clients at once: they share one window
            started, count = self._windows.get(client, (now, 0))
            if now - started >= self.window_seconds:
                started, count = now, 0
            if count >= self.limit:
                return max(1, math.ceil(started + self.window_seconds - now))
            self._windows[client] = (started, count + 1)
            return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (``localhost``, 127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_session_secret(host: str, secret: str) -> None:
    """Refuse to listen beyond loopback with the default (or an empty) ``web.session_secret``."""
    if is_loopback(host) or (secret and secret != DEFAULT_SESSION_SECRET):
        return
    raise ConfigError(
        f"Refusing to serve on {host or 'all interfaces'} with the default web.session_secret: anyone could forge "
        "CSRF tokens. Set CONCORD_WEB__SESSION_SECRET to a long random value, e.g. the output of "
        "`python -c \"import secrets; print(secrets.token_urlsafe(32))\"`, or serve on 127.0.0.1."
    )
