"""How `concord serve` runs the dashboard: handlers on a bounded set of threads, the warm heap out of the collector."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi.testclient import TestClient

from bots.services import Services
from bots.web.app import create_app
from bots.web.middleware import FreezeHeapAfterWarmup


def test_handlers_run_on_at_most_the_configured_number_of_threads(services: Services, tmp_path: Path) -> None:
    web = services.settings.web.model_copy(update={"worker_threads": 3})
    app = create_app(services.settings.model_copy(update={"web": web}), services=services, results_dir=tmp_path)

    @app.get("/__threads")
    async def threads() -> dict[str, float]:
        return {"tokens": anyio.to_thread.current_default_thread_limiter().total_tokens}

    with TestClient(app) as client:
        assert client.get("/__threads").json() == {"tokens": 3}


def _call(app: Any, scope_type: str) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    asyncio.run(app({"type": scope_type}, receive, send))


def test_what_the_first_requests_leave_alive_is_frozen_and_later_requests_freeze_nothing() -> None:
    kept: list[object] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        kept.append({"loaded on first use": [object()]})  # a long-lived object a request creates

    wrapped = FreezeHeapAfterWarmup(app, requests=2)
    gc.unfreeze()
    try:
        _call(wrapped, "lifespan")  # not a request: nothing frozen, nothing counted
        assert gc.get_freeze_count() == 0
        _call(wrapped, "http")
        first = gc.get_freeze_count()
        assert first > 0
        _call(wrapped, "http")
        assert gc.get_freeze_count() > first
        gc.unfreeze()
        _call(wrapped, "http")  # the third request: warm-up is over
        assert gc.get_freeze_count() == 0
        assert len(kept) == 4  # every call reached the app
    finally:
        gc.unfreeze()
