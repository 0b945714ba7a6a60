"""CSRF protection for the dashboard's state-changing requests.

Double-submit token: a page sets a random nonce, MAC'd with ``web.session_secret``, in a
``SameSite=Strict`` cookie and in a ``<meta>`` tag; a POST must send the same value in the
``X-CSRF-Token`` header, with a JSON body and (when the browser sends one) a same-origin
``Origin``. The token is not a secret: the session secret itself never reaches a page.
State changes also need owner signatures, checked by the governance service.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request

__all__ = ["CSRF_COOKIE", "CSRF_HEADER", "check_csrf", "issue_token", "token_is_valid"]

CSRF_COOKIE = "concord_csrf"
CSRF_HEADER = "x-csrf-token"


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


def check_csrf(request: Request, secret: str) -> None:
    """Refuse (403) a state-changing request without a matching, valid token from the same origin."""
    origin = request.headers.get("origin")
    if origin is not None:
        expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin != expected:
            raise HTTPException(403, f"Cross-origin request refused (Origin {origin}, expected {expected}).")
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(415, "Send the request body as application/json.")
    cookie = request.cookies.get(CSRF_COOKIE)
    header = request.headers.get(CSRF_HEADER)
    if not cookie or not header or not hmac.compare_digest(cookie, header) or not token_is_valid(secret, header):
        raise HTTPException(
            403,
            "Missing or invalid CSRF token: load the page first and send its token in the X-CSRF-Token header.",
        )
