"""The web dashboard: server-rendered pages and a JSON API over Concord's services.

Build it with ``create_app(settings)``; run it with ``concord serve``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bots.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":  # lazy: FastAPI loads only when the dashboard is used
        from bots.web.app import create_app

        return create_app
    raise AttributeError(name)
