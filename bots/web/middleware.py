"""The dashboard's middlewares as plain ASGI callables.

Starlette's ``@app.middleware("http")`` (``BaseHTTPMiddleware``) wraps every request in extra tasks and a streamed
copy of the response; measured with the dashboard's load client, two of them halved a trivial page's requests/s.
These do the same work on the raw ASGI messages: read requests pass straight through, and only state-changing
``/api/`` requests build a ``Request`` to be checked.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bots.web.security import WriteRateLimiter, check_csrf, client_of

__all__ = ["FreezeHeapAfterWarmup", "SecurityHeaders", "WriteGuard"]

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SecurityHeaders:
    """Adds the given headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp, *, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WriteGuard:
    """Every state-changing API request: the per-client rate limit, then origin, JSON and CSRF token, before the
    body is read (so a refused request never reaches a handler or the body parser)."""

    def __init__(self, app: ASGIApp, *, limiter: Callable[[], WriteRateLimiter], secret: str,
                 origins: Callable[[], Any], limit_text: Callable[[], str]) -> None:
        self.app = app
        self.limiter = limiter
        self.secret = secret
        self.origins = origins
        self.limit_text = limit_text

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READ_METHODS or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        retry = self.limiter().retry_after(client_of(request))
        if retry is not None:
            refusal = JSONResponse({"error": f"Too many write requests from this client: {self.limit_text()}. Retry in {retry} s."},
                                   status_code=429, headers={"Retry-After": str(retry)})
            await refusal(scope, receive, send)
            return
        try:
            check_csrf(request, self.secret, self.origins())
        except HTTPException as refused:
            await JSONResponse({"detail": refused.detail}, status_code=refused.status_code)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class FreezeHeapAfterWarmup:
    """Moves what the first ``requests`` requests left alive (modules imported on first use, compiled templates and
    queries, caches) out of the garbage collector's view, once each. A full collection otherwise walks those objects
    again and again, and every request in flight waits for it. ``gc.freeze`` only moves lists: it costs nothing.
    What one of those requests left as garbage stays (bounded by ``requests``)."""

    def __init__(self, app: ASGIApp, *, requests: int = 100) -> None:
        self.app = app
        self.left = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if self.left > 0 and scope["type"] == "http":
            self.left -= 1
            gc.freeze()
